"""Freshness benchmark: how long an accepted event takes to appear in the reports, under steady load.

    make bench-freshness             # 90 probes, one a second, over 500 events/s of other traffic

Starts `config.stack` as `make run` does (embedded PostgreSQL and Valkey under var/bench-fresh
unless DATABASE_URL/REDIS_URL are set), creates a project, and while a sender posts a steady
BENCH_RATE events/s it posts one probe a second: an event with a name of its own. Two pollers
ask the reporting API for today's top events every 250 ms, one unfiltered (answered by the
rollups) and one with a filter (answered by the query layer over the events), and note when
each probe's name first appears. Printed: p50/p99/max seconds from the probe's 2xx answer to
its first appearance, per poller, and the CPU the stack's roles used meanwhile.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import random
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest_bench import cpu_by_role, machine  # noqa: E402
from bench.stack import stack_start, stack_stop, unlimited_project  # noqa: E402

PORT = int(os.environ.get("BENCH_PORT", "8398"))
RATE = int(os.environ.get("BENCH_RATE", "500"))  # other events per second
PROBES = min(int(os.environ.get("BENCH_PROBES", "90")), 95)  # top-events answers 100 names at most
LOAD_NAMES = ["$pageview", "click", "signup", "purchase", "search"]
FILTER = json.dumps([{"type": "column", "key": "source", "operator": "exact", "value": "api"}])


def _post(conn: http.client.HTTPConnection, key: str, body: bytes) -> int:
    conn.request("POST", "/api/v1/events", body, {"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    response = conn.getresponse()
    response.read()
    return response.status


def load(key: str, stop: threading.Event) -> None:
    """BENCH_RATE events/s in batches of 50, the background traffic."""
    rng = random.Random(7)
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    started, sent = time.monotonic(), 0
    while not stop.is_set():
        batch = [
            {"event": rng.choice(LOAD_NAMES), "user_id": f"u{rng.randrange(5000)}", "properties": {"path": "/"}}
            for _ in range(50)
        ]
        _post(conn, key, json.dumps({"events": batch}).encode())
        sent += 50
        ahead = sent / RATE - (time.monotonic() - started)
        if ahead > 0:
            time.sleep(ahead)


def poll(slug: str, read_key: str, query: str, seen: dict[str, float], stop: threading.Event) -> None:
    """Note the first time each probe name appears in today's top events."""
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    path = f"/api/v1/projects/{slug}/top-events?from={today}&to={today}&limit=100{query}"
    while not stop.is_set():
        conn.request("GET", path, headers={"Authorization": f"Bearer {read_key}"})
        response = conn.getresponse()
        body = json.loads(response.read())
        now = time.time()
        for row in body.get("results", []):
            seen.setdefault(row["event"], now)
        time.sleep(0.25)


def quantiles(lags: list[float]) -> str:
    if not lags:
        return "no probe appeared"
    lags = sorted(lags)
    p99 = lags[min(len(lags) - 1, round(0.99 * (len(lags) - 1)))]
    return f"p50 {lags[len(lags) // 2]:.1f} s   p99 {p99:.1f} s   max {lags[-1]:.1f} s   ({len(lags)} probes)"


def main() -> int:
    print(f"machine: {machine()}")
    stack = stack_start(
        data_dir=Path(os.environ.get("BENCH_DATA_DIR", ROOT / "var" / "bench-fresh")),
        port=PORT,
        log_name="bench-fresh-stack.log",
    )
    try:
        project = unlimited_project(stack, prefix="fresh")
        stop = threading.Event()
        unfiltered: dict[str, float] = {}
        filtered: dict[str, float] = {}
        threads = [
            threading.Thread(target=load, args=(project["ingest_key"], stop)),
            threading.Thread(target=poll, args=(project["slug"], project["read_key"], "", unfiltered, stop)),
            threading.Thread(
                target=poll,
                args=(project["slug"], project["read_key"], "&filters=" + urllib.parse.quote(FILTER), filtered, stop),
            ),
        ]
        for thread in threads:
            thread.start()
        print(f"{RATE} events/s of traffic, then one probe a second for {PROBES} s …", flush=True)
        time.sleep(10)  # the traffic's own days and names are in the rollups before the first probe
        cpu_before = cpu_by_role()
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        sent: dict[str, float] = {}
        for n in range(PROBES):
            name = f"probe_{n:03d}"
            status = _post(conn, project["ingest_key"], json.dumps({"event": name, "user_id": f"p{n}"}).encode())
            if status == 202:
                sent[name] = time.time()
            time.sleep(max(0.0, 1.0 - (time.time() - sent.get(name, time.time()))))
        deadline = time.time() + 120
        while time.time() < deadline and not all(name in unfiltered and name in filtered for name in sent):
            time.sleep(0.5)
        cpu_after = cpu_by_role()
        stop.set()
        for thread in threads:
            thread.join()
        for label, seen in (("rollups (unfiltered top events)", unfiltered), ("query layer (filtered)", filtered)):
            print(f"{label:<36} {quantiles([seen[n] - t for n, t in sent.items() if n in seen])}")
        missing = [n for n in sent if n not in unfiltered or n not in filtered]
        if missing:
            print(f"never appeared within 120 s: {', '.join(missing)}")
        seconds = PROBES + 1
        for role in sorted(cpu_after):
            used = cpu_after[role] - cpu_before.get(role, 0.0)
            print(f"CPU {role:<32} {used / seconds * 100:5.1f}% of one core")
        return 1 if missing else 0
    finally:
        stack_stop(stack)


if __name__ == "__main__":
    raise SystemExit(main())
