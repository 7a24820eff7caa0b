"""The WebSocket clients of bench/live/ws.py, in a process of their own.

    .venv/bin/python bench/live/ws_load.py CONFIG.json

CONFIG: {"url": "ws://127.0.0.1:PORT/ws/live/", "origin": "http://127.0.0.1:PORT",
"cookie_name": "sessionid", "clients": [{"session": "...", "area": "<district code>"}, ...]}.

1. Opens every client (50 handshakes at a time), each logged in by its session cookie, and
   checks that its hello names exactly its district; prints one JSON line
   ``{"ready": true, "connected": n, "failed": n}`` when all are open.
2. Receives: for each ``bench.tick`` it notes the copy's area, seq and the time from the
   publisher's ``sent_at`` to its arrival (one machine: one clock).
3. Reads one JSON line on stdin, ``{"expected": {"<district code>": [seq, ...]}}``, the seqs
   the publisher took for each district group; a client lost every expected seq of its
   district it never received. Prints the summary as one JSON line and exits.
"""

import asyncio
import json
import sys
import time
from dataclasses import dataclass, field

from websockets.asyncio.client import connect

HANDSHAKES_AT_ONCE = 50


@dataclass
class Client:
    session: str
    area: str
    latencies: list[float] = field(default_factory=list)
    seqs: list[int] = field(default_factory=list)
    foreign: int = 0  # copies for an area this client did not join: must stay 0
    greeted: bool = False  # the hello arrived
    hello_ok: bool = False  # and named exactly the client's district


async def run_client(client: Client, config: dict, opened: asyncio.Semaphore, stop: asyncio.Event):
    headers = {"Cookie": f"{config['cookie_name']}={client.session}"}
    async with opened:
        socket = await connect(config["url"], origin=config["origin"], additional_headers=headers)
        hello = json.loads(await socket.recv())
        client.hello_ok = hello.get("type") == "hello" and list(hello.get("areas", {})) == [client.area]
        client.greeted = True
    async with socket:
        receiver = asyncio.ensure_future(receive(socket, client))
        await stop.wait()
        receiver.cancel()


async def receive(socket, client: Client):
    async for raw in socket:
        arrived = time.time()
        message = json.loads(raw)
        if message.get("type") != "bench.tick":
            continue
        if message.get("area") != client.area:
            client.foreign += 1
            continue
        client.seqs.append(message["seq"])
        client.latencies.append(arrived - message["sent_at"])


def percentile(ordered: list[float], share: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(clients: list[Client], expected: dict[str, list[int]], connected: int) -> dict:
    latencies = sorted(value for client in clients for value in client.latencies)
    lost = duplicates = 0
    for client in clients:
        got = client.seqs
        duplicates += len(got) - len(set(got))
        lost += len(set(expected.get(client.area, [])) - set(got))
    expected_total = sum(len(expected.get(client.area, [])) for client in clients)
    return {
        "clients": len(clients),
        "connected": connected,
        "hello_ok": sum(client.hello_ok for client in clients),
        "messages_expected": expected_total,
        "messages_received": len(latencies),
        "messages_lost": lost,
        "duplicates": duplicates,
        "foreign_area_messages": sum(client.foreign for client in clients),
        "latency_ms": {
            name: round(1000 * value, 1) if value is not None else None
            for name, value in (
                ("p50", percentile(latencies, 0.50)),
                ("p95", percentile(latencies, 0.95)),
                ("p99", percentile(latencies, 0.99)),
                ("max", latencies[-1] if latencies else None),
            )
        },
    }


async def main(config: dict) -> dict:
    clients = [Client(session=spec["session"], area=spec["area"]) for spec in config["clients"]]
    opened, stop = asyncio.Semaphore(HANDSHAKES_AT_ONCE), asyncio.Event()
    tasks = [asyncio.ensure_future(run_client(client, config, opened, stop)) for client in clients]
    pairs = list(zip(clients, tasks, strict=True))
    while not all(client.greeted or task.done() for client, task in pairs):
        await asyncio.sleep(0.05)
    failed = sum(1 for task in tasks if task.done())
    print(json.dumps({"ready": True, "connected": len(tasks) - failed, "failed": failed}), flush=True)
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return summary(clients, json.loads(line)["expected"], connected=len(tasks) - failed)


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as handle:
        result = asyncio.run(main(json.load(handle)))
    print(json.dumps(result), flush=True)
