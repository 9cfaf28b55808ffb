resource "aws_cloudwatch_metric_alarm" "canary_health" {
  alarm_name          = "canary-health"
  namespace           = "XRayExclusive/Canary"
  metric_name         = "CanaryHealth"
  statistic           = "Minimum"
  period              = 300
  evaluation_periods  = 2
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
}
