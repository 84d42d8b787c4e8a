# Node volumes that fit GPU images: a root volume of at least 100 GiB (the
# seed incident's lesson) and, optionally, a dedicated containerd volume.
# pullmedic only rolls templates tagged pullmedic.io/allow-roll=true; a
# template Terraform owns should say so, so pullmedic sends the change to
# make instead of making it (the next apply would undo it):
#   tags = { "pullmedic.io/managed-by" = "terraform" }

variable "root_volume_gib" {
  type    = number
  default = 100
  validation {
    condition     = var.root_volume_gib >= 100
    error_message = "GPU nodes need a root volume of at least 100 GiB."
  }
}

variable "containerd_volume_gib" {
  description = "Size of the dedicated /var/lib/containerd volume (/dev/xvdb); 0 for none."
  type        = number
  default     = 200
}

resource "aws_launch_template" "gpu" {
  name_prefix = "gpu-"
  # user_data = base64encode(file("${path.module}/../nodeadm/user-data.mime"))

  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size           = var.root_volume_gib
      volume_type           = "gp3"
      iops                  = 3000
      throughput            = 125
      encrypted             = true
      delete_on_termination = true
    }
  }

  dynamic "block_device_mappings" {
    for_each = var.containerd_volume_gib > 0 ? [1] : []
    content {
      device_name = "/dev/xvdb"
      ebs {
        volume_size           = var.containerd_volume_gib
        volume_type           = "gp3"
        iops                  = 6000 # image unpacking is write-heavy
        throughput            = 500
        encrypted             = true
        delete_on_termination = true
      }
    }
  }

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 2
  }

  tags = {
    "pullmedic.io/managed-by" = "terraform"
  }
}

# terraform-aws-modules/eks: the same in a managed node group.
#
# eks_managed_node_groups = {
#   gpu = {
#     ami_type       = "AL2023_x86_64_NVIDIA"
#     instance_types = ["g5.xlarge"]
#     block_device_mappings = {
#       xvda = {
#         device_name = "/dev/xvda"
#         ebs = { volume_size = 100, volume_type = "gp3", encrypted = true, delete_on_termination = true }
#       }
#       xvdb = {
#         device_name = "/dev/xvdb"
#         ebs = { volume_size = 200, volume_type = "gp3", iops = 6000, throughput = 500, encrypted = true, delete_on_termination = true }
#       }
#     }
#     tags = { "pullmedic.io/managed-by" = "terraform" }
#   }
# }
#
# Bottlerocket keeps containerd on /dev/xvdb already: grow that one
# (ami_type = "BOTTLEROCKET_x86_64_NVIDIA", xvdb volume_size >= 100).
