"""A raw WebSocket client that follows one area the way the product's page does
(``LiveClient`` in website/static/website/live/live.js), so a fault test sees what a page sees.

The page's rules: read a snapshot from the read API (its ``seq`` is the number of the last
event it includes); skip an event at or below the number held; apply the next one; on a gap,
on a hello (first, or again after the server's channel layer got Redis back) that is ahead,
or one that is behind (the numbering started again), read the snapshot again; when the socket
closes, reconnect with jittered exponential backoff. The client records what it applied and
every snapshot it read, so a test can tell whether any published number was missed.
"""

import asyncio
import json
import random
import time
import urllib.request

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

RECONNECT_FIRST_SECONDS = 0.5  # live.js RECONNECT_FIRST_MS
RECONNECT_MAX_SECONDS = 30.0  # live.js RECONNECT_MAX_MS
RESYNC_RETRY_SECONDS = 3.0  # live.js RESYNC_RETRY_MS
CLOSE_UNAUTHENTICATED = 4401


class LiveClient:
    def __init__(self, server, cookie: str, area: str):
        self.ws_url, self.base_url = server.ws_url, server.base_url
        self.cookie = cookie
        self.area = area
        self.seq: int | None = None
        self.applied: dict[int, float] = {}  # seq -> when it was applied live (monotonic)
        self.events: list[dict] = []  # the events applied, in order
        self.snapshots: list[tuple[float, int]] = []  # (when it was read, its seq)
        self.hellos = 0
        self.connections = 0
        self.stopped = False

    async def run(self) -> None:
        """Connect, follow, reconnect after a close, until ``stop``."""
        attempt = 0
        while not self.stopped:
            try:
                async with connect(
                    self.ws_url,
                    origin=self.base_url,
                    additional_headers={"Cookie": self.cookie},
                    open_timeout=10,
                ) as socket:
                    self.connections += 1
                    async for raw in socket:
                        message = json.loads(raw)
                        if message.get("type") == "hello":
                            attempt = 0
                        await self.receive(socket, message)
            except ConnectionClosed as closed:
                if closed.rcvd and closed.rcvd.code == CLOSE_UNAUTHENTICATED:
                    return
            except (InvalidHandshake, OSError, TimeoutError):
                pass
            attempt += 1
            ceiling = min(RECONNECT_MAX_SECONDS, RECONNECT_FIRST_SECONDS * 2 ** (attempt - 1))
            await asyncio.sleep(ceiling * (0.5 + random.random() / 2))  # noqa: S311 - jitter

    async def receive(self, socket, message: dict) -> None:
        kind = message.get("type")
        if kind in ("hello", "subscribed"):
            self.hellos += kind == "hello"
            areas = message.get("areas", {})
            if kind == "hello" and self.area not in areas:
                await socket.send(json.dumps({"subscribe": self.area}))
            await self.server_at(areas.get(self.area))
        elif isinstance(message.get("seq"), int) and message.get("area") == self.area:
            await self.event(message)

    async def server_at(self, seq: int | None) -> None:
        if seq is None:
            return
        if self.seq is not None and seq < self.seq:
            self.seq = None  # the numbering started again: the snapshot tells where it is
        if self.seq is None or seq > self.seq:
            await self.resync()

    async def event(self, message: dict) -> None:
        if self.seq is None or message["seq"] > self.seq + 1:
            await self.resync()  # the page buffers events meanwhile; this socket does too
        if message["seq"] != self.seq + 1:
            return  # already in the snapshot
        self.seq = message["seq"]
        self.applied[self.seq] = time.monotonic()
        self.events.append(message)

    async def resync(self) -> None:
        while True:
            try:
                seq = await asyncio.to_thread(self._snapshot_seq)
            except OSError:
                await asyncio.sleep(RESYNC_RETRY_SECONDS)
                continue
            self.snapshots.append((time.monotonic(), seq))
            self.seq = seq
            return

    def _snapshot_seq(self) -> int:
        """The dashboard page's snapshot: GET /api/v1/dashboard for the area."""
        request = urllib.request.Request(  # noqa: S310 - our own test server
            f"{self.base_url}/api/v1/dashboard?area={self.area}",
            headers={"Cookie": self.cookie, "Accept": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own test server
            return json.load(response)["seq"]

    def covered(self, seq: int, published_at: float) -> bool:
        """Whether the client has what event ``seq`` brought: applied live, or inside a snapshot
        read after the event was published (a snapshot from before it cannot hold it, whatever
        number it carries)."""
        if seq in self.applied:
            return True
        return any(number >= seq and read_at >= published_at for read_at, number in self.snapshots)

    def live_since(self, moment: float) -> float | None:
        """When the client first applied an event live after ``moment`` (None: not yet)."""
        times = [applied_at for applied_at in list(self.applied.values()) if applied_at >= moment]
        return min(times) if times else None


class ClientsThread:
    """Many ``LiveClient`` on one event loop in a thread of their own, while the test's thread
    publishes, kills and restarts."""

    def __init__(self, clients: list[LiveClient]):
        import threading

        self.clients = clients
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="live-clients", daemon=True)
        self.tasks: list[asyncio.Task] = []

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def start(self) -> None:
        self.thread.start()
        for client in self.clients:
            asyncio.run_coroutine_threadsafe(self._spawn(client), self.loop).result(timeout=5)

    async def _spawn(self, client: LiveClient):
        self.tasks.append(asyncio.ensure_future(client.run()))

    def stop(self) -> None:
        async def cancel():
            for client in self.clients:
                client.stopped = True
            for task in self.tasks:
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(cancel(), self.loop).result(timeout=15)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
