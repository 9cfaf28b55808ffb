resource "aws_cloudwatch_metric_alarm" "audit_trail_failures" {
  alarm_name          = "audit-trail-failures"
  namespace           = "SentimentAnalyzer/Reliability"
  metric_name         = "AuditTrailFailures"
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "breaching"
}
