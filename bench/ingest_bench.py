"""Ingestion benchmark: the real stack under load, against a bare COPY measured in the same run.

    make bench-ingest                  # 1,000,000 events (BENCH_EVENTS to change)

Starts `config.stack` (gunicorn + RQ workers + scheduler, embedded PostgreSQL and Valkey under
var/bench unless DATABASE_URL/REDIS_URL are set), creates a project, then load-generator
processes post pre-built batches of 100 realistic events over keep-alive HTTP. It prints:
- accepted events/s over HTTP (until the last batch was answered),
- end-to-end events/s into PostgreSQL (until the last event was stored),
- p50/p99 ingest→queryable lag, from probe events polled by id,
- the rate of a bare COPY of the same rows into `events`, and the ratio pipeline/raw,
- CPU per stored event by role, and the web enrichment caches' hit rates.

Requests carry realistic user agents and client IPs (X-Forwarded-For) and pageviews a page URL,
referrer and sometimes UTM values, so web enrichment does its real work; `WEB_ENRICHMENT=false
make bench-ingest` is the baseline without it (run the two back to back).
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import multiprocessing as mp
import os
import platform
import random
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stack import stack_start, stack_stop, unlimited_project  # noqa: E402

EVENTS = int(os.environ.get("BENCH_EVENTS", "1000000"))
PER_REQUEST = 100
PORT = int(os.environ.get("BENCH_PORT", "8399"))
SENDERS = int(os.environ.get("BENCH_SENDERS", "2"))
THREADS = int(os.environ.get("BENCH_THREADS", "4"))
PROBE_EVERY = 50  # one probe event per this many requests

PAGES = ["/", "/pricing", "/docs", "/blog/launch", "/signup", "/checkout", "/account"]
BROWSERS = ["Chrome", "Firefox", "Safari", "Edge"]
REFERRERS = [
    "",
    "",
    "https://www.google.com/",
    "https://duckduckgo.com/",
    "https://news.ycombinator.com/",
    "https://t.co/abc",
    "https://mail.google.com/",
    "https://www.reddit.com/r/selfhosted/",
]
CAMPAIGNS = ["", "", "", "?utm_source=newsletter&utm_medium=email&utm_campaign=december", "?gclid=abc123"]
# Web enrichment sees what sites send: a few hundred distinct user agents, many client IPs (sent
# as X-Forwarded-For, which the bench's stack trusts). No crawlers: with enrichment off they would
# be stored and with it on dropped, and the two runs must store the same events.
_UA_TEMPLATES = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 "
    "Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_{m} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.{m} Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel {m}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Mobile "
    "Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 "
    "Safari/537.36 Edg/{v}.0.0.0",
]
USER_AGENTS = [t.format(v=v, m=m) for t in _UA_TEMPLATES for v in range(110, 132) for m in range(1, 3)]


def _client_ip(rng: random.Random) -> str:
    if rng.random() < 0.1:
        return f"2a0{rng.randrange(1, 10)}:{rng.randrange(0x1000, 0xFFFF):x}::{rng.randrange(1, 0xFFFF):x}"
    return f"{rng.choice([5, 31, 62, 81, 84, 91, 109, 176, 185, 193, 212, 24, 66, 98, 104, 1, 14, 27, 43, 101])}." + (
        f"{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    )


def _event(rng: random.Random, now: dt.datetime, probe: str | None = None) -> dict:
    user = rng.randrange(50_000)
    name = rng.choices(["$pageview", "click", "signup", "purchase", "search"], [60, 25, 5, 3, 7])[0]
    path = rng.choice(PAGES)
    props: dict = {
        "path": path,
        "browser": rng.choice(BROWSERS),
        "screen_width": rng.choice([390, 768, 1280, 1920]),
    }
    if name == "$pageview":
        props["$current_url"] = f"https://shop.example{path}{rng.choice(CAMPAIGNS)}"
        props["$referrer"] = rng.choice(REFERRERS)
    if name == "purchase":
        props.update(amount=round(rng.uniform(5, 500), 2), currency="EUR", items=rng.randint(1, 5))
    if name == "search":
        props["query"] = rng.choice(["pricing", "api key", "retention", "export csv"])
    return {
        "event": name,
        "event_id": probe or str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "user_id": f"user-{user}",
        "source": rng.choice(["web", "ios", "android"]),
        "timestamp": (now - dt.timedelta(seconds=rng.randint(0, 300))).isoformat(),
        "properties": props,
    }


def build_bodies(worker: int, requests: int) -> tuple[list[tuple[bytes, str, str]], dict[int, str]]:
    """Per request: the body, the client's user agent and its IP."""
    rng = random.Random(worker)
    now = dt.datetime.now(dt.UTC)
    bodies, probes = [], {}
    for n in range(requests):
        events = [_event(rng, now) for _ in range(PER_REQUEST)]
        if n % PROBE_EVERY == 0:
            probes[n] = str(uuid.uuid4())
            events[0] = _event(rng, now, probe=probes[n])
        bodies.append((json.dumps({"events": events}).encode(), rng.choice(USER_AGENTS), _client_ip(rng)))
    return bodies, probes


def sender(worker: int, requests: int, key: str, out: mp.Queue, start: mp.Event) -> None:
    bodies, probes = build_bodies(worker, requests)
    out.put(("ready", worker))
    start.wait()
    cpu_started = time.process_time()
    accepted = 0
    lock = threading.Lock()
    cursor = iter(range(len(bodies)))

    def run() -> None:
        nonlocal accepted
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        while True:
            with lock:
                n = next(cursor, None)
            if n is None:
                break
            body, user_agent, ip = bodies[n]
            headers.update({"User-Agent": user_agent, "X-Forwarded-For": ip})
            for attempt in range(20):
                try:
                    conn.request("POST", "/api/v1/events", body, headers)
                    response = conn.getresponse()
                    payload = json.loads(response.read())
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
                    time.sleep(0.1 * (attempt + 1))
                    continue
                if response.status in (429, 503):
                    time.sleep(0.2)
                    continue
                break
            done = time.time()
            with lock:
                accepted += payload.get("accepted", 0) + payload.get("duplicates", 0)
            if n in probes:
                out.put(("probe", probes[n], done))  # reported now, so it is polled for now
        conn.close()

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put(("done", worker, accepted, time.time(), time.process_time() - cpu_started))


def bare_copy_rate(db_url: str, project_id: int) -> tuple[int, float]:
    """COPY the rows the pipeline stored back into `events`, under an unused project id.

    Same rows, same table, same indexes: the rate a loader that skips HTTP, Redis and dedupe gets.
    """
    other = project_id + 1_000_000
    with psycopg.connect(db_url) as conn:
        cur = conn.cursor()
        # Every column of events, as the table has them (the bench runs without Django's models).
        cur.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'events' "
            "AND table_schema = current_schema() ORDER BY ordinal_position"
        )
        names = [f'"{name}"' for (name,) in cur.fetchall()]
        copied = ", ".join("%s" if name == '"project_id"' else name for name in names)
        data = []
        with cur.copy(
            f"COPY (SELECT {copied} FROM events WHERE project_id = %s) TO STDOUT", [other, project_id]
        ) as copy:
            for chunk in copy:
                data.append(bytes(chunk))
        rows = sum(chunk.count(b"\n") for chunk in data)
        started = time.perf_counter()
        columns = ", ".join(names)
        with cur.copy(f"COPY events ({columns}) FROM STDIN") as copy:
            for chunk in data:
                copy.write(chunk)
        conn.commit()
        elapsed = time.perf_counter() - started
        cur.execute("DELETE FROM events WHERE project_id = %s", [other])
        conn.commit()
    return rows, rows / elapsed


_TICK = os.sysconf("SC_CLK_TCK")


def _role(cmdline: str) -> str | None:
    if "15/main" in cmdline or "127.0.0.1:6379" in cmdline:
        return None  # the machine's own PostgreSQL and Redis services, not this stack's
    if "gunicorn" in cmdline:
        return "web (gunicorn)"
    if "rqworker ingest" in cmdline:
        return "flush workers"
    if "rqworker" in cmdline or "rqcron" in cmdline:
        return "background workers + scheduler"
    if cmdline.startswith("postgres"):
        return "PostgreSQL"
    if "valkey-server" in cmdline or "redis-server" in cmdline:
        return "Valkey"
    return None


def cpu_by_role() -> dict[str, float]:
    """CPU seconds (user + system) used so far by every process of the stack, by role."""
    totals: dict[str, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        role = _role(cmdline)
        if role is not None:
            # utime, stime of the process and of its waited-for children (gunicorn's restarts)
            ticks = sum(int(value) for value in fields[11:15])
            totals[role] = totals.get(role, 0.0) + ticks / _TICK
    return totals


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {cpu}, {mem:.0f} GiB RAM, {platform.system()} {platform.release()}"


# The settings that shape the pipeline's throughput and lag, printed when set so a run says what it measured.
_KNOBS = (
    "WEB_CONCURRENCY",
    "WEB_THREADS",
    "INGEST_STREAM_SHARDS",
    "RQ_WORKERS",
    "FLUSH_INTERVAL_MS",
    "FLUSH_BATCH_EVENTS",
    "WEB_ENRICHMENT",
)


def main() -> int:
    data_dir = Path(os.environ.get("BENCH_DATA_DIR", ROOT / "var" / "bench"))
    print(f"machine: {machine()}")
    knobs = [f"{name}={os.environ[name]}" for name in _KNOBS if os.environ.get(name)]
    print(f"settings: {' '.join(knobs) if knobs else 'the defaults of make run'}")
    os.environ.setdefault("TRUST_X_FORWARDED_FOR", "true")  # each request's client IP, for enrichment
    stack = stack_start(
        data_dir=data_dir, port=PORT, log_name="bench-stack.log", keep_data=bool(os.environ.get("BENCH_KEEP_DATA"))
    )
    db_url = stack.database_url
    try:
        project = unlimited_project(stack, prefix="bench")
        with psycopg.connect(db_url, autocommit=True) as conn:
            project_id = conn.execute("SELECT id FROM projects_project WHERE slug = %s", [project["slug"]]).fetchone()[
                0
            ]
        requests = EVENTS // PER_REQUEST
        share = [requests // SENDERS + (1 if n < requests % SENDERS else 0) for n in range(SENDERS)]
        queue: mp.Queue = mp.Queue()
        go = mp.Event()
        procs = [
            mp.Process(target=sender, args=(n, share[n], project["ingest_key"], queue, go)) for n in range(SENDERS)
        ]
        for proc in procs:
            proc.start()
        print(f"building {requests:,} requests of {PER_REQUEST} events …", flush=True)
        for _ in procs:
            queue.get()
        cpu_before = cpu_by_role()
        started = time.time()
        go.set()
        print("posting …", flush=True)
        # Poll for probes and the row count while the load runs.
        probe_sent: dict[str, float] = {}
        probe_seen: dict[str, float] = {}
        finished = 0
        accepted = 0
        http_done = started
        sender_cpu = 0.0
        stored = 0
        last_count = 0.0
        with psycopg.connect(db_url, autocommit=True) as conn:
            while True:
                while not queue.empty():
                    message = queue.get()
                    if message[0] == "probe":
                        probe_sent[message[1]] = message[2]
                    elif message[0] == "done":
                        finished += 1
                        accepted += message[2]
                        http_done = max(http_done, message[3])
                        sender_cpu += message[4]
                waiting = [p for p in probe_sent if p not in probe_seen]
                if waiting:
                    for (event_id,) in conn.execute(
                        "SELECT event_id::text FROM events WHERE project_id = %s AND event_id = ANY(%s::uuid[])",
                        [project_id, waiting],
                    ):
                        probe_seen[event_id] = time.time()
                # Counted only once the load is over: a count(*) of a growing table every few
                # seconds would load the PostgreSQL under test with the benchmark's own scans.
                if finished == len(procs) and time.time() - last_count > 0.5:
                    stored = conn.execute("SELECT count(*) FROM events WHERE project_id = %s", [project_id]).fetchone()[
                        0
                    ]
                    last_count = time.time()
                if finished == len(procs) and stored >= accepted and not waiting:
                    break
                if time.time() - started > 1800:
                    print("timed out waiting for the pipeline", flush=True)
                    break
                time.sleep(0.1)
        end_to_end_done = time.time()
        cpu_after = cpu_by_role()
        for proc in procs:
            proc.join()
        lags = sorted(probe_seen[p] - probe_sent[p] for p in probe_seen)
        http_rate = accepted / (http_done - started)
        e2e_rate = stored / (end_to_end_done - started)
        print("measuring a bare COPY of the same rows …", flush=True)
        _, raw_rate = bare_copy_rate(db_url, project_id)
        q = statistics.quantiles(lags, n=100) if len(lags) > 1 else [lags[0]] * 99
        print()
        print(f"events                    {stored:>12,} stored of {accepted:,} accepted")
        print(f"accepted over HTTP        {http_rate:>12,.0f} events/s")
        print(f"end-to-end into Postgres  {e2e_rate:>12,.0f} events/s")
        print(f"ingest→queryable lag      p50 {q[49]:.2f} s   p99 {q[98]:.2f} s   ({len(lags)} probes)")
        print(f"bare COPY, same rows      {raw_rate:>12,.0f} events/s")
        print(f"ratio pipeline/raw        {e2e_rate / raw_rate:>12.2f}")
        print()
        print("CPU per stored event, by role (µs):")
        spent = {role: cpu_after.get(role, 0.0) - cpu_before.get(role, 0.0) for role in cpu_after}
        spent["load generator"] = sender_cpu
        for role, seconds in sorted(spent.items(), key=lambda item: -item[1]):
            print(f"  {role:<32} {seconds / max(stored, 1) * 1e6:>8.1f}")
        print(f"  {'total':<32} {sum(spent.values()) / max(stored, 1) * 1e6:>8.1f}")
        return 0 if stored == accepted else 1
    finally:
        stack_stop(stack)
        cache_hit_rates(data_dir.parent / "bench-stack.log")


def cache_hit_rates(log: Path) -> None:
    """The enrichment caches' hit rates over the web workers, from the lines they log at exit."""
    totals: dict[str, list[int]] = {}
    for line in log.read_text(errors="replace").splitlines():
        if '"enrichment caches"' not in line:
            continue
        for name, stats in json.loads(line).items():
            if isinstance(stats, dict):
                hits_misses = totals.setdefault(name, [0, 0])
                hits_misses[0] += stats["hits"]
                hits_misses[1] += stats["misses"]
    if not any(hits + misses for hits, misses in totals.values()):
        return  # WEB_ENRICHMENT=false
    print("enrichment cache hit rates (all web workers):")
    for name, (hits, misses) in totals.items():
        print(f"  {name:<12} {hits / max(hits + misses, 1):>7.1%} of {hits + misses:,} lookups")


if __name__ == "__main__":
    sys.exit(main())
