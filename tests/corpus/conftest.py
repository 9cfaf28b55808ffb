"""The real-repository corpus: small files reduced from public repositories, read by the checker only."""

collect_ignore_glob = ["*/*"]
