"""The Redis channel layer, made to survive Redis restarting under open sockets.

channels_redis keeps group memberships in Redis only. When Redis restarts empty (it keeps
nothing on disk here: docs/deploy.md), the sockets of a web process lose their groups without
noticing and stay open but deaf; and the process's one receive loop fails, which closes
the sockets whose turn it is to read, one by one, while Redis is down.

This layer remembers the groups of its own process's channels. When its receive loop loses
Redis it waits for Redis to come back (without failing any socket), joins the groups again,
and hands every such channel a ``RECONNECTED`` message: the consumer answers its client with
a new hello carrying the current sequence numbers, and the client refetches what it missed
(realtime/consumers.py, website/static/website/live/live.js).
"""

import asyncio
import logging
import time
from collections import defaultdict

from channels_redis.core import RedisChannelLayer as BaseRedisChannelLayer
from redis import RedisError

logger = logging.getLogger(__name__)

# The message each of this process's channels with groups gets once Redis is back; a consumer
# of this layer handles it (``layer_reconnected``).
RECONNECTED = "layer.reconnected"
# Seconds between attempts to reach Redis again: short, because pages wait for it; Redis
# restarts in well under a second.
RETRY_FIRST_SECONDS = 0.1
RETRY_MAX_SECONDS = 1.0


class RedisChannelLayer(BaseRedisChannelLayer):
    """channels_redis' layer with its groups restored after Redis comes back."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.local_groups: dict[str, set[str]] = defaultdict(set)

    def _is_local(self, channel: str) -> bool:
        return channel.startswith(f"specific.{self.client_prefix}!")

    async def group_add(self, group, channel):
        await super().group_add(group, channel)
        if self._is_local(channel):  # only once Redis has it: a failed add is the caller's to retry
            self.local_groups[channel].add(group)

    async def group_discard(self, group, channel):
        groups = self.local_groups.get(channel)
        if groups is not None:
            groups.discard(group)
            if not groups:
                del self.local_groups[channel]
        await super().group_discard(group, channel)

    async def receive_single(self, channel):
        """Read the next message; if Redis is lost meanwhile, wait for it instead of failing,
        then tell this process's channels that they were away."""
        while True:
            try:
                return await super().receive_single(channel)
            except (RedisError, OSError) as error:
                if asyncio.current_task().cancelling():
                    # The socket that was reading closed: redis-py may report the cancelled
                    # read as its own TimeoutError. Waiting on would keep that socket's task
                    # (and the server's shutdown) hanging.
                    raise asyncio.CancelledError from error
                logger.warning("Channel layer lost Redis (%s); waiting for it.", type(error).__name__)
            await self._groups_restore()
            if self.local_groups:
                return list(self.local_groups), {"type": RECONNECTED}

    async def _groups_restore(self) -> None:
        """Join every group of this process's channels again, as soon as Redis answers."""
        delay = RETRY_FIRST_SECONDS
        while True:
            await asyncio.sleep(delay)
            try:
                await self._groups_add_all()
            except (RedisError, OSError):
                delay = min(RETRY_MAX_SECONDS, delay * 2)
                continue
            logger.warning("Channel layer has Redis again; %d sockets rejoined.", len(self.local_groups))
            return

    async def _groups_add_all(self) -> None:
        members = defaultdict(dict)
        now = time.time()
        for channel, groups in list(self.local_groups.items()):
            for group in groups:
                members[group][channel] = now
        for index in range(self.ring_size):
            connection = self.connection(index)
            # The idle pooled connections went with the old server: drop them, or each would
            # fail once later (one in the receive loop would mean a second, needless resync).
            await connection.connection_pool.disconnect(inuse_connections=False)
            await connection.ping()  # Redis is back even if no group is left
        for group, channels in members.items():
            pipeline = self.connection(self.consistent_hash(group)).pipeline(transaction=False)
            pipeline.zadd(self._group_key(group), channels)
            pipeline.expire(self._group_key(group), self.group_expiry)
            await pipeline.execute()
