"""The AWS error codes that mean "slow down": one list, for ``classify`` and the canary's retries (a leaf).

``xray_exclusive.failure.THROTTLING_CODES`` is this set: ``classify`` marks
an exception with one of them ``error`` + ``throttle``, whatever its HTTP
status; the canary retries them with backoff (``canary.TRANSIENT_CODES``
holds them all). It imports nothing, so the canary reads it without loading
the failure-path machinery.
"""

from __future__ import annotations

__all__ = ["THROTTLING_CODES"]

THROTTLING_CODES = frozenset(
    {
        # botocore's standard retry list (retries/standard.py) ...
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
        # ... and codes other services use for the same thing.
        "RequestLimitExceededException",
        "ThrottlingError",
    }
)
"""AWS error codes that mean "slow down": marked ``error`` + ``throttle``, whatever the HTTP status.

Example:
    >>> "ThrottlingException" in THROTTLING_CODES, "AccessDeniedException" in THROTTLING_CODES
    (True, False)
"""
