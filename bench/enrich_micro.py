"""Web enrichment's CPU cost per call (ingestion/enrichment), without the stack:

    .venv/bin/python bench/enrich_micro.py

Prints µs per call of client_info() (once per request) and enrich() (once per event), cached
(warm: the same user agent, IP and page again) and uncached (each cache emptied before the call),
with the user agents, IPs and pages of a realistic mix. The end-to-end cost is `make bench-ingest`'s.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")

import django

django.setup()

from ingestion.enrichment import clear_caches, client_info, enrich  # noqa: E402

UAS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.6778.81 Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
]
IPS = ["193.0.6.139", "8.8.8.8", "2001:4860:4860::8888", "200.160.2.3", "202.12.27.33"]
PAGEVIEW = {
    "$current_url": "https://www.example.com/blog/how-to-measure?utm_source=newsletter&utm_medium=email"
    "&utm_campaign=2026-12",
    "$referrer": "https://mail.google.com/",
    "$host": "www.example.com",
    "$pathname": "/blog/how-to-measure",
    "$browser": "Chrome",
    "$browser_version": 131,
    "$os": "Windows",
    "$device_type": "Desktop",
    "$session_id": "0193a8f0-1111-7000-8000-000000000000",
}
PLAIN = {"$current_url": "https://www.example.com/pricing", "$referrer": "https://www.google.com/"}


def per_call(function: Callable[[], object], calls: int, before: Callable[[], None] | None = None) -> float:
    """Median of five runs, µs per call; `before` runs untimed before each call (cache clearing)."""
    runs = []
    for _ in range(5):
        if before is None:
            start = time.perf_counter()
            for _ in range(calls):
                function()
            runs.append((time.perf_counter() - start) / calls * 1e6)
            continue
        total = 0.0
        for _ in range(calls):
            before()
            start = time.perf_counter()
            function()
            total += time.perf_counter() - start
        runs.append(total / calls * 1e6)
    return sorted(runs)[2]


def main() -> None:
    started = time.perf_counter()
    client = client_info(IPS[0], UAS[0])  # builds the parser: paid once per process
    print(f"first call (loads ua-parser's rules): {(time.perf_counter() - started) * 1e3:.0f} ms")
    rows = []
    for ua, ip in zip(UAS, IPS, strict=True):
        rows.append((f"client_info warm ({ua[13:40]}…)", per_call(lambda ua=ua, ip=ip: client_info(ip, ua), 20_000)))
    for ua, ip in zip(UAS, IPS, strict=True):
        micros = per_call(lambda ua=ua, ip=ip: client_info(ip, ua), 40, clear_caches)
        rows.append((f"client_info uncached ({ua[13:40]}…)", micros))
    for name, props in (("pageview with UTM + SDK fields", PAGEVIEW), ("plain pageview", PLAIN)):
        # Fresh dicts with equal strings, as each event's JSON decode gives: their hashes are not cached.
        copies = [{k: v.encode().decode() if isinstance(v, str) else v for k, v in props.items()} for _ in range(100)]
        cycle = iter(copies * 10_000)
        rows.append((f"enrich warm, {name}", per_call(lambda cycle=cycle: enrich(client, next(cycle)), 20_000)))
        rows.append((f"enrich uncached, {name}", per_call(lambda p=props: enrich(client, p), 200, clear_caches)))
    rows.append(("enrich, no properties", per_call(lambda: enrich(client, {}), 20_000)))
    rows.append(("(an empty Python call, for scale)", per_call(lambda: None, 20_000)))
    for name, micros in rows:
        print(f"{name:<62} {micros:8.2f} µs")


if __name__ == "__main__":
    main()
