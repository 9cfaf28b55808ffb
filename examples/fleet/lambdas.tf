# The six Lambdas of the fleet, as far as tracing is concerned: Active tracing everywhere, the SSE
# Lambda's service names aligned (one node in the service map) and its Function URL's CORS (the browser
# may send X-Amzn-Trace-Id and read it back).
# Their alarms are generated into xray-exclusive.tf.json from xray-exclusive.toml.

variable "role_arn" {
  type = string
}

variable "sse_image_uri" {
  type = string
}

resource "aws_sns_topic" "alerts" {
  name = "sentiment-prod-alerts"
}

resource "aws_lambda_function" "ingestion" {
  function_name = "sentiment-ingestion"
  role          = var.role_arn
  runtime       = "python3.13"
  handler       = "ingestion.handler"
  filename      = "build/ingestion.zip"
  timeout       = 60

  tracing_config {
    mode = "Active"
  }

  environment {
    variables = {
      POWERTOOLS_SERVICE_NAME = "sentiment-ingestion"
    }
  }
}

resource "aws_lambda_function" "analysis" {
  function_name = "sentiment-analysis"
  role          = var.role_arn
  runtime       = "python3.13"
  handler       = "analysis.handler"
  filename      = "build/analysis.zip"
  timeout       = 60

  tracing_config {
    mode = "Active"
  }
}

resource "aws_lambda_function" "dashboard" {
  function_name = "sentiment-dashboard"
  role          = var.role_arn
  runtime       = "python3.13"
  handler       = "dashboard.handler"
  filename      = "build/dashboard.zip"
  timeout       = 30

  tracing_config {
    mode = "Active"
  }
}

resource "aws_lambda_function" "notification" {
  function_name = "sentiment-notification"
  role          = var.role_arn
  runtime       = "python3.13"
  handler       = "notification.handler"
  filename      = "build/notification.zip"
  timeout       = 30

  tracing_config {
    mode = "Active"
  }
}

resource "aws_lambda_function" "metrics" {
  function_name = "sentiment-metrics"
  role          = var.role_arn
  runtime       = "python3.13"
  handler       = "metrics.handler"
  filename      = "build/metrics.zip"
  timeout       = 60

  tracing_config {
    mode = "Active"
  }
}

resource "aws_lambda_function" "sse_streaming" {
  function_name = "sentiment-sse-streaming"
  role          = var.role_arn
  package_type  = "Image"
  image_uri     = var.sse_image_uri
  timeout       = 900

  tracing_config {
    mode = "Active"
  }

  environment {
    variables = {
      OTEL_SERVICE_NAME       = "sentiment-sse-streaming"
      POWERTOOLS_SERVICE_NAME = "sentiment-sse-streaming"
    }
  }
}

resource "aws_lambda_function_url" "sse_streaming" {
  function_name      = aws_lambda_function.sse_streaming.function_name
  authorization_type = "AWS_IAM"
  invoke_mode        = "RESPONSE_STREAM"

  cors {
    allow_origins = ["https://sentiment.example.com"]
    allow_methods = ["GET"]
    allow_headers = [
      "content-type", "last-event-id", "x-amzn-trace-id",
      "x-sse-session-id", "x-sse-previous-trace-id", "x-sse-connection-sequence",
    ]
    expose_headers = ["x-amzn-trace-id", "x-sse-resume-supported"]
  }
}
