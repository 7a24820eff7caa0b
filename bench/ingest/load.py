"""The load process of bench/ingest: POSTs submissions to a server on 127.0.0.1 and times them.

Its own OS process, started by ``run.py`` (``python bench/ingest/load.py CONFIG.json``), so
that the server's workers and the load never share an interpreter. It keeps ``connections``
HTTP/1.1 keep-alive connections busy, one request in flight on each (a closed loop, like
phones that send the next form when the last is answered), first for ``warmup`` seconds,
then for ``duration`` seconds. At the end of each phase no new request starts and the ones
in flight are awaited, so every request sent has its answer counted: the database's rows
can then be checked against the responses exactly.

A response counts as a success when its status is in ``success`` (and, if set, its body
contains ``success_marker``). Each body is ``body_template`` with ``__CID__`` replaced by a
fresh UUID (the checkpoint API's idempotency key, unique per request) and ``__SEQ__`` by a
running number. Only the standard library (and uvloop when installed, as uvicorn[standard]
installs it): the process parses just enough HTTP to find the status and the end of each
response.

Prints one JSON object: per phase the status counts, socket errors, latency percentiles,
elapsed time, and the CPU seconds this process used (to show it is not the bottleneck).
"""

import asyncio
import json
import resource
import sys
import time
import uuid

SAMPLE_LIMIT = 300  # bytes of an unexpected response kept for the report
BROKEN = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError)


class Phase:
    def __init__(self, name: str):
        self.name = name
        self.statuses: dict[str, int] = {}
        self.socket_errors = 0
        self.latencies: list[float] = []
        self.samples: dict[str, str] = {}
        self.elapsed = 0.0
        self.cpu_seconds = 0.0

    def summary(self, success: set[str]) -> dict:
        ordered = sorted(self.latencies)
        ok = sum(n for status, n in self.statuses.items() if status in success)
        return {
            "phase": self.name,
            "requests": len(ordered) + self.socket_errors,
            "success": ok,
            "ok": sorted(success),
            "statuses": dict(sorted(self.statuses.items())),
            "errors": sum(n for status, n in self.statuses.items() if status not in success)
            + self.socket_errors,
            "socket_errors": self.socket_errors,
            "elapsed_s": round(self.elapsed, 3),
            "success_per_s": round(ok / self.elapsed, 1) if self.elapsed else 0.0,
            "latency_ms": {
                "mean": round(1000 * sum(ordered) / len(ordered), 2) if ordered else None,
                **{f"p{p}": percentile(ordered, p) for p in (50, 90, 95, 99)},
                "max": round(1000 * ordered[-1], 2) if ordered else None,
            },
            "load_cpu_s": round(self.cpu_seconds, 2),
            "load_cpu_share_of_one_core": round(self.cpu_seconds / self.elapsed, 3) if self.elapsed else None,
            "unexpected_samples": self.samples,
        }


def percentile(ordered: list[float], p: float) -> float | None:
    """Nearest-rank percentile, in milliseconds."""
    if not ordered:
        return None
    rank = max(0, min(len(ordered) - 1, int(-(-p * len(ordered) // 100)) - 1))
    return round(1000 * ordered[rank], 2)


def cpu_now() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, server closes) of one HTTP/1.1 response."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    closes = b"\r\nconnection: close" in lower
    at = lower.find(b"\r\ncontent-length:")
    if at >= 0:
        end = lower.find(b"\r\n", at + 17)
        body = await reader.readexactly(int(lower[at + 17 : end]))
    elif b"\r\ntransfer-encoding: chunked" in lower:
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunks.append(await reader.readexactly(size + 2))
            if size == 0:
                break
        body = b"".join(chunks)
    else:
        body = b""
    return status, body, closes


class Load:
    def __init__(self, config: dict):
        self.host = config["host"]
        self.port = config["port"]
        self.connections = config["connections"]
        self.timeout = config.get("timeout", 30)
        self.success = {str(status) for status in config["success"]}
        # A stock form page answers 200 both when it stores and when it shows the form again
        # with errors: only a body with this marker counts as stored.
        self.marker = config.get("success_marker", "").encode()
        self.template = config["body_template"]
        head = [f"{config['method']} {config['path']} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        head += [f"{name}: {value}" for name, value in config["headers"].items()]
        self.head = "\r\n".join(head) + "\r\nContent-Length: %d\r\n\r\n"
        self.sequence = 0

    def next_request(self) -> bytes:
        self.sequence += 1
        body = self.template.replace("__CID__", str(uuid.uuid4()))
        body = body.replace("__SEQ__", f"{self.sequence:09d}").encode()
        return (self.head % len(body)).encode() + body

    async def connect(self):
        return await asyncio.open_connection(self.host, self.port)

    async def worker(self, slot: list, phase: Phase, deadline: float) -> None:
        while time.perf_counter() < deadline:
            if slot[0] is None:
                try:
                    slot[0] = await self.connect()
                except OSError:
                    phase.socket_errors += 1
                    await asyncio.sleep(0.05)
                    continue
            reader, writer = slot[0]
            request = self.next_request()
            start = time.perf_counter()
            try:
                async with asyncio.timeout(self.timeout):
                    writer.write(request)
                    status, body, closes = await read_response(reader)
            except BROKEN:
                phase.socket_errors += 1
                writer.close()
                slot[0] = None
                continue
            phase.latencies.append(time.perf_counter() - start)
            key = str(status)
            if key in self.success and self.marker and self.marker not in body:
                key = f"{status} without the success marker"
            phase.statuses[key] = phase.statuses.get(key, 0) + 1
            if key not in self.success and key not in phase.samples:
                phase.samples[key] = body[:SAMPLE_LIMIT].decode("utf-8", "replace")
            if closes:
                writer.close()
                slot[0] = None

    async def run_phase(self, slots: list, name: str, seconds: float) -> Phase:
        phase = Phase(name)
        cpu, start = cpu_now(), time.perf_counter()
        deadline = start + seconds
        await asyncio.gather(*(self.worker(slot, phase, deadline) for slot in slots))
        phase.elapsed = time.perf_counter() - start  # includes the drain of requests in flight
        phase.cpu_seconds = cpu_now() - cpu
        return phase

    async def run(self, warmup: float, duration: float) -> list[Phase]:
        slots = [[await self.connect()] for _ in range(self.connections)]
        phases = []
        if warmup > 0:
            phases.append(await self.run_phase(slots, "warmup", warmup))
        phases.append(await self.run_phase(slots, "measure", duration))
        for slot in slots:
            if slot[0] is not None:
                slot[0][1].close()
        return phases


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle:
        config = json.load(handle)
    if config["host"] not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("bench/ingest only ever loads a server on this machine (127.0.0.1)")
    if not 0 < config["duration"] <= 60 or not 0 <= config.get("warmup", 0) <= 60:
        raise SystemExit("a phase lasts at most 60 seconds")
    try:
        import uvloop
    except ImportError:
        runner = asyncio.run
    else:
        runner = uvloop.run
    load = Load(config)
    phases = runner(load.run(config.get("warmup", 0), config["duration"]))
    print(json.dumps({p.name: p.summary(load.success) for p in phases}))


if __name__ == "__main__":
    main()
