"""Self-tests of the fake Telegram Bot API, driven by a real aiogram Bot over HTTP."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandStart
from aiogram.methods import SendMessage
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    LabeledPrice,
    MediaUnion,
    Message,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from PIL import Image

from .telegram import FakeTelegram

TOKEN = "123456:TEST-token"


def make_png(width: int = 64, height: int = 48) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=d)] for t, d in buttons]
    )


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN) as server:
        yield server


def make_bot(fake: FakeTelegram, token: str = TOKEN) -> Bot:
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url)))


@pytest_asyncio.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    instance = make_bot(fake)
    yield instance
    await instance.session.close()


@pytest.mark.asyncio
async def test_get_me_and_auth(fake: FakeTelegram, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456, True, "portrait_test_bot")

    wrong = make_bot(fake, "999:wrong")
    with pytest.raises(TelegramUnauthorizedError):
        await wrong.get_me()
    await wrong.session.close()

    async with aiohttp.ClientSession() as http:
        async with http.post(f"{fake.base_url}/bot{TOKEN}/noSuchMethod") as resp:
            assert resp.status == 404
            assert await resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        assert (fake.calls[-1].method, fake.calls[-1].status) == ("noSuchMethod", 404)
        fake.user(5)
        data = {"chat_id": "5", "text": "007"}
        async with http.post(f"{fake.base_url}/bot{TOKEN}/SENDMESSAGE", data=data) as resp:
            body = await resp.json()
    assert body["ok"] and body["result"]["text"] == "007"
    assert fake.calls[-1].method == "sendMessage"
    assert fake.calls[-1].params == {"chat_id": 5, "text": "007"}


@pytest.mark.asyncio
async def test_send_edit_and_not_modified(fake: FakeTelegram, bot: Bot) -> None:
    user = fake.user(42, first_name="Ann")
    sent = await bot.send_message(42, "Pick one", reply_markup=keyboard(("A", "a"), ("B", "b")))
    assert sent.chat.id == 42 and sent.from_user is not None and sent.from_user.id == 123456
    assert sent.reply_markup is not None
    event = await user.expect("sendMessage")
    assert event.text == "Pick one" and event.buttons == ["A", "B"]
    assert event.callback_data == ["a", "b"]

    markup = keyboard(("A", "a"))
    edited = await bot.edit_message_text(
        "Picked", chat_id=42, message_id=sent.message_id, reply_markup=markup
    )
    assert isinstance(edited, Message) and edited.text == "Picked"
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "Picked", chat_id=42, message_id=sent.message_id, reply_markup=markup
        )
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=42, message_id=999)
    await bot.edit_message_reply_markup(chat_id=42, message_id=sent.message_id)

    assert (await user.expect()).method == "editMessageText"
    assert (await user.expect()).method == "editMessageReplyMarkup"
    state = fake.messages(42)
    assert [m["text"] for m in state] == ["Picked"] and "reply_markup" not in state[0]

    second = await bot.send_message(42, "<b>Hi</b> &amp; you", parse_mode="HTML")
    assert second.text == "Hi & you" and second.message_id == sent.message_id + 1
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(42, "1 < 2", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(777, "who?")
    await bot.delete_message(42, second.message_id)
    assert (await user.expect("deleteMessage")).message_id == second.message_id
    assert len(fake.messages(42)) == 1


@pytest.mark.asyncio
async def test_photo_upload_get_file_download(fake: FakeTelegram, bot: Bot) -> None:
    user = fake.user(42)
    data = make_png(64, 48)
    message = await bot.send_photo(42, BufferedInputFile(data, "p.png"), caption="Yours")
    assert message.photo is not None and len(message.photo) >= 2
    assert (message.photo[-1].width, message.photo[-1].height) == (64, 48)
    assert message.photo[0].width < message.photo[-1].width
    assert message.caption == "Yours"
    event = await user.expect("sendPhoto")
    assert event.caption == "Yours" and event.media[0]["source"] == "upload"
    assert list(fake.calls[-1].files.values()) == [data]

    file = await bot.get_file(message.photo[-1].file_id)
    assert file.file_path
    downloaded = await bot.download(message.photo[-1].file_id)
    assert downloaded is not None and downloaded.read() == data

    again = await bot.send_photo(42, message.photo[-1].file_id)
    assert again.photo is not None and again.photo[-1].file_id == message.photo[-1].file_id
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await bot.send_photo(42, BufferedInputFile(b"not an image", "x.jpg"))
    with pytest.raises(TelegramBadRequest, match="invalid file_id"):
        await bot.get_file("nope")

    await user.send_document(b"x", file_name="big.png", mime_type="image/png", file_size=25 << 20)
    assert user.last_update is not None
    big_id = user.last_update["message"]["document"]["file_id"]
    with pytest.raises(TelegramBadRequest, match="file is too big"):
        await bot.get_file(big_id)


@pytest.mark.asyncio
async def test_media_group_urls_and_refused_url(fake: FakeTelegram, bot: Bot) -> None:
    user = fake.user(42)
    media: list[MediaUnion] = [
        InputMediaPhoto(media=f"https://cdn.example.com/{i}.jpg", caption="Set" if i == 0 else None)
        for i in range(3)
    ]
    messages = await bot.send_media_group(42, media=media)
    assert len(messages) == 3
    assert len({m.media_group_id for m in messages}) == 1 and messages[0].media_group_id
    assert messages[0].caption == "Set" and all(m.photo for m in messages)
    event = await user.expect("sendMediaGroup")
    assert event.message_ids == [m.message_id for m in messages]
    assert [m["url"] for m in event.media][1] == "https://cdn.example.com/1.jpg"

    fake.refuse_url("broken.example")
    media.append(InputMediaPhoto(media="https://broken.example/x.jpg"))
    with pytest.raises(TelegramBadRequest, match="wrong file identifier/HTTP URL specified"):
        await bot.send_media_group(42, media=media)
    with pytest.raises(TelegramBadRequest):
        await bot.send_media_group(42, media=media[:1])
    assert user.pending() == []


@pytest.mark.asyncio
async def test_fault_injection_and_block(fake: FakeTelegram, bot: Bot) -> None:
    user = fake.user(42)
    fake.user(43)
    fake.fail("sendMessage", retry_after=7)
    with pytest.raises(TelegramRetryAfter) as info:
        await bot.send_message(42, "hi")
    assert info.value.retry_after == 7
    await bot.send_message(42, "hi")  # only once

    fake.fail("sendMessage", status=500, chat_id=43, times=2)
    await bot.send_message(42, "other chat unaffected")
    for _ in range(2):
        with pytest.raises(TelegramServerError):
            await bot.send_message(43, "boom")
    await bot.send_message(43, "recovered")
    fake.fail("send_photo", status=403)  # any spelling of the method name
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_photo(42, "https://cdn.example.com/a.jpg")
    await fake.wait_until(lambda: len(fake.events(43)) == 1, timeout=1)

    await user.kick_bot()
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(42, "anyone?")
    with pytest.raises(TelegramForbiddenError):
        await bot.send_chat_action(42, "typing")
    failed = [c for c in fake.calls if c.status == 403]
    assert len(failed) == 3 and failed[-1].chat_id == 42
    await user.restore_bot()
    await bot.send_message(42, "welcome back")


@pytest.mark.asyncio
async def test_get_updates_long_poll(fake: FakeTelegram, bot: Bot) -> None:
    user = fake.user(42, username="ann")
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await fake.wait_call("getUpdates")
    assert await user.send_text("/start ref_1") is None
    updates = await asyncio.wait_for(poll, 2)
    assert len(updates) == 1 and updates[0].message is not None
    message = updates[0].message
    assert message.text == "/start ref_1" and message.from_user is not None
    assert message.entities is not None and message.entities[0].type == "bot_command"
    assert message.entities[0].length == len("/start")

    # offset confirms; timeout elapses with an empty list
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=1) == []
    assert 0.9 <= loop.time() - started < 3

    await user.kick_bot()
    await user.pre_checkout("pack_10", "XTR", 100)
    await user.successful_payment("pack_10", "XTR", 100, "charge-1")
    await user.send_photo(make_png(), caption="me")
    kinds = await bot.get_updates(offset=updates[0].update_id + 1)
    assert kinds[0].my_chat_member is not None
    assert kinds[0].my_chat_member.new_chat_member.status == "kicked"
    assert kinds[1].pre_checkout_query is not None
    assert kinds[2].message is not None and kinds[2].message.successful_payment is not None
    assert kinds[3].message is not None and kinds[3].message.photo is not None

    query_id = kinds[1].pre_checkout_query.id
    assert await bot.answer_pre_checkout_query(query_id, ok=True)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_pre_checkout_query(query_id, ok=True)
    assert (await user.expect()).method == "answerPreCheckoutQuery"
    assert await bot.refund_star_payment(42, "charge-1")
    assert fake.refunds == [(42, "charge-1")]


@pytest.mark.asyncio
async def test_commands_invoice_and_chat(fake: FakeTelegram, bot: Bot) -> None:
    user = fake.user(42, first_name="Ann")
    await bot.set_my_commands([BotCommand(command="start", description="Start")])
    scope = BotCommandScopeChat(chat_id=42)
    await bot.set_my_commands([BotCommand(command="admin", description="Admin")], scope=scope)
    assert [c.command for c in await bot.get_my_commands()] == ["start"]
    assert [c.command for c in await bot.get_my_commands(scope=scope)] == ["admin"]
    await bot.delete_my_commands(scope=scope)
    assert await bot.get_my_commands(scope=scope) == []

    invoice = await bot.send_invoice(
        42, title="10 credits", description="Pack", payload="pack_10", currency="XTR",
        prices=[LabeledPrice(label="10 credits", amount=100)],
    )  # fmt: skip
    assert invoice.invoice is not None and invoice.invoice.total_amount == 100
    assert (await user.expect("sendInvoice")).params["payload"] == "pack_10"
    chat = await bot.get_chat(42)
    assert chat.first_name == "Ann" and chat.type == "private"


@pytest.mark.asyncio
async def test_dispatcher_polling_end_to_end(fake: FakeTelegram, bot: Bot) -> None:
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer("Hello!", reply_markup=keyboard(("Next ▶", "next")))

    @router.callback_query(F.data == "next")
    async def next_page(callback: CallbackQuery) -> None:
        assert isinstance(callback.message, Message)
        await callback.message.edit_text("Page 2")
        await callback.answer("ok")

    dp = Dispatcher()
    dp.include_router(router)
    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False))
    try:
        user = fake.user(42)
        await user.send_text("/start")
        assert (await user.expect("sendMessage")).buttons == ["Next ▶"]
        await user.press_button("Next")
        assert (await user.expect()).text == "Page 2"
        assert (await user.expect()).method == "answerCallbackQuery"
        with pytest.raises(AssertionError, match="no inline button containing 'Missing'"):
            await user.press_button("Missing")
        with pytest.raises(AssertionError, match="unconsumed events"):
            await user.expect(timeout=0.2)
    finally:
        await dp.stop_polling()
        await polling


@pytest.mark.asyncio
async def test_webhook_delivery(fake: FakeTelegram, bot: Bot) -> None:
    received: list[dict[str, Any]] = []
    in_flight = [0, 0]  # current, maximum

    async def hook(request: web.Request) -> web.Response:
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != "s3cret":
            return web.Response(status=401, text="Unauthorized")
        received.append(await request.json())
        in_flight[0] += 1
        in_flight[1] = max(in_flight)
        await asyncio.sleep(0.05)  # let concurrent album posts overlap
        in_flight[0] -= 1
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        fake.delivery = "webhook"
        assert await bot.set_webhook(url, secret_token="s3cret", allowed_updates=["message"])
        info = await bot.get_webhook_info()
        assert info.url == url and info.pending_update_count == 0
        assert "s3cret" not in info.model_dump_json()
        with pytest.raises(TelegramConflictError):
            await bot.get_updates()

        user = fake.user(42)
        assert await user.send_text("hi") == 200
        assert received[-1]["message"]["text"] == "hi"
        assert await fake.post_webhook(received[-1], "wrong") == 401
        assert await fake.post_webhook(received[-1], None) == 401
        statuses = await user.send_album([make_png(), make_png(32, 32), make_png(10, 20)])
        assert statuses == [200, 200, 200]
        album = received[-3:]
        assert len({u["message"]["media_group_id"] for u in album}) == 1
        assert in_flight[1] == 3  # delivered concurrently
        assert await user.kick_bot() is None  # not in the webhook's allowed_updates
        assert len(received) == 4
    finally:
        await runner.cleanup()


@pytest.mark.asyncio
async def test_webhook_reply_method_is_executed(fake: FakeTelegram, bot: Bot) -> None:
    router = Router()

    @router.message()
    async def echo(message: Message) -> SendMessage:
        return message.answer(f"echo: {message.text}")

    dp = Dispatcher()
    dp.include_router(router)
    app = web.Application()
    SimpleRequestHandler(dp, bot, secret_token="abc", handle_in_background=False).register(
        app, path="/wh"
    )
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        fake.delivery = "webhook"
        await bot.set_webhook(f"http://127.0.0.1:{runner.addresses[0][1]}/wh", secret_token="abc")
        user = fake.user(42)
        assert await user.send_text("ping") == 200
        assert (await user.expect("sendMessage")).text == "echo: ping"
        assert await fake.post_webhook(dict(user.last_update or {}), "bad") == 401
    finally:
        await runner.cleanup()
