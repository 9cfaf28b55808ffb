"""The seven failure paths of the example fleet (``examples/fleet/xray-exclusive.toml``), for tests.

The library keeps no application paths; tests that want realistic ones take the example's, read
with the public loader, under the names the library used to export (``from tests import example_paths
as paths``).
"""

from __future__ import annotations

from pathlib import Path

from xray_exclusive import paths as _paths
from xray_exclusive.paths import LAMBDA_DIMENSION, FailurePath

FLEET_FILE = Path(__file__).resolve().parent.parent / "examples" / "fleet" / "xray-exclusive.toml"
DECLARED = _paths.load(FLEET_FILE)

CIRCUIT_BREAKER_LOAD = DECLARED["circuit_breaker_load"]
CIRCUIT_BREAKER_SAVE = DECLARED["circuit_breaker_save"]
AUDIT_TRAIL_PERSIST = DECLARED["audit_trail_persist"]
DOWNSTREAM_NOTIFICATION_PUBLISH = DECLARED["downstream_notification_publish"]
TIMESERIES_FANOUT_BATCH_WRITE = DECLARED["timeseries_fanout_batch_write"]
SELF_HEALING_ITEM_FETCH = DECLARED["self_healing_item_fetch"]
PARALLEL_FETCH_AGGREGATE = DECLARED["parallel_fetch_aggregate"]
ALL: tuple[FailurePath, ...] = tuple(DECLARED.values())

__all__ = [
    "ALL",
    "AUDIT_TRAIL_PERSIST",
    "CIRCUIT_BREAKER_LOAD",
    "CIRCUIT_BREAKER_SAVE",
    "DECLARED",
    "DOWNSTREAM_NOTIFICATION_PUBLISH",
    "FLEET_FILE",
    "LAMBDA_DIMENSION",
    "PARALLEL_FETCH_AGGREGATE",
    "SELF_HEALING_ITEM_FETCH",
    "TIMESERIES_FANOUT_BATCH_WRITE",
    "FailurePath",
]
