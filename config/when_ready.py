"""Start a worker once PostgreSQL and Redis answer: ``python -m config.when_ready manage.py rqworker …``.

A worker started while a store is down exits at once, and under `make run`'s supervisor each such
exit counts towards a crash loop, which stops the whole stack: a Redis failover of half a minute
would have taken the web server down with the workers. Waiting here instead turns an outage of a
store, however long, into one restart of each worker.
"""

from __future__ import annotations

import os
import sys
import time

from config.supervisor import log_line

_SAY_EVERY_SECONDS = 10.0


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connections

    from core.preflight import StoreUnreachable, check_stores

    delay, said = 0.25, 0.0
    while True:
        try:
            check_stores()
            break
        except StoreUnreachable as exc:
            # A connection that a restarting PostgreSQL dropped stays "closed" until it is thrown away.
            connections.close_all()
            if time.monotonic() - said > _SAY_EVERY_SECONDS:
                said = time.monotonic()
                log_line("warning", "waiting for the stores before starting", command=" ".join(argv), error=str(exc))
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, *argv])


if __name__ == "__main__":
    main(sys.argv[1:])
