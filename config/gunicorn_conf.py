"""Gunicorn settings for `make run` and production, from the environment."""

import multiprocessing
import os
from typing import Any

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 8)))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Requests are bounded by the ingest limits (5 MB); the bound here stops header floods.
limit_request_line = 8190
accesslog = "-" if os.environ.get("ACCESS_LOG", "").lower() in {"1", "true", "yes"} else None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
proc_name = "eventbase-web"
# Each worker's heartbeat touches a file every loop; on a disk-backed or overlay /tmp that
# utime() cost ~0.2 ms here (twice per request). Gunicorn's own advice: keep it in memory.
if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
    worker_tmp_dir = "/dev/shm"

# Prometheus multiprocess mode (see monitoring/metrics.py): each worker writes its metric values
# to files in this folder and /metrics merges them, so a scrape that reaches any one worker sees
# every worker's requests. Set before the workers import the app (they fork from this process).
# An empty PROMETHEUS_MULTIPROC_DIR turns it off.
if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
    from config.embedded import data_dir

    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(data_dir() / "prometheus" / f"{os.environ.get('PORT', '8000')}")


def on_starting(server: object) -> None:
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        # Files of a previous run would be merged into this run's counters.
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder, exist_ok=True)


def post_worker_init(worker: Any) -> None:
    # Loading the user-agent rules takes about a second: at start, not in a visitor's request.
    from ingestion.enrichment import warm_up

    warm_up()


def worker_exit(server: object, worker: Any) -> None:
    # The enrichment caches' hit rates, one JSON line per worker (the ingest bench reads them).
    import json
    import sys

    from ingestion.enrichment import cache_stats

    sys.stderr.write(json.dumps({"message": "enrichment caches", "pid": os.getpid(), **cache_stats()}) + "\n")


def child_exit(server: object, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


# Gunicorn's control socket defaults to one path per user ($HOME/.gunicorn/gunicorn.ctl), which two
# stacks on one machine (a `make run` and the suite's fault test, or two ports) would fight over;
# the supervisor in config/stack.py is what manages this process.
control_socket_disable = True
