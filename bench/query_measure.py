"""The query benchmark's measuring and printing: timed runs, percentiles, the two tables.

No Django here: ``say`` is used before the servers and Django are up.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # query_case_kit imports the apps, which need Django set up
    from bench.query_case_kit import Case, EngineCase


def say(message: str) -> None:
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


def timed(fn: Callable[[], Any], repeat: int, budget_s: float = 20.0) -> list[float]:
    """Up to ``repeat`` timed runs after a warm-up; slow queries stop after ``budget_s`` (min 3 runs)."""
    fn()  # warm-up: connection, caches, DuckDB attach
    out: list[float] = []
    started = time.perf_counter()
    for _ in range(repeat):
        if len(out) >= 3 and time.perf_counter() - started > budget_s:
            break
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def p(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def endpoints_table(cases: Sequence[Case], *, repeat: int, naive_repeat: int) -> int:
    """Time every endpoint and its naive query, print a row each; the number of missed targets."""
    header = f"{'query':38} {'p50 ms':>8} {'p95 ms':>8} {'target':>7} {'naive p50':>10} {'ratio':>7}"
    say(header)
    say("-" * len(header))
    failures = 0
    for name, target, endpoint, naive_fn in cases:
        times = timed(endpoint, repeat)
        p50, p95 = p(times, 50), p(times, 95)
        naive_p50 = statistics.median(timed(naive_fn, naive_repeat)) if naive_fn else None
        ok = "" if target is None else ("ok" if p50 <= target else "MISS")
        failures += ok == "MISS"
        naive_s = f"{naive_p50:10.1f}" if naive_p50 is not None else f"{'-':>10}"
        ratio = f"{naive_p50 / p50:6.1f}x" if naive_p50 is not None else f"{'-':>7}"
        target_s = f"{target:>4} {ok:<2}" if target else f"{'':7}"
        say(f"{name:38} {p50:8.1f} {p95:8.1f} {target_s:>7} {naive_s} {ratio}")
    return failures


def engines_table(engines: Sequence[EngineCase], *, repeat: int) -> None:
    say("")
    say("engine comparison (same question, both engines, p50 ms):")
    for name, duck_fn, pg_fn in engines:
        duck_ms = statistics.median(timed(duck_fn, repeat))
        pg_ms = statistics.median(timed(pg_fn, repeat))
        say(f"  {name:34} duckdb {duck_ms:8.1f}   postgresql {pg_ms:8.1f}")


def concurrent_table(per_client: Sequence[Sequence[Case]], *, seconds: float) -> None:
    """Clients at once, each asking its cases in turn for ``seconds``: throughput and latency."""
    import threading

    from django.db import connection  # Django is set up by now; this module is imported before

    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client(cases: Sequence[Case]) -> None:
        mine: list[float] = []
        try:
            while time.perf_counter() < stop:
                for case in cases:
                    t0 = time.perf_counter()
                    case.endpoint()
                    mine.append((time.perf_counter() - t0) * 1000)
        finally:
            connection.close()
            with lock:
                latencies.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(cases,)) for cases in per_client]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    say("")
    say(
        f"{len(per_client)} concurrent clients, {', '.join(c.name for c in per_client[0])} in turn, {elapsed:.0f} s: "
        f"{len(latencies) / elapsed:.1f} queries/s, p50 {p(latencies, 50):.0f} ms, p95 {p(latencies, 95):.0f} ms"
    )
