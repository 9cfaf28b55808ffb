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

resource "aws_cloudwatch_metric_alarm" "ingestion_latency" {
  alarm_name          = "ingestion-p95-latency"
  namespace           = "AWS/Lambda"
  metric_name         = "Duration"
  dimensions          = { FunctionName = aws_lambda_function.ingestion.function_name }
  extended_statistic  = "p95"
  period              = 300
  evaluation_periods  = 3
  threshold           = 51000 # ms
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
}
