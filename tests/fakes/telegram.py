"""A fake Telegram Bot API server for end-to-end tests of the real aiogram bot.

The fake is a real HTTP server (aiohttp, 127.0.0.1, random port).  Point the bot at it::

    async with FakeTelegram(token=TOKEN) as fake:
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url)))
        user = fake.user(42, first_name="Ann")
        await user.send_text("/start")              # delivered via getUpdates or the webhook
        event = await user.expect("sendMessage")    # what the bot showed to the user
        await user.press_button("Buy")
        ...
        await bot.session.close()

Behaviour follows the real Bot API closely: error codes and descriptions, "message is not
modified", callback/pre-checkout query ids that can only be answered once, HTML parsing
errors, unknown chats and file ids (``strict=True``), 409 for competing getUpdates.
Text sent with a ``parse_mode`` is stored as the user sees it (markup stripped); the raw
value stays in ``Event.params``.  Entities are not generated.
"""

# The test-side API takes explicit ``timeout`` arguments (every wait is bounded).

from __future__ import annotations

import asyncio
import copy
import hashlib
import html
import io
import itertools
import json
import mimetypes
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from types import TracebackType
from typing import Any, Literal, TypeVar

import aiohttp
from aiohttp import web
from PIL import Image

JSON = dict[str, Any]
T = TypeVar("T")
Handler = Callable[[JSON, "Call"], Awaitable[Any]]

JSON_FIELDS = frozenset(
    {
        "reply_markup", "media", "entities", "caption_entities", "commands", "scope",
        "allowed_updates", "prices", "link_preview_options", "reply_parameters", "results",
        "message_ids", "suggested_tip_amounts", "menu_button", "rights", "reaction",
    }
)  # fmt: skip
INT_FIELDS = frozenset(
    {
        "chat_id", "message_id", "user_id", "offset", "limit", "timeout", "from_chat_id",
        "message_thread_id", "reply_to_message_id", "max_connections", "cache_time",
        "duration", "width", "height", "total_amount", "max_tip_amount", "subscription_period",
    }
)  # fmt: skip
BOOL_FIELDS = frozenset(
    {
        "disable_notification", "protect_content", "drop_pending_updates", "show_alert", "ok",
        "disable_web_page_preview", "allow_sending_without_reply", "has_spoiler",
        "is_flexible", "need_name", "need_email", "need_phone_number", "need_shipping_address",
        "send_email_to_provider", "send_phone_number_to_provider", "show_caption_above_media",
        "disable_content_type_detection", "supports_streaming", "allow_paid_broadcast",
    }
)  # fmt: skip
UPDATE_TYPES = (
    "message", "edited_message", "channel_post", "edited_channel_post", "callback_query",
    "inline_query", "chosen_inline_result", "shipping_query", "pre_checkout_query", "poll",
    "poll_answer", "my_chat_member", "chat_member", "chat_join_request", "message_reaction",
    "message_reaction_count", "business_message", "purchased_paid_media",
)  # fmt: skip
DEFAULT_ALLOWED = frozenset(UPDATE_TYPES) - {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}
MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024
MAX_PHOTO_SIZE = 10 * 1024 * 1024
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
BLOCKED = "Forbidden: bot was blocked by the user"
BAD_FILE = "Bad Request: wrong file identifier/HTTP URL specified"
TEXT_BUTTONS = "Bad Request: text buttons are unallowed in the inline keyboard"
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: injected failure",
    401: "Unauthorized",
    403: BLOCKED,
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
MEDIA_KINDS = {  # send method -> media kind (also the name of its file parameter)
    "sendPhoto": "photo",
    "sendDocument": "document",
    "sendVideo": "video",
    "sendAnimation": "animation",
    "sendAudio": "audio",
    "sendVoice": "voice",
    "sendSticker": "sticker",
}
FILE_ID_PREFIX = {"photo": "AgACAgIAAxkBAAI", "document": "BQACAgIAAxkBAAI"}


class ApiError(Exception):
    """An error answer of the Bot API (raised inside handlers)."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass
class Call:
    """One Bot API request made by the bot (successful or not)."""

    method: str
    params: JSON
    files: dict[str, bytes]
    chat_id: int | None
    time: float
    file_names: dict[str, str] = field(default_factory=dict)
    status: int | None = None  # HTTP status once answered; None while in flight (long poll)
    error: str | None = None
    result: Any = None


@dataclass
class Event:
    """A bot action addressed to a chat, as the user would perceive it."""

    method: str
    chat_id: int
    text: str | None = None
    caption: str | None = None
    reply_markup: JSON | None = None
    message_id: int | None = None
    message_ids: list[int] = field(default_factory=list)
    media: list[JSON] = field(default_factory=list)
    params: JSON = field(default_factory=dict)
    time: float = field(default_factory=time.time)

    @property
    def body(self) -> str:
        """What the user reads: the text, else the caption, else nothing."""
        return self.text if self.text is not None else (self.caption or "")

    @property
    def buttons(self) -> list[str]:
        """Texts of all keyboard buttons (inline or reply keyboard), row by row."""
        markup = self.reply_markup or {}
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        return [b if isinstance(b, str) else str(b.get("text", "")) for row in rows for b in row]

    @property
    def callback_data(self) -> list[str]:
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [str(b["callback_data"]) for row in rows for b in row if "callback_data" in b]

    def describe(self) -> str:
        ids = self.message_ids or ([self.message_id] if self.message_id is not None else [])
        body = self.text if self.text is not None else self.caption
        extra = f" buttons={self.buttons}" if self.buttons else ""
        media = f" media={[m.get('type') for m in self.media]}" if self.media else ""
        return f"{self.method}{ids}: {body!r}{media}{extra}"


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes | None
    file_size: int
    kind: str
    file_name: str | None = None
    mime_type: str | None = None
    url: str | None = None


@dataclass
class Webhook:
    url: str
    secret_token: str | None = None
    allowed_updates: list[str] | None = None
    drop_pending_updates: bool = False
    max_connections: int = 40
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class _Fault:
    method: str
    status: int
    description: str
    retry_after: int | None
    times: int
    chat_id: int | None


@dataclass
class _Input:
    source: Literal["upload", "url", "file_id"]
    data: bytes | None = None
    filename: str | None = None
    url: str | None = None
    stored: StoredFile | None = None


class _ParseError(Exception):
    pass


class _HtmlText(HTMLParser):
    TAGS = frozenset(
        {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
         "code", "pre", "blockquote", "tg-emoji", "tg-time"}
    )  # fmt: skip

    def __init__(self, raw: str) -> None:
        super().__init__(convert_charrefs=False)
        self.raw = raw
        self.out: list[str] = []
        self.stack: list[str] = []
        self.line_starts = [0]
        for line in raw.split("\n"):
            self.line_starts.append(self.line_starts[-1] + len(line) + 1)

    def fail(self, message: str) -> None:
        line, col = self.getpos()
        index = self.line_starts[line - 1] + col
        raise _ParseError(f"{message} at byte offset {len(self.raw[:index].encode())}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.TAGS:
            self.fail(f'Unsupported start tag "{tag}"')
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.fail(f'Unmatched end tag "{tag}"')
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data:
            self.fail('Unsupported start tag ""')
        self.out.append(data)

    def handle_entityref(self, name: str) -> None:
        self.out.append(html.unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        self.out.append(html.unescape(f"&#{name};"))

    def render(self) -> str:
        self.feed(self.raw)
        self.close()
        if self.stack:
            raise _ParseError(f'Can\'t find end tag corresponding to start tag "{self.stack[-1]}"')
        return "".join(self.out)


def _render_text(text: str, parse_mode: Any) -> str:
    """What the user sees. HTML is parsed (and validated); Markdown modes pass through."""
    if str(parse_mode or "").lower() != "html":
        return text
    try:
        return _HtmlText(text).render()
    except _ParseError as exc:
        raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from None


def _image_size(data: bytes | None) -> tuple[int, int] | None:
    if not data:
        return None
    try:
        with Image.open(io.BytesIO(data)) as image:
            return int(image.width), int(image.height)
    except Exception:
        return None


def _image_format(data: bytes) -> str:
    try:
        with Image.open(io.BytesIO(data)) as image:
            return (image.format or "jpeg").lower()
    except Exception:
        return "jpeg"


def _decode(key: str, value: str) -> Any:
    if key in JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            raise ApiError(400, f"Bad Request: can't parse {key} JSON object") from None
    if key in INT_FIELDS:
        try:
            return int(value)
        except ValueError:
            return value
    if key in BOOL_FIELDS:
        return value.strip().lower() in ("true", "1")
    return value


def _update_type(update: JSON) -> str:
    return next((k for k in update if k != "update_id"), "")


class FakeTelegram:
    """In-process fake of the Telegram Bot API (HTTP server on 127.0.0.1)."""

    def __init__(
        self,
        token: str = "123456:TEST-token",
        *,
        bot_username: str = "portrait_test_bot",
        bot_first_name: str = "Portrait Test Bot",
        delivery: Literal["polling", "webhook"] = "polling",
        strict: bool = True,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_user: JSON = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.delivery = delivery
        self.strict = strict  # unknown chats / file ids -> 400 like real Telegram
        self.calls: list[Call] = []
        self.updates: list[JSON] = []  # every update ever delivered
        self.webhook: Webhook | None = None
        self.refunds: list[tuple[int, str]] = []
        self.bot_settings: dict[str, JSON] = {}
        self._events: dict[int, list[Event]] = {}
        self._cursors: dict[int, int] = {}
        self._messages: dict[int, dict[int, JSON]] = {}
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._users: dict[int, FakeUser] = {}
        self._files: dict[str, StoredFile] = {}
        self._paths: dict[str, StoredFile] = {}
        self._photo_sets: dict[str, list[JSON]] = {}
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._faults: list[_Fault] = []
        self._blocked: set[int] = set()
        self._refused_urls: list[str] = []
        self._callback_chats: dict[str, int] = {}
        self._precheckout_chats: dict[str, int] = {}
        self._answered: set[str] = set()
        self._queue: list[JSON] = []
        self._poll_allowed: frozenset[str] = DEFAULT_ALLOWED
        self._poll_generation = 0
        self._updates_event = asyncio.Event()
        self._changed = asyncio.Event()
        self._closing = False
        self._update_ids = itertools.count(10_000)
        self._seq = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self.base_url = ""
        self._handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "editMessageCaption": self._edit_message_caption,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action,
            "sendMediaGroup": self._send_media_group,
            "getFile": self._get_file,
            "sendInvoice": self._send_invoice,
            "answerPreCheckoutQuery": self._answer_pre_checkout_query,
            "refundStarPayment": self._refund_star_payment,
            "getChat": self._get_chat,
        }
        for method, kind in MEDIA_KINDS.items():
            self._handlers[method] = self._media_sender(method, kind)
        for method in ("setMyDescription", "setMyShortDescription", "setMyName",
                       "setChatMenuButton", "setMyDefaultAdministratorRights"):  # fmt: skip
            self._handlers[method] = self._setting(method)

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))

    async def stop(self) -> None:
        self._closing = True
        self._updates_event.set()  # release pending long polls
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ configuration
    def user(
        self,
        user_id: int,
        *,
        first_name: str = "Test",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> FakeUser:
        """Create (or re-create with a new profile) a user who has a private chat with the bot."""
        user = FakeUser(self, user_id, first_name, last_name, username, language_code)
        self._users[user_id] = user
        self._cursors.setdefault(user_id, 0)
        return user

    def fail(
        self,
        method: str,
        *,
        status: int = 429,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (optionally to ``chat_id``) fail."""
        if status == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            description = (
                f"Too Many Requests: retry after {retry_after}"
                if status == 429
                else DEFAULT_DESCRIPTIONS.get(status, f"Error {status}")
            )
        name = self._canonical(method) or method
        self._faults.append(_Fault(name, status, description, retry_after, times, chat_id))

    def block(self, chat_id: int) -> None:
        """The user blocked the bot: every send/edit to the chat answers 403."""
        self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    def refuse_url(self, url_substring: str) -> None:
        """Photo/document URLs containing the substring cannot be fetched by "Telegram"."""
        self._refused_urls.append(url_substring)

    def on(self, method: str, handler: Handler) -> None:
        """Add or replace a method handler: ``async handler(params, call) -> result``."""
        self._handlers[method] = handler

    def register_file(
        self,
        data: bytes,
        *,
        kind: str = "document",
        file_name: str | None = None,
        mime_type: str | None = None,
        file_size: int | None = None,
    ) -> str:
        """Register bytes as a Telegram file (e.g. a file_id already stored in the DB)."""
        if kind == "photo":
            return str(self._photo_sizes(data, _image_size(data) or (0, 0))[-1]["file_id"])
        return self._store(data, kind, file_name=file_name, mime_type=mime_type,
                           file_size=file_size).file_id  # fmt: skip

    def file_bytes(self, file_id: str) -> bytes | None:
        stored = self._files.get(file_id)
        return stored.data if stored else None

    # ------------------------------------------------------------------ inspection
    def events(self, chat_id: int) -> list[Event]:
        return list(self._events.get(chat_id, []))

    def messages(self, chat_id: int, *, include_user: bool = False) -> list[JSON]:
        """Current state of the messages in the chat (after edits and deletions)."""
        msgs = sorted(self._messages.get(chat_id, {}).values(), key=lambda m: m["message_id"])
        return [copy.deepcopy(m) for m in msgs if include_user or m["from"]["id"] == self.bot_id]

    def commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        return list(self._commands.get(self._commands_key(scope, language_code), []))

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        await self._wait(
            lambda: True if predicate() else None,
            timeout,
            lambda: f"condition not met within {timeout}s",
        )

    async def wait_call(
        self,
        method: str,
        *,
        timeout: float = 5.0,
        predicate: Callable[[Call], bool] | None = None,
    ) -> Call:
        """Wait until a matching call exists (searching from the first call; not consuming)."""
        name = self._canonical(method) or method

        def find() -> Call | None:
            return next(
                (c for c in self.calls
                 if c.method == name and (predicate is None or predicate(c))),
                None,
            )  # fmt: skip

        def explain() -> str:
            seen = [f"{c.method}({c.status})" for c in self.calls[-30:]]
            return f"no {name} call within {timeout}s; last calls: {seen}"

        return await self._wait(find, timeout, explain)

    async def _wait(
        self, check: Callable[[], T | None], timeout: float, explain: Callable[[], str]
    ) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = check()
            if result is not None:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(explain())
            changed = self._changed
            try:  # woken by every call/event/delivery; re-checked at least every 50 ms
                async with asyncio.timeout(min(remaining, 0.05)):
                    await changed.wait()
            except TimeoutError:
                pass

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # ------------------------------------------------------------------ delivery
    def next_update_id(self) -> int:
        return next(self._update_ids)

    async def deliver(self, update: JSON) -> int | None:
        """Deliver an update the way Telegram would (queue for getUpdates, or POST to webhook).

        Returns the webhook's HTTP status, or None (polling mode / filtered out by
        allowed_updates).
        """
        update.setdefault("update_id", self.next_update_id())
        self.updates.append(update)
        if self.delivery == "webhook":
            if self.webhook is None:
                raise AssertionError("delivery='webhook' but the bot has not called setWebhook")
            allowed = frozenset(self.webhook.allowed_updates or DEFAULT_ALLOWED)
            if _update_type(update) not in allowed:
                return None
            return await self.post_webhook(update, self.webhook.secret_token)
        self._queue.append(update)
        self._updates_event.set()
        self._notify()
        return None

    async def post_webhook(self, update: JSON, secret: str | None) -> int:
        """POST an arbitrary update to the webhook with an arbitrary secret header."""
        if self.webhook is None or self._client is None:
            raise AssertionError("no webhook set (or the fake is not started)")
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        try:
            async with self._client.post(self.webhook.url, json=update, headers=headers) as resp:
                if 200 <= resp.status < 300:
                    await self._run_webhook_reply(resp)
                else:
                    await resp.read()
                    self.webhook.last_error_date = int(time.time())
                    self.webhook.last_error_message = (
                        f"Wrong response from the webhook: {resp.status} {resp.reason}"
                    )
                return resp.status
        except aiohttp.ClientError as exc:
            raise AssertionError(f"webhook POST to {self.webhook.url} failed: {exc!r}") from exc
        finally:
            self._notify()

    async def _run_webhook_reply(self, resp: aiohttp.ClientResponse) -> None:
        """Execute a method returned in the webhook response body, as Telegram does."""
        raw: JSON = {}
        files: dict[str, bytes] = {}
        names: dict[str, str] = {}
        if resp.content_type == "application/json":
            body = await resp.json()
            if isinstance(body, dict):
                raw = body
        elif resp.content_type.startswith("multipart/"):
            reader = aiohttp.MultipartReader(resp.headers, resp.content)
            while (part := await reader.next()) is not None:
                if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
                    continue
                if part.filename:
                    files[part.name] = bytes(await part.read(decode=False))
                    names[part.name] = part.filename
                else:
                    raw[part.name] = await part.text()
        else:
            await resp.read()
        method = self._canonical(str(raw.pop("method", "")), loose=False)
        if method is not None:
            params = {k: _decode(k, v) if isinstance(v, str) else v for k, v in raw.items()}
            await self._execute(method, params, files, names)

    # ------------------------------------------------------------------ HTTP layer
    def _canonical(self, method: str, *, loose: bool = True) -> str | None:
        """Canonical method name; case-insensitive like Telegram. ``loose`` (test-side API
        only) also accepts aiogram's snake_case spelling."""
        lowered = (method.replace("_", "") if loose else method).lower()
        return next((name for name in self._handlers if name.lower() == lowered), None)

    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").payload(), status=401)
        method = self._canonical(request.match_info["method"], loose=False)
        try:
            params, files, names = await self._parse(request)
        except ApiError as exc:
            return web.json_response(exc.payload(), status=exc.status)
        if method is None:  # recorded too, so a missing fake method is easy to spot
            name = request.match_info["method"]
            chat_id = params.get("chat_id") if isinstance(params.get("chat_id"), int) else None
            self.calls.append(
                Call(name, params, files, chat_id, time.time(), names, 404, "Not Found")
            )
            self._notify()
            return web.json_response(ApiError(404, "Not Found").payload(), status=404)
        status, payload = await self._execute(method, params, files, names)
        return web.json_response(payload, status=status)

    async def _parse(self, request: web.Request) -> tuple[JSON, dict[str, bytes], dict[str, str]]:
        raw: dict[str, Any] = dict(request.query)
        files: dict[str, bytes] = {}
        names: dict[str, str] = {}
        if request.content_type == "application/json":
            body = await request.json()
            raw.update(body if isinstance(body, dict) else {})
        elif request.can_read_body:
            try:
                form = await request.post()
            except web.HTTPRequestEntityTooLarge:
                raise ApiError(413, "Request Entity Too Large") from None
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = value.file.read()
                    names[key] = value.filename
                else:
                    raw[key] = value
        params = {k: _decode(k, v) if isinstance(v, str) else v for k, v in raw.items()}
        return params, files, names

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").payload(), status=401)
        stored = self._paths.get(request.match_info["path"])
        if stored is None or stored.data is None:
            return web.json_response(ApiError(404, "Not Found").payload(), status=404)
        return web.Response(body=stored.data, content_type="application/octet-stream")

    async def _execute(
        self, method: str, params: JSON, files: dict[str, bytes], names: dict[str, str]
    ) -> tuple[int, JSON]:
        call = Call(method, params, files, self._chat_of(method, params), time.time(), names)
        self.calls.append(call)
        self._notify()
        try:
            self._check_faults(call)
            result = await self._handlers[method](params, call)
        except ApiError as exc:
            call.status, call.error = exc.status, exc.description
            self._notify()
            return exc.status, exc.payload()
        call.status, call.result = 200, result
        self._notify()
        return 200, {"ok": True, "result": result}

    def _chat_of(self, method: str, params: JSON) -> int | None:
        if method == "answerCallbackQuery":
            return self._callback_chats.get(str(params.get("callback_query_id")))
        if method == "answerPreCheckoutQuery":
            return self._precheckout_chats.get(str(params.get("pre_checkout_query_id")))
        value = params.get("user_id" if method == "refundStarPayment" else "chat_id")
        return value if isinstance(value, int) else None

    def _check_faults(self, call: Call) -> None:
        for fault in self._faults:
            if (
                fault.times > 0
                and fault.method == call.method
                and (fault.chat_id is None or fault.chat_id == call.chat_id)
            ):
                fault.times -= 1
                raise ApiError(fault.status, fault.description, fault.retry_after)
        if call.chat_id in self._blocked and call.method.startswith(
            ("send", "edit", "copy", "forward")
        ):
            raise ApiError(403, BLOCKED)

    # ------------------------------------------------------------------ helpers
    def _record(self, event: Event) -> None:
        self._events.setdefault(event.chat_id, []).append(event)
        self._notify()

    def _chat(self, chat_id: int) -> JSON:
        if chat_id in self._users:
            return self._users[chat_id].chat
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "User"}
        return {"id": chat_id, "type": "supergroup", "title": "Group"}

    def _require_chat(self, params: JSON) -> int:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise ApiError(400, "Bad Request: chat_id is empty")
        if not isinstance(chat_id, int) or (self.strict and chat_id not in self._users):
            raise ApiError(400, "Bad Request: chat not found")
        return chat_id

    def _new_message(self, chat_id: int, sender: JSON, content: JSON) -> JSON:
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        message: JSON = {
            "message_id": next(counter),
            "from": sender,
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            **content,
        }
        self._messages.setdefault(chat_id, {})[message["message_id"]] = message
        return message

    def _bot_message(self, chat_id: int, content: JSON, params: JSON) -> JSON:
        reply = params.get("reply_parameters") or {}
        reply_id: Any = reply.get("message_id", params.get("reply_to_message_id"))
        if (target := self._messages.get(chat_id, {}).get(reply_id)) is not None:
            content["reply_to_message"] = copy.deepcopy(target)
            content["reply_to_message"].pop("reply_to_message", None)
        if (inline := self._inline_markup(params)) is not None:
            content["reply_markup"] = inline
        return copy.deepcopy(self._new_message(chat_id, self.bot_user, content))

    def _inline_markup(self, params: JSON) -> JSON | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        rows = markup.get("inline_keyboard")
        for button in (b for row in rows or [] for b in row):
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            url = button.get("url")
            if url is not None and not re.match(r"^(https?|tg)://\S+$", str(url)):
                raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
            if len(button) == 1:
                raise ApiError(400, TEXT_BUTTONS)
        return copy.deepcopy(markup) if rows else None

    def _text(self, params: JSON, key: str, limit: int) -> str | None:
        raw = params.get(key)
        if raw is None:
            return None
        text = _render_text(str(raw), params.get("parse_mode")).strip()
        if len(text) > limit:
            what = "message caption" if key == "caption" else "message"
            raise ApiError(400, f"Bad Request: {what} is too long")
        return text or None

    def _message_text(self, params: JSON) -> str:
        text = self._text(params, "text", 4096)
        if not text:
            raise ApiError(400, "Bad Request: message text is empty")
        return text

    def _target(self, params: JSON, verb: str = "edit") -> tuple[int, JSON]:
        chat_id = self._require_chat(params)
        message_id: Any = params.get("message_id")
        message = self._messages.get(chat_id, {}).get(message_id)
        if message is None:
            raise ApiError(400, f"Bad Request: message to {verb} not found")
        if verb == "edit" and message["from"]["id"] != self.bot_id:
            raise ApiError(400, "Bad Request: message can't be edited")
        return chat_id, message

    def _edited(self, method: str, chat_id: int, message: JSON, params: JSON) -> JSON:
        message["edit_date"] = int(time.time())
        self._record(
            Event(method, chat_id, text=message.get("text"), caption=message.get("caption"),
                  reply_markup=params.get("reply_markup"), message_id=message["message_id"],
                  media=self._media_of(message), params=params)
        )  # fmt: skip
        return copy.deepcopy(message)

    @staticmethod
    def _media_of(message: JSON) -> list[JSON]:
        for kind in ("photo", *[k for k in MEDIA_KINDS.values() if k != "photo"]):
            if kind in message:
                obj = message[kind][-1] if kind == "photo" else message[kind]
                return [{"type": kind, "file_id": obj["file_id"]}]
        return []

    def _store(
        self,
        data: bytes | None,
        kind: str,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        file_size: int | None = None,
        url: str | None = None,
    ) -> StoredFile:
        n = next(self._seq)
        token = secrets.token_urlsafe(16)
        ext = (mimetypes.guess_extension(mime_type or "") or ".jpg") if kind == "photo" else ""
        if file_name and "." in file_name:
            ext = "." + file_name.rsplit(".", 1)[1]
        stored = StoredFile(
            file_id=f"{FILE_ID_PREFIX.get(kind, 'CAACAgIAAxkBAAI')}{n}{token}",
            # Like Telegram, the same content (a photo sent twice) keeps its file_unique_id.
            file_unique_id=(
                f"AQAD{hashlib.sha256(data).hexdigest()[:16]}{kind}"
                if data is not None
                else f"AQAD{n}{token[:8]}"
            ),
            file_path=f"{kind}s/file_{n}{ext}",
            data=data,
            file_size=file_size if file_size is not None else len(data or b""),
            kind=kind,
            file_name=file_name,
            mime_type=mime_type or (mimetypes.guess_type(file_name or "")[0]),
            url=url,
        )
        self._files[stored.file_id] = stored
        self._paths[stored.file_path] = stored
        return stored

    def _photo_sizes(
        self, data: bytes | None, dims: tuple[int, int], url: str | None = None
    ) -> list[JSON]:
        width, height = dims
        side = max(width, height)
        targets = [(round(width * s / side), round(height * s / side)) for s in (90, 320, 800)
                   if s < side]  # fmt: skip
        if not targets and side >= 2:  # tiny image: still at least two increasing sizes
            targets.append((max(1, width // 2), max(1, height // 2)))
        targets.append((width, height))
        if len(targets) < 2:
            targets.insert(0, (width, height))
        sizes: list[JSON] = []
        for w, h in targets:
            stored = self._store(data, "photo", url=url)
            sizes.append({"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                          "file_size": stored.file_size, "width": w, "height": h})  # fmt: skip
        for size in sizes:
            self._photo_sets[size["file_id"]] = sizes
        return sizes

    def _input(self, value: Any, name: str, call: Call) -> _Input:
        if value is None and name in call.files:
            return _Input("upload", call.files[name], call.file_names.get(name))
        if not isinstance(value, str) or not value:
            raise ApiError(400, f"Bad Request: there is no {name} in the request")
        if value.startswith("attach://"):
            key = value.removeprefix("attach://")
            if key not in call.files:
                raise ApiError(400, BAD_FILE)
            return _Input("upload", call.files[key], call.file_names.get(key))
        if value.startswith(("http://", "https://")):
            if any(part in value for part in self._refused_urls):
                raise ApiError(400, BAD_FILE)
            return _Input("url", url=value, filename=value.rsplit("/", 1)[-1].split("?")[0])
        stored = self._files.get(value)
        if stored is None:
            if self.strict:
                raise ApiError(400, BAD_FILE)
            stored = StoredFile(value, f"AQAD{next(self._seq)}", f"files/{value}", None, 0, name)
            self._files[value] = stored
        return _Input("file_id", stored=stored)

    def _media_object(self, kind: str, inp: _Input, params: JSON) -> tuple[Any, JSON]:
        """Build the Message field value for a media input plus an Event.media descriptor."""
        descriptor: JSON = {"type": kind, "source": inp.source}
        if inp.url:
            descriptor["url"] = inp.url
        if inp.data is not None:
            descriptor["size"] = len(inp.data)
        if kind == "photo":
            if inp.stored is not None:
                sizes = self._photo_sets.get(inp.stored.file_id) or self._photo_sizes(
                    inp.stored.data, _image_size(inp.stored.data) or (0, 0)
                )
            elif inp.source == "upload":
                dims = _image_size(inp.data)
                if dims is None:
                    raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
                if len(inp.data or b"") > MAX_PHOTO_SIZE:
                    raise ApiError(400, "Bad Request: PHOTO_SAVE_FILE_INVALID")
                if sum(dims) > 10000 or max(dims) > 20 * max(min(dims), 1):
                    raise ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
                sizes = self._photo_sizes(inp.data, dims)
            else:
                sizes = self._photo_sizes(None, (800, 800), url=inp.url)
            descriptor["file_id"] = sizes[-1]["file_id"]
            return copy.deepcopy(sizes), descriptor
        stored = inp.stored or self._store(
            inp.data, kind, file_name=inp.filename, url=inp.url,
            mime_type=mimetypes.guess_type(inp.filename or "")[0],
        )  # fmt: skip
        obj: JSON = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                     "file_size": stored.file_size}  # fmt: skip
        if kind in ("document", "video", "animation", "audio"):
            obj["file_name"] = stored.file_name or inp.filename or "file"
            obj["mime_type"] = stored.mime_type or "application/octet-stream"
        if kind in ("video", "animation", "audio", "voice"):
            obj["duration"] = params.get("duration") or 1
        if kind in ("video", "animation"):
            obj["width"], obj["height"] = params.get("width") or 640, params.get("height") or 360
        if kind == "sticker":
            obj.update(type="regular", width=512, height=512, is_animated=False, is_video=False)
        descriptor["file_id"] = stored.file_id
        return obj, descriptor

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> tuple[str, str]:
        scope = scope if isinstance(scope, dict) else {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(language_code or "")

    def _answer_query(self, query_id: Any, chats: dict[str, int]) -> int:
        key = str(query_id)
        if key not in chats or key in self._answered:
            raise ApiError(400, QUERY_TOO_OLD)
        self._answered.add(key)
        return chats[key]

    # ------------------------------------------------------------------ method handlers
    async def _get_me(self, p: JSON, call: Call) -> JSON:
        return {**self.bot_user, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}  # fmt: skip

    async def _get_updates(self, p: JSON, call: Call) -> list[JSON]:
        if self.webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")  # fmt: skip
        if p.get("allowed_updates") is not None:
            self._poll_allowed = frozenset(p["allowed_updates"] or DEFAULT_ALLOWED)
        offset, limit = p.get("offset"), max(1, min(int(p.get("limit") or 100), 100))
        self._poll_generation += 1
        generation = self._poll_generation
        self._updates_event.set()  # a newer getUpdates terminates the older one (409)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(p.get("timeout") or 0)
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, DEFAULT_DESCRIPTIONS[409])
            if isinstance(offset, int) and offset > 0:
                self._queue = [u for u in self._queue if u["update_id"] >= offset]
            elif isinstance(offset, int) and offset < 0:
                self._queue = self._queue[offset:]
            self._queue = [u for u in self._queue if _update_type(u) in self._poll_allowed]
            remaining = deadline - loop.time()
            if self._queue or self._closing or remaining <= 0:
                return copy.deepcopy(self._queue[:limit])
            self._updates_event.clear()
            try:
                async with asyncio.timeout(remaining):
                    await self._updates_event.wait()
            except TimeoutError:
                pass

    async def _set_webhook(self, p: JSON, call: Call) -> bool:
        url = str(p.get("url") or "")
        secret = p.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if p.get("drop_pending_updates"):
            self._queue.clear()
        self.webhook = Webhook(
            url, secret, p.get("allowed_updates"), bool(p.get("drop_pending_updates")),
            int(p.get("max_connections") or 40),
        ) if url else None  # fmt: skip
        return True

    async def _delete_webhook(self, p: JSON, call: Call) -> bool:
        self.webhook = None
        if p.get("drop_pending_updates"):
            self._queue.clear()
        return True

    async def _get_webhook_info(self, p: JSON, call: Call) -> JSON:
        hook = self.webhook
        info: JSON = {"url": hook.url if hook else "", "has_custom_certificate": False,
                      "pending_update_count": len(self._queue)}  # fmt: skip
        if hook is not None:
            info["max_connections"] = hook.max_connections
            info["ip_address"] = "127.0.0.1"
            if hook.allowed_updates:
                info["allowed_updates"] = hook.allowed_updates
            if hook.last_error_date:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        return info

    async def _set_my_commands(self, p: JSON, call: Call) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[self._commands_key(p.get("scope"), p.get("language_code"))] = commands
        return True

    async def _get_my_commands(self, p: JSON, call: Call) -> list[JSON]:
        return self.commands(p.get("scope"), str(p.get("language_code") or ""))

    async def _delete_my_commands(self, p: JSON, call: Call) -> bool:
        self._commands.pop(self._commands_key(p.get("scope"), p.get("language_code")), None)
        return True

    async def _send_message(self, p: JSON, call: Call) -> JSON:
        chat_id = self._require_chat(p)
        text = self._message_text(p)
        message = self._bot_message(chat_id, {"text": text}, p)
        self._record(Event("sendMessage", chat_id, text=text, reply_markup=p.get("reply_markup"),
                           message_id=message["message_id"], params=p))  # fmt: skip
        return message

    async def _edit_message_text(self, p: JSON, call: Call) -> JSON | bool:
        if p.get("inline_message_id"):
            return True
        chat_id, message = self._target(p)
        text, markup = self._message_text(p), self._inline_markup(p)
        if "text" not in message:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        if text == message["text"] and markup == message.get("reply_markup"):
            raise ApiError(400, NOT_MODIFIED)
        message["text"] = text
        self._set_markup(message, markup)
        return self._edited("editMessageText", chat_id, message, p)

    @staticmethod
    def _set_markup(message: JSON, markup: JSON | None) -> None:
        if markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup

    async def _edit_message_reply_markup(self, p: JSON, call: Call) -> JSON | bool:
        if p.get("inline_message_id"):
            return True
        chat_id, message = self._target(p)
        markup = self._inline_markup(p)
        if markup == message.get("reply_markup"):
            raise ApiError(400, NOT_MODIFIED)
        self._set_markup(message, markup)
        return self._edited("editMessageReplyMarkup", chat_id, message, p)

    async def _edit_message_caption(self, p: JSON, call: Call) -> JSON | bool:
        if p.get("inline_message_id"):
            return True
        chat_id, message = self._target(p)
        caption, markup = self._text(p, "caption", 1024), self._inline_markup(p)
        if not self._media_of(message):
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        if caption == message.get("caption") and markup == message.get("reply_markup"):
            raise ApiError(400, NOT_MODIFIED)
        if caption is None:
            message.pop("caption", None)
        else:
            message["caption"] = caption
        self._set_markup(message, markup)
        return self._edited("editMessageCaption", chat_id, message, p)

    async def _delete_message(self, p: JSON, call: Call) -> bool:
        chat_id, message = self._target(p, verb="delete")
        del self._messages[chat_id][message["message_id"]]
        self._record(Event("deleteMessage", chat_id, message_id=message["message_id"], params=p))
        return True

    async def _answer_callback_query(self, p: JSON, call: Call) -> bool:
        chat_id = self._answer_query(p.get("callback_query_id"), self._callback_chats)
        self._record(Event("answerCallbackQuery", chat_id, text=p.get("text"), params=p))
        return True

    async def _send_chat_action(self, p: JSON, call: Call) -> bool:
        self._require_chat(p)
        return True

    def _media_sender(self, method: str, kind: str) -> Handler:
        async def send(p: JSON, call: Call) -> JSON:
            chat_id = self._require_chat(p)
            caption = self._text(p, "caption", 1024)
            self._inline_markup(p)
            obj, descriptor = self._media_object(kind, self._input(p.get(kind), kind, call), p)
            content: JSON = {kind: obj}
            if caption and kind != "sticker":
                content["caption"] = descriptor["caption"] = caption
            message = self._bot_message(chat_id, content, p)
            self._record(Event(method, chat_id, caption=content.get("caption"), params=p,
                               reply_markup=p.get("reply_markup"), media=[descriptor],
                               message_id=message["message_id"]))  # fmt: skip
            return message

        return send

    async def _send_media_group(self, p: JSON, call: Call) -> list[JSON]:
        chat_id = self._require_chat(p)
        items = p.get("media")
        if not isinstance(items, list) or not 2 <= len(items) <= 10:
            raise ApiError(400, "Bad Request: wrong number of media items: must include 2-10 items")
        kinds = {str(item.get("type")) for item in items}
        for exclusive in ("document", "audio"):
            if exclusive in kinds and len(kinds) > 1:
                raise ApiError(400, f"Bad Request: {exclusive} can't be mixed with other types")
        built = []
        for item in items:
            caption = self._text(item, "caption", 1024)
            kind = str(item.get("type"))
            inp = self._input(item.get("media"), "media", call)
            obj, descriptor = self._media_object(kind, inp, item)
            if caption:
                descriptor["caption"] = caption
            built.append((kind, obj, caption, descriptor))
        group_id = str(next(self._seq) * 1_000_003 + 13_000_000_000_000_000)
        messages = []
        for kind, obj, caption, _ in built:
            content: JSON = {"media_group_id": group_id, kind: obj}
            if caption:
                content["caption"] = caption
            messages.append(self._bot_message(chat_id, content, {**p, "reply_markup": None}))
        self._record(Event("sendMediaGroup", chat_id, caption=built[0][2], params=p,
                           message_id=messages[0]["message_id"],
                           message_ids=[m["message_id"] for m in messages],
                           media=[b[3] for b in built]))  # fmt: skip
        return messages

    async def _get_file(self, p: JSON, call: Call) -> JSON:
        stored = self._files.get(str(p.get("file_id") or ""))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if stored.file_size > MAX_DOWNLOAD_SIZE:
            raise ApiError(400, "Bad Request: file is too big")
        return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                "file_size": stored.file_size, "file_path": stored.file_path}  # fmt: skip

    async def _send_invoice(self, p: JSON, call: Call) -> JSON:
        chat_id = self._require_chat(p)
        prices = p.get("prices")
        if not isinstance(prices, list) or not prices:
            raise ApiError(400, "Bad Request: can't parse prices JSON object")
        if p.get("currency") == "XTR" and len(prices) != 1:
            raise ApiError(400, "Bad Request: STARS_INVOICE_INVALID")
        invoice = {"title": p.get("title", ""), "description": p.get("description", ""),
                   "start_parameter": p.get("start_parameter", ""), "currency": p.get("currency"),
                   "total_amount": sum(int(x.get("amount", 0)) for x in prices)}  # fmt: skip
        message = self._bot_message(chat_id, {"invoice": invoice}, p)
        self._record(Event("sendInvoice", chat_id, text=str(invoice["title"]), params=p,
                           reply_markup=p.get("reply_markup"),
                           message_id=message["message_id"]))  # fmt: skip
        return message

    async def _answer_pre_checkout_query(self, p: JSON, call: Call) -> bool:
        chat_id = self._answer_query(p.get("pre_checkout_query_id"), self._precheckout_chats)
        self._record(Event("answerPreCheckoutQuery", chat_id, text=p.get("error_message"),
                           params=p))  # fmt: skip
        return True

    async def _refund_star_payment(self, p: JSON, call: Call) -> bool:
        key = (int(p.get("user_id") or 0), str(p.get("telegram_payment_charge_id") or ""))
        if key in self.refunds:
            raise ApiError(400, "Bad Request: CHARGE_ALREADY_REFUNDED")
        self.refunds.append(key)
        return True

    async def _get_chat(self, p: JSON, call: Call) -> JSON:
        chat_id = self._require_chat(p)
        gifts = dict.fromkeys(("unlimited_gifts", "limited_gifts", "unique_gifts",
                               "premium_subscription", "gifts_from_channels"), False)  # fmt: skip
        return {**self._chat(chat_id), "accent_color_id": 0, "max_reaction_count": 11,
                "accepted_gift_types": gifts}  # fmt: skip

    def _setting(self, method: str) -> Handler:
        async def store(p: JSON, call: Call) -> bool:
            self.bot_settings[method] = p
            return True

        return store


class FakeUser:
    """A Telegram user chatting privately with the bot; builds and delivers updates."""

    def __init__(
        self,
        fake: FakeTelegram,
        user_id: int,
        first_name: str,
        last_name: str | None,
        username: str | None,
        language_code: str | None,
    ) -> None:
        self.fake = fake
        self.id = user_id
        self.user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        self.chat: JSON = {"id": user_id, "type": "private", "first_name": first_name}
        for key, value in (("last_name", last_name), ("username", username)):
            if value is not None:
                self.user[key] = self.chat[key] = value
        if language_code is not None:
            self.user["language_code"] = language_code
        self.chat_instance = str(-(abs(user_id) * 7919 + 4_000_000_000_000_000_000))
        self.last_update: JSON | None = None

    # ------------------------------------------------------------------ update builders
    def _message(self, content: JSON) -> JSON:
        return copy.deepcopy(self.fake._new_message(self.id, self.user, content))

    async def _send(self, payload: JSON) -> int | None:
        update = {"update_id": self.fake.next_update_id(), **payload}
        self.last_update = update
        return await self.fake.deliver(update)

    async def send_text(self, text: str) -> int | None:
        content: JSON = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            length = len(command.encode("utf-16-le")) // 2
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return await self._send({"message": self._message(content)})

    async def press(self, callback_data: str, *, message_id: int | None = None) -> int | None:
        """Press an inline button (by its callback_data) on a bot message."""
        messages = self.fake.messages(self.id)
        if message_id is not None:
            message = next((m for m in messages if m["message_id"] == message_id), None)
        else:
            message = next((m for m in reversed(messages) if m.get("reply_markup")), None)
        if message is None:
            raise AssertionError(
                f"no bot message {message_id or 'with an inline keyboard'} in chat {self.id}; "
                f"events: {[e.describe() for e in self.fake.events(self.id)]}"
            )
        query_id = str(next(self.fake._seq) * 7_777_777 + 1_000_000_000_000)
        self.fake._callback_chats[query_id] = self.id
        return await self._send({"callback_query": {
            "id": query_id, "from": self.user, "message": message,
            "chat_instance": self.chat_instance, "data": callback_data,
        }})  # fmt: skip

    async def press_button(self, text_substring: str) -> int | None:
        """Press the newest inline button whose text contains ``text_substring``."""
        visible: list[str] = []
        for message in reversed(self.fake.messages(self.id)):
            rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
            for button in (b for row in rows for b in row):
                visible.append(f"#{message['message_id']} {button.get('text')!r}")
                if text_substring in str(button.get("text", "")):
                    if "callback_data" not in button:
                        raise AssertionError(f"button {button} has no callback_data")
                    return await self.press(
                        str(button["callback_data"]), message_id=message["message_id"]
                    )
        raise AssertionError(f"no inline button containing {text_substring!r}; visible: {visible}")

    def _photo_payload(self, image: bytes, media_group_id: str | None, caption: str | None) -> JSON:
        sizes = self.fake._photo_sizes(image, _image_size(image) or (0, 0))
        content: JSON = {"photo": sizes}
        if media_group_id is not None:
            content["media_group_id"] = media_group_id
        if caption is not None:
            content["caption"] = caption
        return {"message": self._message(content)}

    def _document_payload(
        self,
        data: bytes,
        file_name: str,
        mime_type: str,
        media_group_id: str | None,
        file_size: int | None,
    ) -> JSON:
        stored = self.fake._store(data, "document", file_name=file_name, mime_type=mime_type,
                                  file_size=file_size)  # fmt: skip
        document = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                    "file_name": file_name, "mime_type": mime_type,
                    "file_size": stored.file_size}  # fmt: skip
        content: JSON = {"document": document}
        if media_group_id is not None:
            content["media_group_id"] = media_group_id
        return {"message": self._message(content)}

    async def send_photo(
        self, image_bytes: bytes, *, media_group_id: str | None = None, caption: str | None = None
    ) -> int | None:
        return await self._send(self._photo_payload(image_bytes, media_group_id, caption))

    async def send_document(
        self,
        data: bytes,
        *,
        file_name: str,
        mime_type: str,
        media_group_id: str | None = None,
        file_size: int | None = None,
    ) -> int | None:
        payload = self._document_payload(data, file_name, mime_type, media_group_id, file_size)
        return await self._send(payload)

    async def send_album(
        self, items: Sequence[bytes], *, as_documents: bool = False
    ) -> list[int | None]:
        """Send items as one album (separate updates sharing a media_group_id).

        In webhook mode they are POSTed concurrently, as Telegram hits replicas at once.
        """
        group_id = str(13_000_000_000_000_000 + next(self.fake._seq))
        payloads = []
        for index, data in enumerate(items):
            if as_documents:
                fmt = _image_format(data)
                payloads.append(self._document_payload(
                    data, f"photo_{index + 1}.{fmt.replace('jpeg', 'jpg')}", f"image/{fmt}",
                    group_id, None))  # fmt: skip
            else:
                payloads.append(self._photo_payload(data, group_id, None))
        if self.fake.delivery == "webhook":
            return list(await asyncio.gather(*(self._send(p) for p in payloads)))
        return [await self._send(p) for p in payloads]

    async def send_sticker(self) -> int | None:
        stored = self.fake._store(b"RIFF-fake-webp", "sticker")
        sticker = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                   "type": "regular", "width": 512, "height": 512, "is_animated": False,
                   "is_video": False, "emoji": "\U0001f600"}  # fmt: skip
        return await self._send({"message": self._message({"sticker": sticker})})

    async def send_video(self) -> int | None:
        stored = self.fake._store(b"\x00\x00\x00\x18ftypmp42", "video", mime_type="video/mp4")
        video = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                 "width": 640, "height": 360, "duration": 3, "mime_type": "video/mp4",
                 "file_size": stored.file_size}  # fmt: skip
        return await self._send({"message": self._message({"video": video})})

    def _member_update(self, old: str, new: str) -> JSON:
        def member(status: str) -> JSON:
            body: JSON = {"status": status, "user": self.fake.bot_user}
            if status == "kicked":
                body["until_date"] = 0
            return body

        return {"my_chat_member": {"chat": self.chat, "from": self.user, "date": int(time.time()),
                                   "old_chat_member": member(old),
                                   "new_chat_member": member(new)}}  # fmt: skip

    async def kick_bot(self) -> int | None:
        """The user blocks the bot (my_chat_member -> kicked); later sends answer 403."""
        self.fake.block(self.id)
        return await self._send(self._member_update("member", "kicked"))

    async def restore_bot(self) -> int | None:
        self.fake.unblock(self.id)
        return await self._send(self._member_update("kicked", "member"))

    async def pre_checkout(
        self, payload: str, currency: str, total_amount: int, query_id: str | None = None
    ) -> int | None:
        query_id = query_id or str(next(self.fake._seq) * 3_333_331 + 2_000_000_000_000)
        self.fake._precheckout_chats[query_id] = self.id
        return await self._send({"pre_checkout_query": {
            "id": query_id, "from": self.user, "currency": currency,
            "total_amount": total_amount, "invoice_payload": payload,
        }})  # fmt: skip

    async def successful_payment(
        self, payload: str, currency: str, total_amount: int, charge_id: str
    ) -> int | None:
        payment = {"currency": currency, "total_amount": total_amount, "invoice_payload": payload,
                   "telegram_payment_charge_id": charge_id,
                   "provider_payment_charge_id": ""}  # fmt: skip
        return await self._send({"message": self._message({"successful_payment": payment})})

    # ------------------------------------------------------------------ expectations
    def pending(self) -> list[Event]:
        """Events addressed to this chat that no ``expect`` has consumed yet."""
        return self.fake.events(self.id)[self.fake._cursors.get(self.id, 0) :]

    async def expect(self, method: str | None = None, *, timeout: float = 5.0) -> Event:
        """Next unconsumed event; with ``method``, the next event of that method (others
        in between are discarded)."""
        name = (self.fake._canonical(method) or method) if method else None

        def take() -> Event | None:
            events = self.fake.events(self.id)
            for index in range(self.fake._cursors.get(self.id, 0), len(events)):
                if name is None or events[index].method == name:
                    self.fake._cursors[self.id] = index + 1
                    return events[index]
            return None

        def explain() -> str:
            failed = [f"{c.method} -> {c.status} {c.error}" for c in self.fake.calls
                      if c.chat_id == self.id and c.error]  # fmt: skip
            return (
                f"expected {name or 'any event'} for chat {self.id} within {timeout}s; "
                f"unconsumed events: {[e.describe() for e in self.pending()]}; "
                f"all events: {[e.describe() for e in self.fake.events(self.id)]}; "
                f"failed calls to this chat: {failed}"
            )

        return await self.fake._wait(take, timeout, explain)
