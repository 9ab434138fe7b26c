"""Starts the suite's own PostgreSQL and Valkey before Django loads its settings.

Loaded with ``-p config.pytest_plugin`` (see pyproject.toml) so that it runs ahead of
pytest-django. With ``DATABASE_URL`` and ``REDIS_URL`` both set, it starts nothing and the suite
uses those servers. Whatever it started is stopped when the run ends, including servers that a
previous, killed run left behind in the same folder.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from config import embedded

_state: dict[str, Any] = {}


def test_data_dir() -> Path:
    return Path(os.environ.get("EVENTBASE_TEST_DATA_DIR") or embedded.BASE_DIR / "var" / "test").resolve()


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    # The suite runs with DEBUG off, as production does, and settings refuse that without a key.
    os.environ.setdefault("SECRET_KEY", "test-suite-only-secret-key")
    # The columnar files of a run beside its database (a fresh one each run: so are the files).
    columnar = test_data_dir() / "columnar"
    shutil.rmtree(columnar, ignore_errors=True)
    os.environ.setdefault("COLUMNAR_DIR", str(columnar))
    need_pg = not os.environ.get("DATABASE_URL")
    need_valkey = not os.environ.get("REDIS_URL")
    if not (need_pg or need_valkey):
        return
    root = test_data_dir()
    embedded.stop_all_at(root)  # a killed earlier run may have left servers here
    servers = embedded.start(root, postgres=need_pg, valkey=need_valkey, durable=False)
    _state["servers"] = servers
    _state["root"] = root
    if servers.database_url:
        os.environ["DATABASE_URL"] = servers.database_url
    if servers.redis_url:
        os.environ["REDIS_URL"] = servers.redis_url
    os.environ["EVENTBASE_EMBEDDED_TEST_ROOT"] = str(root)


def pytest_unconfigure(config: pytest.Config) -> None:
    servers = _state.pop("servers", None)
    if servers is not None:
        servers.stop()
        embedded.stop_all_at(_state.pop("root"))


def restart_valkey() -> None:
    """Start the suite's Valkey again (after a test crashed it), under the same handle."""
    servers = _state.get("servers")
    if servers is None:
        raise RuntimeError("the suite did not start a Valkey of its own")
    if servers._valkey is not None and servers._valkey.poll() is None:
        raise RuntimeError("Valkey is still running")
    if servers._valkey is not None:
        servers._valkey.wait()
    servers._valkey = embedded.start_valkey(servers.root)
