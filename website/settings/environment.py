"""Turn environment variables into Django settings.

Each function takes the environment as a mapping so that tests can show the effect of
every variable without reloading Django. ``base.py`` calls them with ``os.environ``.
"""

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url

# One Redis database serves queues, channel layer and cache; keys are prefixed so that they
# never collide.
CHANNEL_LAYER_PREFIX = "outbreak-desk:channels"
CACHE_KEY_PREFIX = "outbreak-desk"
QUEUE_NAMES = ("default", "tracing", "reports", "documents")


def env_list(env: Mapping[str, str], name: str) -> list[str]:
    """A comma-separated variable as a list, empty items dropped."""
    return [item.strip() for item in env.get(name, "").split(",") if item.strip()]


def env_flag(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    value = env.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def database_config(env: Mapping[str, str], sqlite_path: Path) -> dict:
    """PostgreSQL (psycopg 3) from ``DATABASE_URL``, else the embedded SQLite file.

    Under ASGI every sync_to_async thread would keep its own persistent connection until
    PostgreSQL runs out of them ("too many clients"); a psycopg pool per process, of
    ``DB_POOL_MAX_SIZE`` connections, bounds that instead.
    """
    url = env.get("DATABASE_URL")
    if url:
        config = dj_database_url.parse(url, conn_max_age=0)
        pool = {"min_size": 1, "max_size": int(env.get("DB_POOL_MAX_SIZE", "8")), "timeout": 10}
        config["OPTIONS"] = {**config.get("OPTIONS", {}), "pool": pool}
        return config
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(sqlite_path),
        # Several threads of the one ASGI process write: wait rather than fail at once.
        "OPTIONS": {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL;",
        },
    }


def rq_queues_config(env: Mapping[str, str]) -> dict:
    """RQ queues on ``REDIS_URL``; without it every queue runs jobs synchronously.

    Synchronous queues still need a Redis connection to store the job: the project's
    ``get_queue`` helper gives them an in-process fakeredis one.
    """
    url = env.get("REDIS_URL")
    if url:
        common = {"URL": url, "DEFAULT_TIMEOUT": 600}
    else:
        common = {"ASYNC": False, "HOST": "fakeredis", "PORT": 0, "DEFAULT_TIMEOUT": 600}
    return {name: dict(common) for name in QUEUE_NAMES}


def channel_layers_config(env: Mapping[str, str]) -> dict:
    """channels_redis on ``REDIS_URL`` (with its groups restored after a Redis restart:
    realtime/layers.py), else the in-memory layer of one process."""
    url = env.get("REDIS_URL")
    if not url:
        return {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    return {
        "default": {
            "BACKEND": "realtime.layers.RedisChannelLayer",
            "CONFIG": {
                "hosts": [url],
                "prefix": CHANNEL_LAYER_PREFIX,
                # Hundreds of dashboards may listen: let a slow client's buffer grow before
                # messages are dropped (a dropped one shows as a gap in seq: the page
                # refetches), and forget the members of a crashed server after a day; open
                # sockets renew their groups well before (realtime/consumers.py).
                "capacity": 1500,
                "expiry": 60,
                "group_expiry": 86400,
            },
        }
    }


def caches_config(env: Mapping[str, str]) -> dict:
    """Redis cache on ``REDIS_URL`` (shared by every process), else local memory."""
    url = env.get("REDIS_URL")
    if not url:
        return {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }


def env_required(env: Mapping[str, str], name: str) -> str:
    """A variable production cannot run without: no default, a clear error if unset."""
    from django.core.exceptions import ImproperlyConfigured

    value = env.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(f"{name} must be set in the environment for production.")
    return value


def tile_origins(tile_url: str) -> list[str]:
    """The CSP source of a tile URL template: its scheme and host ({s} subdomains as a wildcard);
    none for a path on our own site."""
    parts = urlsplit(tile_url.replace("{s}", "*"))
    if not parts.scheme or not parts.netloc:
        return []
    return [f"{parts.scheme}://{parts.netloc}"]
