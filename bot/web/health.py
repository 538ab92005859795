from aiohttp import web

from bot.db import ping_database
from bot.services.shared import SharedStore

routes = web.RouteTableDef()


class Lifecycle:
    """Set to draining when the replica is stopping: the load balancer should stop sending."""

    def __init__(self) -> None:
        self.draining = False


LIFECYCLE_KEY: web.AppKey[Lifecycle] = web.AppKey("lifecycle", Lifecycle)
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
    lifecycle = request.app.get(LIFECYCLE_KEY)
    draining = lifecycle is not None and lifecycle.draining
    ready = database_ok and store_ok and not draining
    body: dict[str, object] = {
        "status": "ok" if ready else "unavailable",
        "database": database_ok,
        "store": store_ok,
    }
    if draining:
        body["draining"] = True
    return web.json_response(body, status=200 if ready else 503)
