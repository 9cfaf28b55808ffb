# The canary: its Lambda, its own role with the minimal policy, the schedule, the alert topic,
# the state table and the alarms on its metrics. Not applied here; a test parses it with python-hcl2.

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

variable "environment" {
  type    = string
  default = "dev"
}

variable "package_path" {
  description = "Zip of xray-exclusive[canary] and its dependencies."
  type        = string
  default     = "build/canary.zip"
}

variable "alert_webhook_url" {
  description = "Second, independent alert channel (PagerDuty/Opsgenie style JSON POST). Empty: SNS only."
  type        = string
  default     = ""
  sensitive   = true
}

locals {
  name      = "xray-exclusive-canary-${var.environment}"
  namespace = "XrayExclusive/Canary"
}

resource "aws_sns_topic" "canary_alerts" {
  name = "${local.name}-alerts"
}

resource "aws_dynamodb_table" "canary_state" {
  name         = "${local.name}-state"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"

  attribute {
    name = "pk"
    type = "S"
  }
}

# A role of its own: the canary must keep working when the fleet's roles are broken.
resource "aws_iam_role" "canary" {
  name = local.name
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "canary" {
  name = "${local.name}-minimal"
  role = aws_iam_role.canary.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "XRayProbe"
        Effect   = "Allow"
        Action   = [
          "xray:PutTraceSegments", "xray:BatchGetTraces",
          # The segment destination, and the read-back from CloudWatch Logs under Transaction Search.
          "xray:GetTraceSegmentDestination", "xray:StartTraceRetrieval", "xray:ListRetrievedTraces",
        ]
        Resource = "*"
      },
      {
        Sid       = "CloudWatchProbeAndReport"
        Effect    = "Allow"
        Action    = ["cloudwatch:PutMetricData", "cloudwatch:GetMetricStatistics"]
        Resource  = "*"
        Condition = { StringEquals = { "cloudwatch:namespace" = local.namespace } }
      },
      {
        Sid      = "Alert"
        Effect   = "Allow"
        Action   = "sns:Publish"
        Resource = aws_sns_topic.canary_alerts.arn
      },
      {
        Sid      = "State"
        Effect   = "Allow"
        Action   = ["dynamodb:GetItem", "dynamodb:PutItem"]
        Resource = aws_dynamodb_table.canary_state.arn
      }
    ]
  })
}

resource "aws_iam_role_policy_attachment" "canary_logs" {
  role       = aws_iam_role.canary.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
}

resource "aws_lambda_function" "canary" {
  function_name = local.name
  role          = aws_iam_role.canary.arn
  filename      = var.package_path
  handler       = "xray_exclusive.canary.handler"
  runtime       = "python3.13"
  timeout       = 300 # +60 s trace retrieval and +90 s..+210 s metric polling fit with room
  memory_size   = 256

  tracing_config {
    mode = "Active" # every Lambda, the canary too
  }

  environment {
    variables = {
      CANARY_TRACE_COUNT      = "5"
      CANARY_RETRIEVAL_DELAYS = "30,60"
      CANARY_METRIC_DELAY     = "90"
      CANARY_METRIC_WINDOW    = "120"
      CANARY_NAMESPACE        = local.namespace
      CANARY_LOSS_THRESHOLD   = "0.2"
      CANARY_SNS_TOPIC_ARN    = aws_sns_topic.canary_alerts.arn
      CANARY_WEBHOOK_URL      = var.alert_webhook_url
      CANARY_STATE_TABLE      = aws_dynamodb_table.canary_state.name
    }
  }
}

resource "aws_cloudwatch_event_rule" "canary_schedule" {
  name                = "${local.name}-schedule"
  schedule_expression = "rate(5 minutes)"
}

resource "aws_cloudwatch_event_target" "canary" {
  rule = aws_cloudwatch_event_rule.canary_schedule.name
  arn  = aws_lambda_function.canary.arn
}

resource "aws_lambda_permission" "canary_schedule" {
  statement_id  = "AllowEventBridge"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.canary.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.canary_schedule.arn
}

# Alarms on the canary's own metrics. Missing data is breaching: a canary that stops reporting
# is an alarm too. Two periods: one bad interval is not an alert.
locals {
  # One alarm per canary metric: which way is bad, and the statistic that shows it.
  canary_alarms = {
    health              = { metric = "CanaryHealth", statistic = "Minimum", operator = "LessThanThreshold" }
    trace-data-loss     = { metric = "trace_data_loss", statistic = "Maximum", operator = "GreaterThanOrEqualToThreshold" }
    cloudwatch-pipeline = { metric = "CloudWatchPipelineHealth", statistic = "Minimum", operator = "LessThanThreshold" }
    trace-partial       = { metric = "canary.trace.partial", statistic = "Maximum", operator = "GreaterThanOrEqualToThreshold" }
  }
}

resource "aws_cloudwatch_metric_alarm" "canary" {
  for_each            = local.canary_alarms
  alarm_name          = "${local.name}-${each.key}"
  namespace           = local.namespace
  metric_name         = each.value.metric
  statistic           = each.value.statistic
  period              = 300
  evaluation_periods  = 2
  comparison_operator = each.value.operator
  threshold           = 1
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.canary_alerts.arn]
}

# The canary Lambda itself, like every Lambda: errors, and p95 latency at 85% of its
# 300 s timeout. Error counts are not breaching when missing: no data means no errors.
resource "aws_cloudwatch_metric_alarm" "canary_lambda_errors" {
  alarm_name          = "${local.name}-lambda-errors"
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.canary.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 2
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.canary_alerts.arn]
}

resource "aws_cloudwatch_metric_alarm" "canary_lambda_latency" {
  alarm_name          = "${local.name}-lambda-p95-duration"
  namespace           = "AWS/Lambda"
  metric_name         = "Duration"
  dimensions          = { FunctionName = aws_lambda_function.canary.function_name }
  extended_statistic  = "p95"
  period              = 300
  evaluation_periods  = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = 255000 # ms: 85% of the 300 s timeout, time to act before timeouts
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.canary_alerts.arn]
}
