"""Callbacks from N8N. Every request must carry the shared secret in `X-N8N-Secret`."""

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.config import Settings

N8N_PREFIX = "/n8n/"
SETTINGS_KEY: web.AppKey[Settings] = web.AppKey("settings", Settings)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def n8n_secret_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith(N8N_PREFIX):
        return await handler(request)
    secret = request.app[SETTINGS_KEY].n8n_secret
    if not secret:
        return web.json_response({"error": "N8N callbacks are not configured"}, status=503)
    given = request.headers.get("X-N8N-Secret", "")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        return web.json_response({"error": "bad or missing X-N8N-Secret"}, status=401)
    return await handler(request)
