"""Fault tests: the product's own processes on a Redis the test owns, so it can kill it.

``redis_server`` is a throwaway ``redis-server`` on a free port that keeps nothing on disk, as
the deployment runs it (docs/deploy.md); ``kill`` and ``start`` restart it empty on the same
port. ``asgi_servers`` are real uvicorn processes serving ``website.asgi`` on the test
database and that Redis, as behind the production proxy. The test process itself takes a
worker's part: it publishes live events (``on_throwaway_redis`` points its channel layer and
queues there).
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from importlib import import_module
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.db import connection
from redis import Redis

from tests.conftest import require
from website.settings.environment import channel_layers_config, rq_queues_config

ROOT = Path(__file__).resolve().parents[2]
LOG = Path(tempfile.gettempdir()) / "outbreak-desk-fault-tests.log"  # the servers' output, for debugging
START_SECONDS = 60  # Django and Wagtail import slowly on a busy machine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False


class RedisServer:
    """A redis-server of the test's own: no RDB snapshots, no AOF, so a restart is empty."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = Redis.from_url(self.url, socket_connect_timeout=0.2)
        if not wait_for(lambda: self._answers(client), timeout=10):
            pytest.fail("redis-server did not start")

    def kill(self) -> None:
        """As a crash would: no shutdown, no save."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    @staticmethod
    def _answers(client) -> bool:
        try:
            return client.ping()
        except OSError:
            return False
        except Exception:  # redis' ConnectionError while it starts
            return False


@pytest.fixture
def redis_server():
    require(bool(shutil.which("redis-server")), "needs redis-server on PATH (apt-get install redis-server)")
    server = RedisServer()
    server.start()
    yield server
    server.kill()


@pytest.fixture
def on_throwaway_redis(settings, redis_server):
    """This process's channel layer, queues and cache on the throwaway Redis."""
    env = {"REDIS_URL": redis_server.url}
    settings.CHANNEL_LAYERS = channel_layers_config(env)
    settings.RQ_QUEUES = rq_queues_config(env)
    return redis_server


def server_env(redis_url: str) -> dict:
    """The test database and the throwaway Redis, for the processes the test starts."""
    params = connection.settings_dict
    host, port = params["HOST"] or "127.0.0.1", params["PORT"] or 5432
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{params['USER']}@{host}:{port}/{params['NAME']}",
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "website.settings.test",
        "PYTHONPATH": str(ROOT),
        "INGEST_POOL_SIZE": "2",
    }


class AsgiServer:
    """``uvicorn website.asgi:application`` in its own process, as the Procfile's web line."""

    def __init__(self, redis_url: str):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws/live/"
        with open(LOG, "ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "website.asgi:application",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "warning",
                ],
                cwd=ROOT,
                env=server_env(redis_url),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def ready(self) -> bool:
        if self.process.poll() is not None:
            pytest.fail(f"uvicorn exited with {self.process.returncode}; see {LOG}")
        try:
            urllib.request.urlopen(f"{self.base_url}/api/v1/openapi.json", timeout=1).close()  # noqa: S310
        except (urllib.error.URLError, OSError):
            return False
        return True

    def stop(self) -> bool:
        """SIGTERM, as a supervisor stops it; False if it had to be killed (docs/deploy.md says a
        web process stops on SIGTERM, e.g. during an upgrade)."""
        if self.process.poll() is not None:
            return True
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
            return False
        return True


@pytest.fixture
def asgi_servers(transactional_db, postgres, wagtail_root, on_throwaway_redis):
    """Two uvicorn processes on the test database and one Redis: [process 1, process 2]."""
    servers = [AsgiServer(on_throwaway_redis.url) for _ in range(2)]
    try:
        for server in servers:
            if not wait_for(server.ready, timeout=START_SECONDS, step=0.2):
                pytest.fail(f"uvicorn did not answer in {START_SECONDS} s; see {LOG}")
        yield servers
    finally:
        stopped = [server.stop() for server in servers]
    assert all(stopped), "uvicorn did not stop within 15 s of SIGTERM"


def session_cookie(user) -> str:
    """A logged-in session, as the login page makes it, stored where every process reads it."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"
