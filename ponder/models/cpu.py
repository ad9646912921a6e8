"""CPU thread counts for local backends."""

from __future__ import annotations

import os


def default_threads() -> int:
    """All cores on an idle machine, one on a busy one. Both llama.cpp's and torch's worker threads spin
    at each barrier; when the cores are oversubscribed a 2-thread decode was measured ~10x slower
    than a 1-thread one (llama.cpp: 138 s vs 14 s for 32 tokens at load 16 on 2 cores; torch:
    194 s vs 12.8 s for one SmolLM2 call at load ~25). ``$PONDER_THREADS`` overrides."""
    if os.environ.get("PONDER_THREADS"):
        return int(os.environ["PONDER_THREADS"])
    cores = os.cpu_count() or 1
    busy = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return cores if busy < cores - 0.5 else max(1, cores // 2)
