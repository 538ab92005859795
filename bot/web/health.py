from aiohttp import web

from bot.db import ping_database
from bot.services.shared import SharedStore

routes = web.RouteTableDef()
STORE_KEY: web.AppKey[SharedStore] = web.AppKey("store", SharedStore)


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """The process is alive and serving HTTP."""
    return web.json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    """The database and the shared store (Redis) are reachable."""
    store = request.app[STORE_KEY]
    try:
        store_ok = await store.ping()
    except Exception:
        store_ok = False
    database_ok = await ping_database()
    ready = database_ok and store_ok
    return web.json_response(
        {"status": "ok" if ready else "unavailable", "database": database_ok, "store": store_ok},
        status=200 if ready else 503,
    )
