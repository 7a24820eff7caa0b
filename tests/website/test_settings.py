"""Each environment variable's effect on the settings, and production's deploy check."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from website.settings.environment import (
    caches_config,
    channel_layers_config,
    database_config,
    env_list,
    rq_queues_config,
)
from workflows.queues import get_queue

ROOT = Path(__file__).resolve().parents[2]
SQLITE = Path("/tmp/outbreak-test.sqlite3")


def settings_in_subprocess(module: str, env: dict) -> dict:
    """Load ``module`` in a fresh interpreter with exactly ``env`` and report key settings."""
    code = (
        "import json, django; django.setup(); from django.conf import settings as s;"
        "print(json.dumps({'db': s.DATABASES['default']['ENGINE'],"
        " 'layer': s.CHANNEL_LAYERS['default']['BACKEND'], 'cache': s.CACHES['default']['BACKEND'],"
        " 'rq_async': s.RQ_QUEUES['default'].get('ASYNC', True), 'lang': s.LANGUAGE_CODE,"
        " 'tz': s.TIME_ZONE, 'hosts': s.ALLOWED_HOSTS}))"
    )
    base_env = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": module, "VAR_DIR": "/tmp/outbreak-var"}
    completed = subprocess.run(
        [sys.executable, "-c", code],
        env={**base_env, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


class TestDatabaseUrl:
    def test_postgres_url_selects_psycopg_backend(self):
        config = database_config({"DATABASE_URL": "postgres://u:p@db.example:5433/desk"}, SQLITE)
        assert config["ENGINE"] == "django.db.backends.postgresql"
        assert (config["HOST"], config["PORT"], config["NAME"], config["USER"]) == (
            "db.example",
            5433,
            "desk",
            "u",
        )

    def test_postgres_connections_come_from_a_bounded_pool(self):
        config = database_config({"DATABASE_URL": "postgres://db/x", "DB_POOL_MAX_SIZE": "5"}, SQLITE)
        assert config["CONN_MAX_AGE"] == 0
        assert config["OPTIONS"]["pool"]["max_size"] == 5

    def test_without_it_sqlite_is_embedded(self):
        config = database_config({}, SQLITE)
        assert config["ENGINE"] == "django.db.backends.sqlite3"
        assert config["NAME"] == str(SQLITE)


class TestRedisUrl:
    URL = "redis://127.0.0.1:6379/7"

    def test_queues_channel_layer_and_cache_use_redis(self):
        env = {"REDIS_URL": self.URL}
        assert all(q["URL"] == self.URL and q.get("ASYNC", True) for q in rq_queues_config(env).values())
        layer = channel_layers_config(env)["default"]
        assert layer["BACKEND"] == "realtime.layers.RedisChannelLayer"  # channels_redis, groups restored
        assert layer["CONFIG"]["hosts"] == [self.URL]
        assert caches_config(env)["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"

    def test_without_it_everything_runs_in_process(self):
        assert all(q["ASYNC"] is False for q in rq_queues_config({}).values())
        assert channel_layers_config({})["default"]["BACKEND"] == "channels.layers.InMemoryChannelLayer"
        assert caches_config({})["default"]["BACKEND"].endswith("LocMemCache")


def test_env_list_drops_blanks():
    assert env_list({"ALLOWED_HOSTS": " a.vn, ,b.vn "}, "ALLOWED_HOSTS") == ["a.vn", "b.vn"]
    assert env_list({}, "ALLOWED_HOSTS") == []


def test_variables_reach_the_loaded_settings():
    embedded = settings_in_subprocess("website.settings.dev", {})
    assert embedded == {
        "db": "django.db.backends.sqlite3",
        "layer": "channels.layers.InMemoryChannelLayer",
        "cache": "django.core.cache.backends.locmem.LocMemCache",
        "rq_async": False,
        "lang": "vi",
        "tz": "Asia/Ho_Chi_Minh",
        "hosts": ["127.0.0.1", "localhost", "[::1]"],
    }
    services = settings_in_subprocess(
        "website.settings.dev",
        {
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/x",
            "REDIS_URL": "redis://127.0.0.1:6379/9",
            "ALLOWED_HOSTS": "desk.example.vn",
        },
    )
    assert services["db"] == "django.db.backends.postgresql"
    assert services["layer"] == "realtime.layers.RedisChannelLayer"
    assert services["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert services["rq_async"] is True
    assert services["hosts"] == ["desk.example.vn"]


class TestProduction:
    ENV = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "desk.example.vn",
        "CSRF_TRUSTED_ORIGINS": "https://desk.example.vn",
    }

    def run_check(self, env):
        return subprocess.run(
            [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
            env={
                "PATH": os.environ["PATH"],
                "DJANGO_SETTINGS_MODULE": "website.settings.production",
                "VAR_DIR": "/tmp/outbreak-var",
                **env,
            },
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )

    def test_deploy_check_passes_with_the_variables_set(self):
        completed = self.run_check(self.ENV)
        assert completed.returncode == 0, completed.stdout + completed.stderr

    @pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS"])
    def test_each_variable_is_required(self, missing):
        env = {k: v for k, v in self.ENV.items() if k != missing}
        completed = self.run_check(env)
        assert completed.returncode != 0
        assert missing in completed.stderr


def test_job_runs_at_once_without_redis(settings):
    settings.RQ_QUEUES = rq_queues_config({})
    job = get_queue("default").enqueue("tests.helpers.add", 2, 3)
    assert job.is_finished
    assert job.return_value() == 5


@pytest.mark.redis
def test_job_waits_for_a_real_worker_with_redis(redis_url):
    import django_rq

    assert settings.RQ_QUEUES["default"]["URL"] == redis_url
    queue = get_queue("default")
    queue.empty()
    job = queue.enqueue("tests.helpers.add", 20, 22)
    assert job.get_status() == "queued"

    django_rq.get_worker("default").work(burst=True)

    job.refresh()
    assert job.is_finished
    assert job.return_value() == 42


def test_models_and_migrations_agree(db):
    from django.core.management import call_command

    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
