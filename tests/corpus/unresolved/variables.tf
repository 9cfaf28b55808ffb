# The variables main.tf reads. A note on `mode = var.tracing_mode` shows this default, the value
# `terraform apply` uses unless it is given one (reduced from opentelemetry-lambda's sample deployments).
variable "tracing_mode" {
  type        = string
  description = "Lambda tracing mode"
  default     = "PassThrough"
}

variable "role_arn" {
  type = string
}
