"""Whatever the user throws at a failure path, its subsegment reaches the daemon and stays under 64 KB.

A UDP datagram over the limit is dropped whole by the SDK with a log line
(FACTS.md §11): the subsegment, annotations included, would simply be lost.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import example_paths as paths
from tests.conftest import XRayDaemon
from tests.test_bounded import anything
from xray_exclusive import failure_path
from xray_exclusive.bounded import DOCUMENT_LIMIT_BYTES

HEADER = len(b'{"format":"json","version":1}\n')

big_text = st.text(min_size=0, max_size=20_000) | st.just("é" * 20_000) | st.just("\U0001f600" * 9_000)


@given(
    annotations=st.dictionaries(st.text(max_size=300), anything | big_text, max_size=70),
    extra=st.dictionaries(st.text(max_size=300), anything | big_text, max_size=70),
    metadata=st.lists(anything | big_text, max_size=4),
    message=big_text,
    reasons=st.lists(big_text, max_size=4),
)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_subsegment_document_stays_under_64kb(
    xray: XRayDaemon,
    annotations: dict[str, Any],
    extra: dict[str, Any],
    metadata: list[Any],
    message: str,
    reasons: list[str],
) -> None:
    xray.clear()  # the fixture is shared across examples: start from an empty socket
    try:
        with failure_path(paths.TIMESERIES_FANOUT_BATCH_WRITE, annotations=annotations) as fp:
            fp.annotate(**{k: v for k, v in extra.items()})
            for i, value in enumerate(metadata):
                fp.put_metadata(f"m{i}", value)
            for reason in reasons:
                fp.fail(reason, count=2, **extra)
            raise RuntimeError(message)
    except RuntimeError:
        pass
    raw = [d for d in xray.datagrams() if b'"timeseries_fanout_batch_write"' in d]
    assert len(raw) == 1, "the subsegment was lost"
    assert len(raw[0]) - HEADER < DOCUMENT_LIMIT_BYTES // 4 * 3  # well under 64 KB: 48 KB
    [doc] = [d for d in xray.documents() if d["name"] == "timeseries_fanout_batch_write"]
    assert doc["fault"] is True
    assert len(doc.get("annotations", {})) <= 50
