"""First contact, the main menu, /help, /cancel, fallback, language."""

from __future__ import annotations

from aiogram.fsm.storage.base import StorageKey

from bot.models import CreditEntry, LedgerReason, User
from bot.states import TrainModel
from tests.conftest import StartBot
from tests.fakes.telegram import FakeTelegram
from tests.helpers import button_texts, expect_text

MENU = ["Train a model", "Generate", "My models", "Credits", "Language", "Help"]


async def test_start_registers_a_new_user_and_shows_the_menu(
    start_bot: StartBot, tg: FakeTelegram
) -> None:
    await start_bot(start_credits=30)
    anna = tg.user(1001, first_name="Anna", last_name="K", username="anna_k")
    await anna.send_text("/start")
    reply = await anna.expect("sendMessage")
    assert "Hi, Anna!" in reply.body
    assert "Your balance: 30 credits." in reply.body
    buttons = button_texts(reply)
    for label in MENU:
        assert any(label in button for button in buttons), (label, buttons)

    user = await User.get(telegram_id=1001)
    assert (user.first_name, user.last_name, user.username) == ("Anna", "K", "anna_k")
    assert user.credits == 30
    welcome = await CreditEntry.filter(user_id=1001)
    assert [(entry.reason, entry.delta, entry.reference) for entry in welcome] == [
        (LedgerReason.WELCOME, 30, "1001")
    ]


async def test_returning_user_is_welcomed_back_and_names_are_updated(
    start_bot: StartBot, tg: FakeTelegram
) -> None:
    await start_bot(start_credits=30)
    await tg.user(1002, first_name="Boris").send_text("/start")
    await tg.user(1002, first_name="Boris").expect("sendMessage")

    renamed = tg.user(1002, first_name="Borya", username="borya")
    await renamed.send_text("/start")
    reply = await renamed.expect("sendMessage")
    assert "Welcome back, Borya!" in reply.body
    user = await User.get(telegram_id=1002)
    assert (user.first_name, user.username, user.credits) == ("Borya", "borya", 30)
    assert await CreditEntry.filter(user_id=1002).count() == 1  # the bonus is given once


async def test_names_are_escaped_in_html(start_bot: StartBot, tg: FakeTelegram) -> None:
    await start_bot()
    tricky = tg.user(1003, first_name="<b>x</b> & co")
    await tricky.send_text("/start")
    reply = await tricky.expect("sendMessage")
    assert "Hi, <b>x</b> & co!" in reply.body  # shown literally, not as bold


async def test_russian_user_gets_russian_text(start_bot: StartBot, tg: FakeTelegram) -> None:
    await start_bot()
    ivan = tg.user(1004, first_name="Иван", language_code="ru")
    await ivan.send_text("/start")
    reply = await ivan.expect("sendMessage")
    assert "Привет, Иван!" in reply.body
    assert any("Обучить модель" in button for button in button_texts(reply))


async def test_unknown_language_falls_back_to_english(
    start_bot: StartBot, tg: FakeTelegram
) -> None:
    await start_bot()
    pedro = tg.user(1005, first_name="Pedro", language_code="pt-br")
    await pedro.send_text("/start")
    assert "Hi, Pedro!" in (await pedro.expect("sendMessage")).body


async def test_help_lists_every_user_command(start_bot: StartBot, tg: FakeTelegram) -> None:
    await start_bot()
    user = tg.user(1006)
    await user.send_text("/help")
    reply = await user.expect("sendMessage")
    for command in ("/start", "/train", "/generate", "/models", "/credits", "/language", "/cancel"):
        assert command in reply.body


async def test_menu_buttons_answer(start_bot: StartBot, tg: FakeTelegram) -> None:
    await start_bot(start_credits=5)
    user = tg.user(1007)
    await user.send_text("/start")
    await user.expect("sendMessage")
    await user.press_button("Credits")
    assert (await user.expect("answerCallbackQuery")) is not None
    assert "Your balance: 5 credits." in (await user.expect("sendMessage")).body
    await user.press_button("My models")
    assert "no models yet" in (await user.expect("sendMessage")).body
    await user.press_button("Help")
    assert "/generate" in (await user.expect("sendMessage")).body


async def test_cancel_outside_a_wizard(start_bot: StartBot, tg: FakeTelegram) -> None:
    await start_bot()
    user = tg.user(1008)
    await user.send_text("/cancel")
    assert "nothing to cancel" in (await user.expect("sendMessage")).body


async def test_cancel_inside_a_wizard_clears_it(start_bot: StartBot, tg: FakeTelegram) -> None:
    app = await start_bot()
    user = tg.user(1009)
    key = StorageKey(bot_id=app.bot.id, chat_id=1009, user_id=1009)
    await app.dispatcher.storage.set_state(key, TrainModel.photos)
    await app.dispatcher.storage.set_data(key, {"photos": ["file-1"]})
    await user.send_text("/cancel")
    reply = await user.expect("sendMessage")
    assert "training set-up cancelled" in reply.body
    assert await app.dispatcher.storage.get_state(key) is None
    assert await app.dispatcher.storage.get_data(key) == {}


async def test_unknown_text_gets_a_hint(start_bot: StartBot, tg: FakeTelegram) -> None:
    await start_bot()
    user = tg.user(1010)
    await user.send_text("what's up?")
    reply = await user.expect("sendMessage")
    assert "/help" in reply.body
    await user.send_sticker()
    assert "/help" in (await user.expect("sendMessage")).body


async def test_stale_button_is_answered(start_bot: StartBot, tg: FakeTelegram) -> None:
    await start_bot()
    user = tg.user(1011)
    await user.send_text("/start")
    await user.expect("sendMessage")
    await user.press("old:button:from:last:year")
    answer = await user.expect("answerCallbackQuery")
    assert answer.body == "This button is no longer active."


async def test_language_choice_persists_across_restarts(
    start_bot: StartBot, tg: FakeTelegram
) -> None:
    app = await start_bot()
    user = tg.user(1012, language_code="en")
    await user.send_text("/language")
    await user.expect("sendMessage")
    await user.press_button("Русский")
    assert "по-русски" in (await user.expect("sendMessage")).body
    assert (await User.get(telegram_id=1012)).language == "ru"

    await start_bot.stop(app)
    await start_bot()
    await user.send_text("/help")  # the client still says "en"; the choice wins
    await expect_text(user, "Что я умею")


async def test_train_and_generate_say_when_not_configured(
    start_bot: StartBot, tg: FakeTelegram
) -> None:
    await start_bot()
    user = tg.user(1013)
    await user.send_text("/train")
    assert "not configured" in (await user.expect("sendMessage")).body
    await user.send_text("/generate")
    assert "not configured" in (await user.expect("sendMessage")).body


async def test_commands_are_registered_in_both_languages(
    start_bot: StartBot, tg: FakeTelegram
) -> None:
    await start_bot()
    calls = [call for call in tg.calls if call.method == "setMyCommands"]
    by_language = {call.params.get("language_code"): call.params["commands"] for call in calls}
    assert set(by_language) == {None, "ru"}
    english = {command["command"] for command in by_language[None]}
    assert {"start", "train", "generate", "models", "credits", "help", "cancel"} <= english
    assert any("Обучить" in command["description"] for command in by_language["ru"])
