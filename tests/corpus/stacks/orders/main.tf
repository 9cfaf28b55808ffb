# Two stacks of one repository name their function "fn": each is judged in its own directory, and the
# alarms of this stack cover this stack's function only.
resource "aws_lambda_function" "fn" {
  function_name = "orders"
  role          = var.role_arn
  handler       = "app.handler"
  runtime       = "python3.13"
  filename      = "orders.zip"
  timeout       = 10

  tracing_config {
    mode = "Active"
  }
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "orders-errors"
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.fn.function_name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
}

resource "aws_cloudwatch_metric_alarm" "latency" {
  alarm_name          = "orders-p95"
  namespace           = "AWS/Lambda"
  metric_name         = "Duration"
  dimensions          = { FunctionName = aws_lambda_function.fn.function_name }
  extended_statistic  = "p95"
  period              = 60
  evaluation_periods  = 3
  threshold           = 8500
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
}
