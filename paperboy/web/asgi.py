"""`app_factory()`: the web app for ASGI servers that import it by name (uvicorn workers, gunicorn).

`paperboy serve --workers N` runs `uvicorn.run("paperboy.web.asgi:app_factory", factory=True,
workers=N)`: each worker process calls this once and gets its own Paperboy (store connections,
index readers) configured from the environment (PAPERBOY_HOME, PAPERBOY_DATABASE_URL, ...), which
`serve` fills in from its options before starting them. The same works standalone:
    PAPERBOY_HOME=/srv/paperboy uvicorn --factory paperboy.web.asgi:app_factory --workers 4
Workers never send digests; `paperboy worker` (or cron running `paperboy digest run`) does.
"""

from __future__ import annotations

import os


def app_factory():
    """A FastAPI app over a Paperboy built from PAPERBOY_* environment variables."""
    from paperboy.config import Settings
    from paperboy.service import Paperboy
    from paperboy.web import create_app

    # Lives as long as the worker process; its connections close when the process exits.
    return _TagWorker(create_app(Paperboy(Settings())))


class _TagWorker:
    """Adds `X-Paperboy-Worker: <pid>` to responses, to tell which process answered (logs, tests)."""

    def __init__(self, app):
        self.app = app
        self.state = app.state  # tests and tools reach app.state through the wrapper
        self._tag = (b"x-paperboy-worker", str(os.getpid()).encode())

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def tagged(message):
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), self._tag]
            await send(message)

        await self.app(scope, receive, tagged)
