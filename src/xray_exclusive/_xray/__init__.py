"""X-Ray backends of ``failure_path`` and ``http_subsegment``: native (no SDK) and the X-Ray SDK one.

Private. Both share one context-local parent stack (:mod:`._parent`), so threads
and asyncio tasks each see their own open subsegments, and neither pushes
anything onto the X-Ray SDK's thread-local stack.

* :mod:`.native`: segment documents written straight to the daemon over UDP
  (:mod:`._daemon`); the default while the process has not imported the SDK.
* :mod:`.sdk`: the SDK's own ``Subsegment`` models, sent through the
  recorder's emitter; the default once the SDK is imported.

Nothing here imports the X-Ray SDK or Powertools at import time.
"""
