"""Logging with loguru: console plus a rotating file (seed 6.2), never with variable dumps."""

from __future__ import annotations

import logging
import sys

from loguru import logger

from bot.config import Settings


class _InterceptHandler(logging.Handler):
    """Routes the standard logging of aiogram, aiohttp and tortoise into loguru."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.opt(depth=6, exception=record.exc_info).log(level, record.getMessage())


def route_standard_logging() -> None:
    logging.basicConfig(handlers=[_InterceptHandler()], level=logging.INFO, force=True)
    # aiogram logs every handled update at INFO; keep that out of the way unless debugging.
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    logging.getLogger("tortoise").setLevel(logging.WARNING)


def setup_logging(settings: Settings) -> None:
    logger.remove()
    # diagnose=False: loguru would otherwise print local variables, secrets included.
    logger.add(
        sys.stderr,
        level=settings.log_level,
        serialize=settings.log_json,
        backtrace=False,
        diagnose=False,
    )
    if settings.log_file:
        logger.add(
            settings.log_file,
            level=settings.log_level,
            rotation="10 MB",
            retention=5,
            serialize=settings.log_json,
            backtrace=False,
            diagnose=False,
            enqueue=True,
        )
    route_standard_logging()
