"""What the benchmarks print: percentiles of measured durations, progress on stderr."""

from __future__ import annotations

import statistics
import sys


def log(message: str) -> None:
    """A progress line on stderr (stdout carries only the JSON result)."""
    print(message, file=sys.stderr, flush=True)


def percentiles_ms(values: list[float]) -> dict[str, float]:
    """p50, p95 and max of ``values`` (seconds), in milliseconds."""
    ordered = sorted(values)
    return {"p50": round(statistics.median(ordered) * 1000, 1),
            "p95": round(ordered[int(round(0.95 * (len(ordered) - 1)))] * 1000, 1),
            "max": round(ordered[-1] * 1000, 1)}
