"""Timing: latency samples compared round by round, percentiles, throughput, ratios."""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import psutil

Call = Callable[[], Awaitable[Any]]


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear between the two nearest ranks."""
    ordered = sorted(samples)
    if not ordered:
        raise ValueError("no samples")
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


async def elapsed_ms(call: Call) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


async def compare_latency(calls: Mapping[str, Call], *, rounds: int, warmup: int) -> dict[str, list[float]]:
    """Milliseconds per call for each named call, interleaved: every round runs each call once, in order.

    Interleaving means a slow spell of the machine (another process, a checkpoint) lands on all of them
    alike instead of on whichever happened to run then. Warm-up rounds are run and thrown away.
    """
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for i in range(warmup + rounds):
        for name, call in calls.items():
            ms = await elapsed_ms(call)
            if i >= warmup:
                samples[name].append(ms)
    return samples


def summary(samples: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(samples, 50), 3),
        "p95_ms": round(percentile(samples, 95), 3),
        "p99_ms": round(percentile(samples, 99), 3),
    }


def megabytes_per_second(size: int, seconds: Sequence[float]) -> float:
    """Throughput of the median run, in MB/s (10^6 bytes per second)."""
    return round(size / percentile(seconds, 50) / 1e6, 1)


def speed_ratio(floor: float, camvault: float) -> float:
    """camvault's speed relative to the floor's, from two times (or the inverse of two throughputs):
    1.0 = as fast as the floor, 0.25 = four times slower. Always the floor's time over camvault's."""
    return round(floor / camvault, 3)


def cpu_seconds(processes: Sequence[psutil.Process]) -> float:
    """User + system CPU the processes have used so far."""
    return sum(t.user + t.system for t in (p.cpu_times() for p in processes))


async def cpu_of(processes: Sequence[psutil.Process], work: Awaitable[Any]) -> tuple[Any, float]:
    """What `work` returns, and the CPU seconds the processes spent while it ran."""
    before = cpu_seconds(processes)
    result = await work
    return result, cpu_seconds(processes) - before


def rss_mib(processes: Sequence[psutil.Process]) -> float:
    """The processes' resident memory together, in MiB (benchmark 3's idle workers, benchmark 9's designs)."""
    return round(sum(p.memory_info().rss for p in processes) / 1024**2, 1)
