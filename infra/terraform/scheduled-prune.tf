# Prune before the disk fills: run pullmedic's prune document on every node
# of a cluster on a schedule, with SSM State Manager. The prune removes only
# images no container uses, never the pause image, and is safe to repeat.
# Its status events reach pullmedic like any other; commands no incident
# sent are recorded and left alone.

variable "cluster_name" {
  type = string
}

variable "prune_document_name" {
  description = "The document serverless.yml deploys: pullmedic-<stage>-prune-containerd."
  type        = string
  default     = "pullmedic-prod-prune-containerd"
}

resource "aws_ssm_association" "scheduled_prune" {
  name             = var.prune_document_name
  association_name = "pullmedic-scheduled-prune-${var.cluster_name}"
  # Sundays 03:00 UTC; rate(1 day) prunes daily.
  schedule_expression = "cron(0 3 ? * SUN *)"
  # One node at a time, stop after 2 failures: a fleet never prunes at once.
  max_concurrency = "1"
  max_errors      = "2"
  compliance_severity = "LOW"

  parameters = {
    DryRun = "false"
  }

  targets {
    key    = "tag:eks:cluster-name"
    values = [var.cluster_name]
  }
}
