resource "aws_lambda_function" "sse" {
  function_name = "sse-streaming"
  package_type  = "Image"
  image_uri     = var.image_uri
  role          = var.role_arn
  timeout       = 900

  tracing_config {
    mode = "Active"
  }

  environment {
    variables = {
      POWERTOOLS_SERVICE_NAME = "sse-streaming"
    }
  }
}

resource "aws_lambda_function_url" "sse" {
  function_name      = aws_lambda_function.sse.function_name
  authorization_type = "AWS_IAM"
  invoke_mode        = "RESPONSE_STREAM"

  cors {
    allow_origins  = ["https://app.example.com"]
    allow_headers  = ["content-type", "last-event-id", "x-amzn-trace-id"]
    expose_headers = ["x-amzn-trace-id"]
  }
}
