"""The canary's own CloudWatch metrics, as the catalogue (``xray_exclusive._metrics``) declares them.

``_run`` writes the health metrics every run with ``PutMetricData``; ``xray_exclusive.render`` alarms on
each, breaching when missing, so a canary that stops is an alarm too. Names, units and alarm conditions
live in the catalogue; this module only names the canary's share of it.

Example:
    >>> HEALTH_METRICS[0].name, HEALTH_METRICS[0].alarm.comparison
    ('CanaryHealth', 'LessThanThreshold')
"""

from __future__ import annotations

from .._metrics import CANARY_HEALTH_METRICS, CANARY_PROBE, SEGMENT_DESTINATION

__all__ = ["DESTINATION", "HEALTH_METRICS", "PROBE"]

HEALTH_METRICS = CANARY_HEALTH_METRICS
"""Every health metric, in the order ``_run`` writes them."""
PROBE = CANARY_PROBE
"""The test datapoint ``probe_cloudwatch`` puts and reads back (dimension ``RunId``)."""
DESTINATION = SEGMENT_DESTINATION
"""1 per run, dimension ``Destination``: where X-Ray stores segments."""
