# Prune before the disk fills: run pullmedic's prune documents on a
# cluster's nodes on a schedule, with SSM State Manager. The prune removes
# only images no container uses, never the pause image, and is safe to
# repeat. Its status events reach pullmedic like any other; commands no
# incident sent are recorded and left alone.
#
# One association per AMI family, each with its own document: the
# containerd document runs a shell script on the host, which Bottlerocket
# has no shell for (it needs the admin container and sheltie instead), and
# the Bottlerocket document only runs where apiclient is. SSM State Manager
# targets nodes by tag, never by AMI: each association selects the nodes
# tagged with their family (var.ami_family_tag_key, on the instances: a
# launch template's tag_specifications, Karpenter's EC2NodeClass tags) on
# top of the cluster's tag. Several tag keys in one association's targets
# must all match (SSM user guide, "About targets and rate controls in State
# Manager associations"). A node without the family tag is never pruned on
# a schedule; pullmedic still prunes it when a pull fails, choosing the
# document from its AMI.
#
# By default the associations run only on their schedule: State Manager
# otherwise runs an association as soon as it is created or updated, and on
# every node that starts to match its targets (a scale-out would prune every
# new node at once). apply_only_at_cron_interval turns that off; it needs a
# cron schedule (SSM refuses it with rate expressions).

variable "cluster_name" {
  type = string
}

variable "cluster_tag_key" {
  description = "The tag carrying the cluster's name on its nodes: eks:cluster-name on managed node groups, eks:eks-cluster-name on Karpenter (v1) and EKS Auto Mode nodes."
  type        = string
  default     = "eks:cluster-name"
}

variable "ami_family_tag_key" {
  description = "The instance tag that says a node's AMI family: al2023, al2 or bottlerocket."
  type        = string
  default     = "pullmedic.io/ami-family"
}

variable "prune_containerd_document_name" {
  description = "The document serverless.yml deploys for AL2/AL2023 nodes: pullmedic-<stage>-prune-containerd."
  type        = string
  default     = "pullmedic-prod-prune-containerd"
}

variable "prune_bottlerocket_document_name" {
  description = "The document serverless.yml deploys for Bottlerocket nodes (pullmedic-<stage>-prune-bottlerocket); null when the cluster has none."
  type        = string
  default     = "pullmedic-prod-prune-bottlerocket"
  nullable    = true
}

variable "schedule_expression" {
  description = "When to prune: a cron expression (Sundays 03:00 UTC by default)."
  type        = string
  default     = "cron(0 3 ? * SUN *)"
}

variable "prune_at_creation" {
  description = "Also prune when the association is created or updated, and on every node that starts to match it, not only on the schedule."
  type        = bool
  default     = false
}

locals {
  # One node at a time, stop after 2 failures: a fleet never prunes at once.
  max_concurrency = "1"
  max_errors      = "2"
}

resource "aws_ssm_association" "prune_containerd" {
  name                        = var.prune_containerd_document_name
  association_name            = "pullmedic-scheduled-prune-containerd-${var.cluster_name}"
  schedule_expression         = var.schedule_expression
  apply_only_at_cron_interval = !var.prune_at_creation
  max_concurrency             = local.max_concurrency
  max_errors                  = local.max_errors
  compliance_severity         = "LOW"

  parameters = {
    DryRun = "false"
  }

  targets {
    key    = "tag:${var.cluster_tag_key}"
    values = [var.cluster_name]
  }
  targets {
    key    = "tag:${var.ami_family_tag_key}"
    values = ["al2023", "al2"]
  }

  lifecycle {
    precondition {
      condition     = var.prune_at_creation || startswith(var.schedule_expression, "cron(")
      error_message = "Pruning only on the schedule (prune_at_creation = false) needs a cron(...) schedule_expression: SSM does not support apply_only_at_cron_interval with rate expressions."
    }
  }
}

resource "aws_ssm_association" "prune_bottlerocket" {
  count = var.prune_bottlerocket_document_name == null ? 0 : 1

  name                        = var.prune_bottlerocket_document_name
  association_name            = "pullmedic-scheduled-prune-bottlerocket-${var.cluster_name}"
  schedule_expression         = var.schedule_expression
  apply_only_at_cron_interval = !var.prune_at_creation
  max_concurrency             = local.max_concurrency
  max_errors                  = local.max_errors
  compliance_severity         = "LOW"

  # The admin container must be enabled in the nodes' settings already: a
  # schedule never turns it on (EnableAdminContainer stays false), and the
  # run reports it as disabled instead.
  parameters = {
    DryRun               = "false"
    EnableAdminContainer = "false"
  }

  targets {
    key    = "tag:${var.cluster_tag_key}"
    values = [var.cluster_name]
  }
  targets {
    key    = "tag:${var.ami_family_tag_key}"
    values = ["bottlerocket"]
  }

  lifecycle {
    precondition {
      condition     = var.prune_at_creation || startswith(var.schedule_expression, "cron(")
      error_message = "Pruning only on the schedule (prune_at_creation = false) needs a cron(...) schedule_expression: SSM does not support apply_only_at_cron_interval with rate expressions."
    }
  }
}
