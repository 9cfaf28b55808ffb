from shared.latency_logger import log_latency

log_latency("poll", 12.5)
