"""The one factory: wires bot, storage, dispatcher and web app together; decides nothing."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import signal
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.fsm.storage.redis import DefaultKeyBuilder, RedisEventIsolation, RedisStorage
from aiogram.utils.callback_answer import CallbackAnswerMiddleware
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from loguru import logger
from redis.asyncio import Redis
from yarl import URL

from bot.aiogram_internals import handler_tasks, run_first_on_shutdown
from bot.commands import register_commands
from bot.config import Settings
from bot.db import close_database, init_database
from bot.fsm import ExpiringMemoryStorage
from bot.i18n import PoI18n, create_i18n
from bot.middlewares import (
    BannedUserMiddleware,
    FloodMiddleware,
    PrivateChatsOnlyMiddleware,
    UpdateDedupMiddleware,
    UserLocaleMiddleware,
    UserMiddleware,
)
from bot.outbound import AdminAlerts, Outbox
from bot.outbound import broadcasts as outbound_broadcasts
from bot.outbound import jobs as outbound_jobs
from bot.routers import feature_routers
from bot.services import privacy
from bot.services.albums import AlbumCollector, MemoryAlbumCollector, RedisAlbumCollector
from bot.services.background import BackgroundTasks
from bot.services.n8n import N8NClient
from bot.services.periodic import PeriodicWorker
from bot.services.shared import MemoryStore, RedisStore, SharedStore
from bot.services.telegram import RetryMiddleware
from bot.web import health
from bot.web import n8n as n8n_web

WEBHOOK_PATH = "/webhook"
SHUTDOWN_GRACE_SECONDS = 20.0


def create_bot(settings: Settings) -> Bot:
    session = (
        AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
        if settings.telegram_api_url
        else AiohttpSession()
    )
    session.middleware(RetryMiddleware())
    return Bot(
        settings.telegram_bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


def create_storage(
    settings: Settings, redis: Redis | None
) -> tuple[BaseStorage, BaseEventIsolation]:
    if redis is None:
        return ExpiringMemoryStorage(settings.fsm_ttl_seconds), SimpleEventIsolation()
    key_builder = DefaultKeyBuilder(with_bot_id=True)
    storage = RedisStorage(
        redis,
        key_builder=key_builder,
        state_ttl=settings.fsm_ttl_seconds,
        data_ttl=settings.fsm_ttl_seconds,
    )
    # Two updates of one user on two replicas are handled one after the other.
    return storage, RedisEventIsolation(redis, key_builder=key_builder)


def create_dispatcher(
    settings: Settings,
    *,
    redis: Redis | None,
    store: SharedStore,
    i18n: PoI18n,
    alerts: AdminAlerts,
    n8n_client: N8NClient | None,
    background: BackgroundTasks,
    outbox: Outbox,
) -> Dispatcher:
    storage, isolation = create_storage(settings, redis)
    albums: AlbumCollector = (
        RedisAlbumCollector(redis, prefix=f"portrait:{settings.bot_id}:")
        if redis is not None
        else MemoryAlbumCollector()
    )
    dispatcher = Dispatcher(
        storage=storage,
        events_isolation=isolation,
        # Workflow data: what handlers receive as parameters.
        settings=settings,
        store=store,
        alerts=alerts,
        n8n=n8n_client,
        outbox=outbox,
        albums=albums,
        background=background,
        isolation=isolation,
    )
    dispatcher.update.outer_middleware(UpdateDedupMiddleware(store))
    dispatcher.update.outer_middleware(PrivateChatsOnlyMiddleware())
    dispatcher.update.outer_middleware(UserMiddleware(settings))
    UserLocaleMiddleware(i18n).setup(dispatcher)
    banned = BannedUserMiddleware(store)  # after the locale: its notice is translated
    dispatcher.message.outer_middleware(banned)
    dispatcher.callback_query.outer_middleware(banned)
    dispatcher.message.outer_middleware(FloodMiddleware(store, settings.flood_messages_per_second))
    dispatcher.callback_query.middleware(CallbackAnswerMiddleware(pre=True))
    dispatcher.include_routers(*feature_routers())
    return dispatcher


@dataclass
class BotApp:
    """Everything one replica runs."""

    settings: Settings
    bot: Bot
    dispatcher: Dispatcher
    i18n: PoI18n
    store: SharedStore
    redis: Redis | None
    outbox: Outbox
    n8n: N8NClient | None = None
    background: BackgroundTasks = field(default_factory=BackgroundTasks)
    # False when the caller manages the database (several replicas in one test process).
    owns_database: bool = True
    lifecycle: health.Lifecycle = field(default_factory=health.Lifecycle)
    web_app: web.Application = field(init=False)
    _runner: web.AppRunner | None = field(default=None, init=False)
    _site: web.TCPSite | None = field(default=None, init=False)
    _webhook_handler: SimpleRequestHandler | None = field(default=None, init=False)
    # Set when the replica begins to stop: periodic workers and broadcasts end their turn.
    stopping: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _workers: list[asyncio.Task[None]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.dispatcher["stopping"] = self.stopping
        self.web_app = create_web_app(self)
        if self.settings.uses_webhook:
            self._webhook_handler = SimpleRequestHandler(
                dispatcher=self.dispatcher,
                bot=self.bot,
                secret_token=self.settings.webhook_secret.get_secret_value(),
            )
            self._webhook_handler.register(self.web_app, path=WEBHOOK_PATH)
        # Polling's shutdown closes the FSM storage: let in-flight updates finish first, after
        # telling broadcasts and workers to end their turn (another replica resumes them).
        run_first_on_shutdown(self.dispatcher, self.finish_in_flight)
        run_first_on_shutdown(self.dispatcher, self._begin_stopping)

    async def _begin_stopping(self) -> None:
        self.stopping.set()

    @property
    def allowed_updates(self) -> list[str]:
        return self.dispatcher.resolve_used_update_types()

    async def start(self) -> None:
        """Migrate the schema, serve the web app, announce commands and (in webhook mode)
        the webhook — the web app listens before Telegram is told to send there."""
        if self.owns_database:
            await init_database(self.settings.database_url)
        if self.redis is not None:
            await self.redis.ping()  # type: ignore[misc]  # redis-py: ping() -> Awaitable[bool] | bool
        self._runner = web.AppRunner(self.web_app, access_log=None)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, self.settings.host, self.settings.port)
        await self._site.start()
        logger.info(
            "web app listening on {}:{} ({} mode)",
            self.settings.host,
            self.settings.port,
            "webhook" if self.settings.uses_webhook else "polling",
        )
        await register_commands(self.bot, self.i18n, self.settings.admin_ids)
        if self.settings.uses_webhook:
            await self._ensure_webhook()
        self._workers = [
            asyncio.create_task(worker.run_until(self.stopping))
            for worker in self.periodic_workers()
        ]

    def periodic_workers(self) -> list[PeriodicWorker]:
        outbox, store, n8n, settings = self.outbox, self.store, self.n8n, self.settings
        workers = [
            PeriodicWorker(
                "reconciler",
                outbound_jobs.RECONCILE_EVERY_SECONDS,
                lambda stopping: outbound_jobs.reconcile(outbox, n8n, settings, stopping),
                store,
                turn_key="reconciler-turn",
            ),
            # Every replica looks; each broadcast has a lease of its own.
            PeriodicWorker(
                "broadcast resumption",
                outbound_broadcasts.RESUME_EVERY_SECONDS,
                lambda stopping: outbound_broadcasts.resume_all(outbox, stopping),
            ),
        ]
        if n8n is not None:  # without N8N the queued deletions wait for it to be configured
            workers.append(
                PeriodicWorker(
                    "model deletion retries",
                    privacy.DELETION_RETRY_SECONDS,
                    lambda stopping: privacy.retry_due_deletions(n8n, stopping),
                    store,
                    turn_key=privacy.TURN_KEY,
                )
            )
        return workers

    def _webhook_fingerprint(self) -> str:
        wanted = (
            f"{self.settings.webhook_endpoint}|{self.settings.webhook_secret.get_secret_value()}|"
        )
        wanted += ",".join(sorted(self.allowed_updates))
        return hashlib.sha256(wanted.encode()).hexdigest()

    async def _ensure_webhook(self) -> None:
        # Only when Telegram's view differs: a rolling restart must neither flap the webhook
        # nor drop pending updates, and shutdown never deletes it. getWebhookInfo does not
        # return the secret, so a fingerprint of what was last set (secret included) is shared.
        url = self.settings.webhook_endpoint
        fingerprint = self._webhook_fingerprint()
        info = await self.bot.get_webhook_info()
        if (
            info.url == url
            and sorted(info.allowed_updates or []) == sorted(self.allowed_updates)
            and await self.store.get("webhook-fingerprint") == fingerprint
        ):
            return
        await self.bot.set_webhook(
            url=str(url),
            secret_token=self.settings.webhook_secret.get_secret_value(),
            allowed_updates=self.allowed_updates,
            drop_pending_updates=False,
        )
        await self.store.put("webhook-fingerprint", fingerprint)
        logger.info("webhook set to {}", url)

    async def poll(self) -> None:
        """Long polling (the embedded default); returns when polling stops."""
        await self.bot.delete_webhook(drop_pending_updates=False)
        await self.dispatcher.start_polling(
            self.bot,
            allowed_updates=self.allowed_updates,
            handle_signals=False,
            close_bot_session=False,
        )

    def _in_flight(self) -> set[asyncio.Task[Any]]:
        return handler_tasks(self.dispatcher, self._webhook_handler) | self.background.pending

    async def finish_in_flight(self, timeout: float = SHUTDOWN_GRACE_SECONDS) -> None:
        """Let updates and jobs already under way finish (a rolling restart must not cut a
        user's action in half); new tasks they start are waited for too."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        current = asyncio.current_task()
        while tasks := self._in_flight() - {current}:
            remaining = deadline - loop.time()
            if remaining <= 0:
                logger.warning("stopping with {} tasks still running", len(tasks))
                return
            await asyncio.wait(tasks, timeout=remaining)

    async def stop(self) -> None:
        """Drain, then close: /readyz turns 503 and no new connection is accepted, updates
        already received finish, and only then do the connections close."""
        self.lifecycle.draining = True
        self.stopping.set()
        await asyncio.gather(*self._workers)
        if self._site is not None:
            await self._site.stop()
        await self.finish_in_flight()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.dispatcher.storage.close()
        await self.dispatcher.fsm.events_isolation.close()
        await self.bot.session.close()
        if self.n8n is not None:
            await self.n8n.close()
        if self.redis is not None:
            await self.redis.aclose()
        if self.owns_database:
            await close_database()


def create_web_app(app: BotApp) -> web.Application:
    # Callbacks are small JSON bodies; 4 MB leaves room for long image lists.
    web_app = web.Application(
        middlewares=[n8n_web.n8n_secret_middleware], client_max_size=4 * 2**20
    )
    web_app[n8n_web.SETTINGS_KEY] = app.settings
    web_app[n8n_web.OUTBOX_KEY] = app.outbox
    web_app[health.STORE_KEY] = app.store
    web_app[health.LIFECYCLE_KEY] = app.lifecycle
    web_app.add_routes(health.routes)
    web_app.add_routes(n8n_web.routes)
    return web_app


def build(settings: Settings, *, owns_database: bool = True) -> BotApp:
    # Timeouts: a Redis that stops answering must fail requests, not hang every update.
    redis = (
        Redis.from_url(
            settings.redis_url,
            socket_timeout=5,
            socket_connect_timeout=5,
            health_check_interval=30,
            retry_on_timeout=True,
        )
        if settings.redis_url
        else None
    )
    store: SharedStore = (
        RedisStore(redis, prefix=f"portrait:{settings.bot_id}:")
        if redis is not None
        else MemoryStore()
    )
    if redis is None:
        logger.warning(
            "REDIS_URL is not set: FSM state and shared structures live in this process, "
            "so only ONE replica of the bot may run"
        )
    bot = create_bot(settings)
    i18n = create_i18n()
    alerts = AdminAlerts(
        bot,
        store,
        settings.admin_ids,
        secrets=[
            settings.telegram_bot_token.get_secret_value(),
            settings.n8n_secret.get_secret_value(),
            settings.webhook_secret.get_secret_value(),
            URL(settings.database_url).password or "",
            URL(settings.redis_url or "").password or "",
        ],
    )
    n8n_client = (
        N8NClient(
            str(settings.api_base_url),
            settings.n8n_secret.get_secret_value(),
            timeout_seconds=settings.n8n_timeout_seconds,
            attempts=settings.n8n_attempts,
            backoff_seconds=settings.n8n_backoff_seconds,
        )
        if settings.n8n_enabled
        else None
    )
    background = BackgroundTasks()
    outbox = Outbox(bot, i18n, store, background)
    dispatcher = create_dispatcher(
        settings,
        redis=redis,
        store=store,
        i18n=i18n,
        alerts=alerts,
        n8n_client=n8n_client,
        background=background,
        outbox=outbox,
    )
    return BotApp(
        settings=settings,
        bot=bot,
        dispatcher=dispatcher,
        i18n=i18n,
        store=store,
        redis=redis,
        outbox=outbox,
        n8n=n8n_client,
        background=background,
        owns_database=owns_database,
    )


async def run(settings: Settings) -> None:
    """Run one replica until SIGTERM (docker stop, a rolling restart) or Ctrl+C."""
    app = build(settings)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stopping.set)
    try:
        await app.start()
        if settings.uses_webhook or stopping.is_set():
            await stopping.wait()  # the web app serves updates meanwhile
            return
        polling = asyncio.create_task(app.poll())
        stop_requested = asyncio.create_task(stopping.wait())
        await asyncio.wait({polling, stop_requested}, return_when=asyncio.FIRST_COMPLETED)
        stop_requested.cancel()
        if not polling.done():
            try:
                await app.dispatcher.stop_polling()
            except RuntimeError:  # stopped before polling began
                polling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await polling
    finally:
        await app.stop()
