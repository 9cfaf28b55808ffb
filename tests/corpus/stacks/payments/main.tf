# The other stack's "fn": untraced (found now that functions are keyed by directory), and not covered by
# the orders stack's alarms (this stack defines none, so coverage is not judged here). The heredoc is one
# python-hcl2 could not read.
resource "aws_lambda_function" "fn" {
  function_name = "payments"
  role          = var.role_arn
  handler       = "app.handler"
  runtime       = "python3.13"
  filename      = "payments.zip"
}

locals {
  policy = <<EOF
{
  "Version": "2012-10-17",
  "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "${var.queue_arn}"}]
}
EOF
}
