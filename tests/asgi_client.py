"""A test client that sends requests through the project's ASGI application, ingest lane included.

Django's test ``Client`` calls Django directly, so it never meets ``website/asgi.py``. This one
speaks ASGI to ``SubmissionLane`` in front of Django's ASGI handler, takes the same arguments as
``Client.post`` (``HTTP_*`` headers, ``REMOTE_ADDR``), and tells which of the two answered. The
lane reads and writes through its own PostgreSQL connections, so tests using it need
committed data: ``django_db(transaction=True)``.
"""

import asyncio
import json

from asgiref.sync import async_to_sync
from django.core.asgi import get_asgi_application

from forms_engine import ingest


class AsgiResponse:
    def __init__(self, status: int, headers: list, body: bytes, served_by: str):
        self.status_code = status
        self.headers = {name.decode().lower(): value.decode() for name, value in headers}
        self.content = body
        self.served_by = served_by  # "lane" or "django"

    def json(self):
        return json.loads(self.content)

    def __getitem__(self, name: str) -> str:
        return self.headers[name.lower()]


class AsgiClient:
    def __init__(self, REMOTE_ADDR: str = "127.0.0.1", **defaults):
        self.remote_addr = REMOTE_ADDR
        self.defaults = defaults

    def post(self, path: str, data=b"", content_type: str = "application/json", **extra) -> AsgiResponse:
        body = data.encode() if isinstance(data, str) else data
        headers = {"host": "testserver", "content-type": content_type, "content-length": str(len(body))}
        for key, value in {**self.defaults, **extra}.items():
            if key.startswith("HTTP_"):
                headers[key[5:].replace("_", "-").lower()] = value
        return async_to_sync(self._request)("POST", path, headers, body)

    async def _request(self, method: str, path: str, headers: dict, body: bytes) -> AsgiResponse:
        django_app = get_asgi_application()
        served_by = "lane"

        async def django(scope, receive, send):
            nonlocal served_by
            served_by = "django"
            await django_app(scope, receive, send)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(name.encode(), value.encode()) for name, value in headers.items()],
            "client": (self.remote_addr, 50000),
            "server": ("testserver", 80),
        }
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        sent, answered = [], asyncio.Event()

        async def receive():
            if messages:
                return messages.pop(0)
            await answered.wait()  # Django listens for a disconnect while it answers
            return {"type": "http.disconnect"}

        async def send(message):
            sent.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                answered.set()

        try:
            await ingest.SubmissionLane(django)(scope, receive, send)
        finally:
            await ingest.pools_close()  # each call runs on its own event loop
        start = next(m for m in sent if m["type"] == "http.response.start")
        content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return AsgiResponse(start["status"], start.get("headers", []), content, served_by)
