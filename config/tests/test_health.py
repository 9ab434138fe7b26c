import subprocess
import sys

import pytest

from config.settings import BASE_DIR

pytestmark = pytest.mark.django_db


def test_health_reports_both_stores(client):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["redis"]["status"] == "ok"


def _manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=BASE_DIR,
    )


def test_unreachable_database_fails_fast_with_one_line(monkeypatch):
    import os

    env = {**os.environ, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    result = _manage("preflight", env=env)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "cannot reach PostgreSQL" in result.stderr and "DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_redis_url_fails_fast_with_one_line(test_database_url):
    import os

    env = {**os.environ, "REDIS_URL": "http://localhost:6379", "DATABASE_URL": test_database_url}
    result = _manage("preflight", env=env)
    assert result.returncode == 2
    assert "REDIS_URL" in result.stderr and "Traceback" not in result.stderr

    env = {**os.environ, "REDIS_URL": "redis://127.0.0.1:1/0", "DATABASE_URL": test_database_url}
    result = _manage("preflight", env=env)
    assert result.returncode == 2
    assert "cannot reach Redis" in result.stderr and "Traceback" not in result.stderr
