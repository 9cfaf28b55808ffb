# Calls of terraform-aws-modules/lambda/aws: judged like aws_lambda_function resources.
module "untraced" {
  source  = "terraform-aws-modules/lambda/aws"
  version = "~> 7.0"

  function_name = "untraced"
  handler       = "app.handler"
  runtime       = "python3.13"
  source_path   = "${path.module}/src"

  environment_variables = {
    OTEL_TRACES_SAMPLER = "always_on"
  }
}

module "stream" {
  source  = "terraform-aws-modules/lambda/aws"
  version = "~> 7.0"

  function_name = "stream"
  handler       = "app.handler"
  runtime       = "python3.13"
  tracing_mode  = "Active"

  create_lambda_function_url = true
  invoke_mode                = "RESPONSE_STREAM"
  cors = {
    allow_origins = ["https://app.example.com"]
    allow_headers = ["content-type"]
  }
}

module "alias" {
  source  = "terraform-aws-modules/lambda/aws//modules/alias"
  version = "~> 7.0"

  name          = "live"
  function_name = module.stream.lambda_function_name
}
