# Values the checker cannot resolve: reported as notes, never judged.
resource "aws_lambda_function" "configurable" {
  function_name = var.name
  role          = var.role_arn
  handler       = "app.handler"
  runtime       = "python3.13"
  filename      = "app.zip"

  tracing_config {
    mode = var.tracing_mode
  }
}

resource "aws_lambda_function" "generated" {
  function_name = "generated"
  role          = var.role_arn
  handler       = "app.handler"
  runtime       = "python3.13"
  filename      = "app.zip"

  dynamic "tracing_config" {
    for_each = var.tracing_mode == null ? [] : [true]
    content {
      mode = var.tracing_mode
    }
  }
}

resource "aws_lambda_function_url" "generated" {
  function_name      = aws_lambda_function.generated.function_name
  authorization_type = "AWS_IAM"

  cors {
    allow_origins = ["*"]
    allow_headers = var.cors.allow_headers
  }
}
