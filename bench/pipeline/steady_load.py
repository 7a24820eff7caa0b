"""The open-loop load of bench/pipeline: POSTs submissions at a steady rate, answered or not.

Its own OS process, started by ``run.py`` (``python bench/pipeline/steady_load.py CONFIG.json``).
Unlike bench/ingest/load.py (a closed loop: the next request waits for the last answer), the
i-th request is due at ``start + i / rate`` whatever the server does, as phones at checkpoints
send when people arrive: a slow server meets more requests in flight, not fewer. Each request
takes an idle keep-alive connection, or opens one (``max_connections`` at most, then it waits
for one); a connection idle for ``IDLE_S`` or longer is closed rather than reused, as the
server may be closing it at that moment (uvicorn's keep-alive timeout is 5 s). Its latency
runs from the moment it was due, so time spent waiting for a connection counts (no
coordinated omission). At the end the requests in flight are awaited, so every request sent
has its answer counted.

Bodies as in bench/ingest: ``body_template`` with ``__CID__`` a fresh UUID and ``__SEQ__`` a
running number. Prints one JSON object: status counts, socket errors, latency percentiles from
the due time, how late requests left, the answers per second, the wall-clock start (to line
up events the bench causes, such as a Redis restart) and this process's CPU seconds.
"""

import asyncio
import json
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "ingest"))

from load import BROKEN, SAMPLE_LIMIT, cpu_now, percentile, read_response  # bench/ingest/load.py

IDLE_S = 3.0


class SteadyLoad:
    def __init__(self, config: dict):
        self.host = config["host"]
        self.port = config["port"]
        self.rate = float(config["rate"])
        self.duration = float(config["duration"])
        self.timeout = config.get("timeout", 30)
        self.success = {str(status) for status in config["success"]}
        self.template = config["body_template"]
        head = [f"{config['method']} {config['path']} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        head += [f"{name}: {value}" for name, value in config["headers"].items()]
        self.head = "\r\n".join(head) + "\r\nContent-Length: %d\r\n\r\n"
        self.idle: list = []
        self.slots = asyncio.Semaphore(config.get("max_connections", 64))
        self.opened = 0
        self.sequence = 0
        self.statuses: dict[str, int] = {}
        self.samples: dict[str, str] = {}
        self.socket_errors = 0
        self.latencies: list[float] = []
        self.lateness: list[float] = []
        self.per_second: dict[int, dict[str, int]] = {}

    def next_request(self) -> bytes:
        self.sequence += 1
        body = self.template.replace("__CID__", str(uuid.uuid4()))
        body = body.replace("__SEQ__", f"{self.sequence:09d}").encode()
        return (self.head % len(body)).encode() + body

    def count(self, second: int, key: str) -> None:
        self.statuses[key] = self.statuses.get(key, 0) + 1
        bucket = self.per_second.setdefault(second, {})
        bucket[key] = bucket.get(key, 0) + 1

    async def one(self, due: float, second: int) -> None:
        async with self.slots:
            self.lateness.append(time.perf_counter() - due)
            connection = None
            while self.idle and connection is None:
                reader, writer, last_used = self.idle.pop()
                if time.perf_counter() - last_used < IDLE_S:
                    connection = reader, writer
                else:
                    writer.close()
            try:
                if connection is None:
                    connection = await asyncio.open_connection(self.host, self.port)
                    self.opened += 1
                reader, writer = connection
            except OSError:
                self.socket_errors += 1
                self.count(second, "socket error")
                return
            try:
                async with asyncio.timeout(self.timeout):
                    writer.write(self.next_request())
                    status, body, closes = await read_response(reader)
            except BROKEN:
                self.socket_errors += 1
                self.count(second, "socket error")
                writer.close()
                return
            self.latencies.append(time.perf_counter() - due)
            key = str(status)
            self.count(second, key)
            if key not in self.success and key not in self.samples:
                self.samples[key] = body[:SAMPLE_LIMIT].decode("utf-8", "replace")
            if closes:
                writer.close()
            else:
                self.idle.append((reader, writer, time.perf_counter()))

    async def run(self) -> dict:
        total = round(self.rate * self.duration)
        tasks = []
        cpu = cpu_now()
        wall = time.time()
        start = time.perf_counter() + 0.05
        for index in range(total):
            due = start + index / self.rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self.one(due, int(index / self.rate))))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
        for _reader, writer, _last_used in self.idle:
            writer.close()
        ordered, late = sorted(self.latencies), sorted(self.lateness)
        ok = sum(n for status, n in self.statuses.items() if status in self.success)
        return {
            "rate": self.rate,
            "duration_s": self.duration,
            "started_at_wall": wall + 0.05,
            "requests": total,
            "success": ok,
            "statuses": dict(sorted(self.statuses.items())),
            "errors": total - ok,
            "socket_errors": self.socket_errors,
            "elapsed_s": round(elapsed, 3),
            "success_per_s": round(ok / elapsed, 1) if elapsed else 0.0,
            "latency_ms": {
                **{f"p{p}": percentile(ordered, p) for p in (50, 95, 99)},
                "max": round(1000 * ordered[-1], 2) if ordered else None,
            },
            "sent_late_ms": {"p99": percentile(late, 99), "max": round(1000 * late[-1], 2) if late else None},
            "connections_opened": self.opened,
            "per_second": {str(second): counts for second, counts in sorted(self.per_second.items())},
            "load_cpu_s": round(cpu_now() - cpu, 2),
            "unexpected_samples": self.samples,
        }


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle:
        config = json.load(handle)
    if config["host"] not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("bench/pipeline only ever loads a server on this machine (127.0.0.1)")
    if not 0 < config["duration"] <= 120 or not 0 < config["rate"] <= 2000:
        raise SystemExit("a steady phase lasts at most 120 seconds, at most 2,000 requests/s")
    try:
        import uvloop
    except ImportError:
        runner = asyncio.run
    else:
        runner = uvloop.run
    print(json.dumps(runner(SteadyLoad(config).run())))


if __name__ == "__main__":
    main()
