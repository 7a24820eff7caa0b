"""bench/ingest/load.py (the closed loop) with its connections opened 20 ms apart.

uvicorn's workers share one listening socket, and the worker that wakes first accepts every
connection waiting: 16 connections opened at once often all land on one worker, and the
closed loop then measures one worker of two (bench/pipeline saw it in about half its phases).
Opened apart, each connection goes to whichever worker wakes first for it alone. Everything
else is bench/ingest/load.py's; ``python bench/pipeline/closed_load.py CONFIG.json``.
"""

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "ingest"))

import load  # bench/ingest/load.py

CONNECT_GAP_S = 0.02


class SpacedLoad(load.Load):
    async def connect(self):
        await asyncio.sleep(CONNECT_GAP_S)
        return await super().connect()


if __name__ == "__main__":
    load.Load = SpacedLoad  # main() makes its load from the module's name
    load.main()
