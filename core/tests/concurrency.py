"""Running one piece of work on several threads at once, as several workers would."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection


def in_threads(work: Callable[[], None], count: int) -> None:
    """``work`` on ``count`` threads at once, each with its own database connection (closed after)."""

    def run() -> None:
        try:
            work()
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
