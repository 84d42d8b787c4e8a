# The forwarder's AWS role: events:PutEvents on the pullmedic bus, nothing
# else. EKS Pod Identity binds it to the pullmedic/pullmedic-forwarder
# ServiceAccount (no annotation needed). For IRSA instead, set
# use_irsa = true and annotate the ServiceAccount with the role ARN
# (infra/k8s/serviceaccount.yaml).
variable "cluster_name" {
  type = string
}

variable "event_bus_arn" {
  description = "The bus serverless.yml deploys (output EventBusArn)."
  type        = string
}

variable "use_irsa" {
  type    = bool
  default = false
}

variable "oidc_provider_arn" {
  description = "The cluster's IAM OIDC provider, for IRSA only."
  type        = string
  default     = ""
}

# The partition the provider runs in (aws, aws-cn, aws-us-gov): IAM ARNs
# start with it, so the OIDC provider's ARN is read with it, not with "aws".
data "aws_partition" "current" {}

locals {
  # The provider's host (oidc.eks.<region>.amazonaws.com/id/<id>), the
  # prefix of the condition keys of its tokens (…:sub, …:aud).
  oidc_host = replace(
    var.oidc_provider_arn,
    "/^arn:${data.aws_partition.current.partition}:iam::[0-9]+:oidc-provider\\//",
    ""
  )
}

data "aws_iam_policy_document" "trust" {
  dynamic "statement" {
    for_each = var.use_irsa ? [] : [1]
    content {
      actions = ["sts:AssumeRole", "sts:TagSession"]
      principals {
        type        = "Service"
        identifiers = ["pods.eks.amazonaws.com"]
      }
    }
  }
  dynamic "statement" {
    for_each = var.use_irsa ? [1] : []
    content {
      actions = ["sts:AssumeRoleWithWebIdentity"]
      principals {
        type        = "Federated"
        identifiers = [var.oidc_provider_arn]
      }
      condition {
        test     = "StringEquals"
        variable = "${local.oidc_host}:sub"
        values   = ["system:serviceaccount:pullmedic:pullmedic-forwarder"]
      }
      condition {
        test     = "StringEquals"
        variable = "${local.oidc_host}:aud"
        values   = ["sts.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role" "forwarder" {
  name               = "pullmedic-forwarder-${var.cluster_name}"
  assume_role_policy = data.aws_iam_policy_document.trust.json
}

data "aws_iam_policy_document" "put_events" {
  statement {
    actions   = ["events:PutEvents"]
    resources = [var.event_bus_arn]
    # Only the forwarder's own source: its pods cannot forge pullmedic's
    # decisions or an operator's "Volume Roll Approved" (pullmedic.operator).
    condition {
      test     = "StringEquals"
      variable = "events:source"
      values   = ["pullmedic.kubernetes"]
    }
  }
}

resource "aws_iam_role_policy" "put_events" {
  name   = "put-events-on-the-pullmedic-bus"
  role   = aws_iam_role.forwarder.id
  policy = data.aws_iam_policy_document.put_events.json
}

resource "aws_eks_pod_identity_association" "forwarder" {
  count           = var.use_irsa ? 0 : 1
  cluster_name    = var.cluster_name
  namespace       = "pullmedic"
  service_account = "pullmedic-forwarder"
  role_arn        = aws_iam_role.forwarder.arn
}

output "forwarder_role_arn" {
  value = aws_iam_role.forwarder.arn
}
