"""``GET /health/`` for the proxy: 503 only without the database; Redis down is reported, and
the web process stays in rotation (submissions are still stored; docs/deploy.md)."""

import pytest
from django.db import OperationalError
from django.test import Client

from website import health
from website.settings.environment import caches_config

pytestmark = pytest.mark.redis


@pytest.fixture
def cache_on_throwaway_redis(settings, redis_server):
    settings.CACHES = caches_config({"REDIS_URL": redis_server.url})
    return redis_server


@pytest.mark.django_db
def test_healthy_then_redis_down_is_reported_but_still_serving(cache_on_throwaway_redis):
    response = Client().get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}
    assert "no-cache" in response["Cache-Control"]

    cache_on_throwaway_redis.kill()
    response = Client().get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "down"}


class RefusingConnection:
    def cursor(self):
        raise OperationalError("connection refused")


@pytest.mark.django_db
def test_without_the_database_the_process_answers_503(cache_on_throwaway_redis, monkeypatch):
    monkeypatch.setattr(health, "connection", RefusingConnection())
    response = Client().get("/health/")
    assert response.status_code == 503
    assert response.json() == {"status": "down", "database": "down", "redis": "ok"}
