"""DATABASE_REPLICA_URLS: each URL a replica alias (never migrated, a test mirror); a wrong one
stops start-up with one line naming it."""

import json
import os
import subprocess
import sys

from config.settings import BASE_DIR


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        env={**os.environ, "SECRET_KEY": "x" * 50, **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=BASE_DIR,
    )


def test_each_replica_url_is_an_alias():
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({a: [d['HOST'], d['PORT'], d['NAME'], d['TEST']['MIRROR']] for a, d in s.DATABASES.items() "
        "if a != 'default'} | {'routers': s.DATABASE_ROUTERS, 'lag': s.EVENTBASE['REPLICA_MAX_LAG_SECONDS']}))"
    )
    result = _run(
        ["-c", code],
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_REPLICA_URLS="postgresql://u:p@r1:5432/eb, postgres://u:p@r2:6543/eb",
        REPLICA_MAX_LAG_SECONDS="12",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "replica_0": ["r1", 5432, "eb", "default"],
        "replica_1": ["r2", 6543, "eb", "default"],
        "routers": ["core.replicas.ReplicaRouter"],
        "lag": 12,
    }


def test_a_replica_url_that_is_not_postgresql_stops_start_up():
    result = _run([str(BASE_DIR / "manage.py"), "check"], DATABASE_REPLICA_URLS="postgresql://r1/eb,mysql://r2/eb")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("configuration error: DATABASE_REPLICA_URLS item 2 must be a PostgreSQL URL")
