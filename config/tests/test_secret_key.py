"""SECRET_KEY: required when DEBUG is off; `make run` makes one per install, never one from the repository."""

import os
import stat
import subprocess
import sys

from config.settings import BASE_DIR
from core.env import local_secret_key


def _check(tmp_path, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    # An empty data folder: no key that `make run` made for this checkout is found.
    base["EVENTBASE_DATA_DIR"] = str(tmp_path)
    return subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), "check"],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=BASE_DIR,
    )


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = _check(tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("configuration error: SECRET_KEY is not set")
    assert "Traceback" not in result.stderr


def test_debug_and_an_explicit_key_start(tmp_path):
    assert _check(tmp_path, DEBUG="true").returncode == 0
    assert _check(tmp_path, SECRET_KEY="x" * 50).returncode == 0


def test_the_key_make_run_makes_is_random_private_and_kept(tmp_path):
    first = local_secret_key(tmp_path)
    assert len(first) >= 50
    assert local_secret_key(tmp_path) == first
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    assert local_secret_key(tmp_path / "other") != first
    # manage.py commands next to `make run` (migrate, superuser, demo) find it.
    assert _check(tmp_path).returncode == 0
