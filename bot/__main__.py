"""python -m bot: load settings, build, run (polling or webhook)."""

import asyncio
import contextlib
import sys

from aiogram.exceptions import TelegramUnauthorizedError

from bot.config import ConfigError, load_settings


def main() -> int:
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    from bot.app import run
    from bot.log import setup_logging

    setup_logging(settings)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run(settings))
    except TelegramUnauthorizedError:
        print(
            "Configuration error: Telegram rejected TELEGRAM_BOT_TOKEN (401 Unauthorized); "
            "copy the token again from @BotFather",
            file=sys.stderr,
        )
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
