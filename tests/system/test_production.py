"""Production mode on real parts: migrations with the CLI, gunicorn serving wsgi:app on
PostgreSQL, and a refusal to start with the development secret."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.conftest import PG_ADMIN_URL, create_database, drop_database, missing, postgres_reachable

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_on_postgres(tmp_path):
    if not postgres_reachable():
        missing("PostgreSQL is not reachable on 127.0.0.1:5432")
    name = f"yunzao_prod_{uuid.uuid4().hex[:8]}"
    url = create_database(PG_ADMIN_URL, name)
    env = {**os.environ, "DATABASE_URL": url.replace("postgresql+psycopg://", "postgresql://"),
           "YUNZAO_ENV": "production", "SECRET_KEY": "x" * 40, "RATELIMIT_ENABLED": "1",
           "YUNZAO_INSTANCE_DIR": str(tmp_path), "JOBS_MODE": "thread"}
    bin_dir = Path(sys.executable).parent
    server = None
    try:
        upgrade = subprocess.run([str(bin_dir / "flask"), "--app", "wsgi", "db", "upgrade"],
                                 cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert upgrade.returncode == 0, upgrade.stderr
        port = free_port()
        server = subprocess.Popen([str(bin_dir / "gunicorn"), "-w", "2", "-b",
                                   f"127.0.0.1:{port}", "wsgi:app"], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200 and b'"ok"' in r.read()
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError(server.stderr.read().decode()[-2000:]) from None
                time.sleep(0.3)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/auth/login", timeout=5) as r:
            page = r.read().decode()
            assert r.status == 200 and "csrf_token" in page
            assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        drop_database(PG_ADMIN_URL, name)


def test_production_refuses_the_development_secret():
    from market import create_app

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"ENV_NAME": "production", "SECRET_KEY": "dev-only-not-secret"})
