resource "aws_lambda_function" "ingestion" {
  function_name = "ingestion"
  handler       = "app.handler"
  runtime       = "python3.13"
  role          = var.role_arn
  filename      = "build/ingestion.zip"
  timeout       = 60

  tracing_config {
    mode = "Active"
  }
}

resource "aws_cloudwatch_metric_alarm" "ingestion_errors" {
  alarm_name          = "ingestion-errors"
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.ingestion.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
}
