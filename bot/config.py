"""Settings: one typed object, loaded once from the environment and `.env` (environs)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, overload

from environs import Env, EnvError
from marshmallow.validate import Range
from pydantic import SecretStr
from redis.asyncio.connection import parse_url as parse_redis_url
from tortoise.backends.base.config_generator import expand_db_url
from yarl import URL

DEFAULT_DATABASE_URL = "sqlite://data/bot.sqlite3"
_TOKEN_RE = re.compile(r"^\d+:[\w-]{20,}$")
_WEBHOOK_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # Telegram's rule for secret_token


DEFAULT_CREDIT_PACKAGES = "100:50,300:135,1000:400"
MAX_STARS_PER_INVOICE = 10_000


class ConfigError(Exception):
    """A missing or malformed setting; the message is one line naming the variable."""


class Secret:
    """A Settings field holding a secret: given a str or a SecretStr, it keeps a SecretStr, so
    repr(), logs and alerts show '**********'; code reads it with .get_secret_value().

    A descriptor rather than a conversion in __post_init__: the generated __init__ (and mypy,
    which reads __set__) then accepts plain strings, as tests and benches pass them.
    """

    def __init__(self, default: str | None = None) -> None:
        self.default = default  # None: the field is required

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type) -> str: ...
    @overload
    def __get__(self, instance: object, owner: type) -> SecretStr: ...
    def __get__(self, instance: object | None, owner: type) -> str | SecretStr:
        if instance is None:  # dataclasses asks the class for the field's default
            if self.default is None:
                raise AttributeError(self.name)
            return self.default
        try:
            value: SecretStr = instance.__dict__[self.name]
        except KeyError:
            raise AttributeError(self.name) from None
        return value

    def __set__(self, instance: object, value: str | SecretStr) -> None:
        # Straight into __dict__: the frozen dataclass refuses setattr, even from __init__.
        instance.__dict__[self.name] = value if isinstance(value, SecretStr) else SecretStr(value)


def _without_password(url: str) -> str:
    try:
        parsed = URL(url)
    except ValueError:
        return "**********"
    return str(parsed.with_password("**********")) if parsed.password else url


@dataclass(frozen=True)
class CreditPackage:
    """What one invoice sells: `credits` for `stars` Telegram Stars."""

    credits: int
    stars: int


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Every default is written here once; load_settings() reads them back (_default)."""

    telegram_bot_token: Secret = Secret()
    telegram_api_url: str | None = None
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    webhook_url: str | None = None
    webhook_secret: Secret = Secret("")  # empty: not set
    host: str = "0.0.0.0"
    port: int = 8080
    api_base_url: str | None = None
    n8n_secret: Secret = Secret("")
    callback_base_url: str | None = None
    admin_ids: frozenset[int] = field(default_factory=frozenset)
    credit_packages: tuple[CreditPackage, ...] = field(
        default_factory=lambda: _credit_packages(DEFAULT_CREDIT_PACKAGES)
    )
    # Where /paysupport sends people (e.g. "@portrait_support" or an e-mail address).
    support_contact: str = ""
    start_credits: int = 0
    train_cost: int = 100
    generate_cost: int = 10
    images_per_prompt: int = 4
    min_photos: int = 10
    max_photos: int = 20
    fsm_ttl_hours: int = 24
    log_level: str = "INFO"
    log_json: bool = False
    log_file: str | None = "logs/bot.log"
    # Flood control: more than this many messages from one user within a second are dropped.
    flood_messages_per_second: int = 3
    # Photos sent to N8N are scaled so their long side is at most this.
    train_image_long_side: int = 1024
    # N8N calls: per-attempt timeout, attempts on network errors and 5xx, first backoff.
    n8n_timeout_seconds: float = 120.0
    n8n_attempts: int = 3
    n8n_backoff_seconds: float = 2.0
    # An album is answered once no new item arrived for this long.
    album_settle_seconds: float = 1.2
    # A running job whose N8N callback is this late (minutes since it was made) is asked about
    # with N8N's /status; one this old is failed and its credits returned.
    train_status_after: int = 30
    generate_status_after: int = 5
    train_max_age: int = 360
    generate_max_age: int = 60

    def __repr__(self) -> str:
        # Secrets show as SecretStr('**********'); a password inside any URL is masked too.
        shown = []
        for spec in fields(self):
            value = getattr(self, spec.name)
            if spec.name.endswith("_url") and isinstance(value, str):
                value = _without_password(value)
            shown.append(f"{spec.name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    @property
    def bot_id(self) -> int:
        return int(self.telegram_bot_token.get_secret_value().split(":", 1)[0])

    @property
    def uses_webhook(self) -> bool:
        return bool(self.webhook_url)

    @property
    def n8n_enabled(self) -> bool:
        return bool(self.api_base_url)

    @property
    def webhook_endpoint(self) -> str | None:
        return f"{self.webhook_url.rstrip('/')}/webhook" if self.webhook_url else None

    @property
    def fsm_ttl_seconds(self) -> int:
        return self.fsm_ttl_hours * 3600

    def check(self) -> None:
        """Cross-checks between settings; raises ConfigError."""
        if self.train_max_age <= self.train_status_after:
            raise ConfigError("TRAIN_MAX_AGE must be longer than TRAIN_STATUS_AFTER")
        if self.generate_max_age <= self.generate_status_after:
            raise ConfigError("GENERATE_MAX_AGE must be longer than GENERATE_STATUS_AFTER")
        if not _TOKEN_RE.match(self.telegram_bot_token.get_secret_value()):
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN does not look like a bot token (digits:letters); "
                "copy it again from @BotFather"
            )
        if self.webhook_url:
            if not self.webhook_secret.get_secret_value():
                raise ConfigError("WEBHOOK_SECRET is required when WEBHOOK_URL is set")
            if not _WEBHOOK_SECRET_RE.match(self.webhook_secret.get_secret_value()):
                raise ConfigError(
                    "WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and - "
                    "(Telegram's rule)"
                )
        if self.api_base_url:
            if not self.n8n_secret.get_secret_value():
                raise ConfigError("N8N_SECRET is required when API_BASE_URL is set")
            if not self.callback_base_url:
                raise ConfigError(
                    "CALLBACK_BASE_URL (or WEBHOOK_URL) is required when API_BASE_URL is set: "
                    "N8N needs a public address to report back to"
                )
        if not 1 <= self.images_per_prompt <= 8:
            raise ConfigError("IMAGES_PER_PROMPT must be between 1 and 8 (Astria's num_images)")
        if not 1 <= self.min_photos <= self.max_photos:
            raise ConfigError("MIN_PHOTOS must be at least 1 and not above MAX_PHOTOS")


def _default(name: str) -> Any:
    """Settings.<name>'s default, as written on the dataclass."""
    for spec in fields(Settings):
        if spec.name == name:
            if spec.default is not MISSING:
                return spec.default
            if spec.default_factory is not MISSING:
                return spec.default_factory()
    raise LookupError(f"Settings.{name} has no default")


def _admin_ids(raw: str) -> frozenset[int]:
    ids: set[int] = set()
    for part in raw.replace(" ", "").split(","):
        if not part:
            continue
        if not part.lstrip("-").isdigit():
            raise ConfigError(
                "ADMIN_TELEGRAM_ID must be a Telegram id or a comma-separated list of ids, "
                f"got {part!r}"
            )
        ids.add(int(part))
    return frozenset(ids)


def _credit_packages(raw: str) -> tuple[CreditPackage, ...]:
    packages: list[CreditPackage] = []
    for part in raw.replace(" ", "").split(","):
        if not part:
            continue
        credits, _, stars = part.partition(":")
        if not (credits.isdigit() and stars.isdigit()):
            raise ConfigError(
                "CREDIT_PACKAGES must be credits:stars pairs separated by commas "
                f"(e.g. {DEFAULT_CREDIT_PACKAGES}), got {part!r}"
            )
        package = CreditPackage(credits=int(credits), stars=int(stars))
        if package.credits < 1 or not 1 <= package.stars <= MAX_STARS_PER_INVOICE:
            raise ConfigError(
                f"CREDIT_PACKAGES: {part!r} needs at least 1 credit and 1 to "
                f"{MAX_STARS_PER_INVOICE} stars"
            )
        if package.credits in {known.credits for known in packages}:
            raise ConfigError(f"CREDIT_PACKAGES lists {package.credits} credits twice")
        packages.append(package)
    return tuple(packages)


def _database_url_problem(url: str) -> None:
    expand_db_url(url)


def _redis_url_problem(url: str) -> None:
    parse_redis_url(url)


def _check_url(name: str, url: str, parse: Callable[[str], None]) -> None:
    try:
        parse(url)
    except Exception as error:  # every parser failure means the same to the operator
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ConfigError(f"{name} is not a valid URL ({reason})") from None


def load_settings(env_file: str | Path | None = ".env") -> Settings:
    """Read every setting once. Raises ConfigError with one line naming the variable."""
    env = Env()
    if env_file is not None and Path(env_file).is_file():
        env.read_env(str(env_file), recurse=False, override=False)
    try:
        token = env.str("TELEGRAM_BOT_TOKEN", "").strip()
        if not token:
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather in Telegram "
                "(send /newbot), then put the token it gives in .env or the environment"
            )

        # Each variable is its field's name in capitals; unset, the field's default applies.
        def text(variable: str) -> Any:
            """The stripped value; the field's default when unset or empty."""
            return env.str(variable, "").strip() or _default(variable.lower())

        def url(variable: str) -> Any:
            return env.str(variable, "").strip().rstrip("/") or _default(variable.lower())

        def integer(variable: str, validate: Range | None = None) -> int:
            return env.int(variable, _default(variable.lower()), validate=validate)

        def seconds(variable: str) -> float:
            positive = Range(min=0, min_inclusive=False)
            return env.float(variable, _default(variable.lower()), validate=positive)

        webhook_url = text("WEBHOOK_URL")
        non_negative = Range(min=0)
        at_least_one = Range(min=1)
        settings = Settings(
            telegram_bot_token=token,
            telegram_api_url=text("TELEGRAM_API_URL"),
            database_url=text("DATABASE_URL"),
            redis_url=text("REDIS_URL"),
            webhook_url=webhook_url,
            webhook_secret=text("WEBHOOK_SECRET"),
            host=env.str("HOST", _default("host")),
            port=integer("PORT", Range(min=1, max=65535)),
            api_base_url=url("API_BASE_URL"),
            n8n_secret=text("N8N_SECRET"),
            callback_base_url=(
                url("CALLBACK_BASE_URL") or (webhook_url.rstrip("/") if webhook_url else None)
            ),
            admin_ids=_admin_ids(env.str("ADMIN_TELEGRAM_ID", "")),
            credit_packages=_credit_packages(env.str("CREDIT_PACKAGES", DEFAULT_CREDIT_PACKAGES)),
            support_contact=text("SUPPORT_CONTACT"),
            start_credits=integer("START_CREDITS", non_negative),
            train_cost=integer("TRAIN_COST", non_negative),
            generate_cost=integer("GENERATE_COST", non_negative),
            images_per_prompt=integer("IMAGES_PER_PROMPT"),
            min_photos=integer("MIN_PHOTOS", at_least_one),
            max_photos=integer("MAX_PHOTOS", at_least_one),
            fsm_ttl_hours=integer("FSM_TTL_HOURS", at_least_one),
            log_level=env.str("LOG_LEVEL", _default("log_level")).upper(),
            log_json=env.bool("LOG_JSON", _default("log_json")),
            # Set but empty disables the file (for the other variables, empty means unset).
            log_file=env.str("LOG_FILE", _default("log_file") or "").strip() or None,
            flood_messages_per_second=integer("FLOOD_MESSAGES_PER_SECOND", at_least_one),
            train_image_long_side=integer("TRAIN_IMAGE_LONG_SIDE", Range(min=512, max=4096)),
            n8n_timeout_seconds=seconds("N8N_TIMEOUT_SECONDS"),
            n8n_attempts=integer("N8N_ATTEMPTS", at_least_one),
            n8n_backoff_seconds=seconds("N8N_BACKOFF_SECONDS"),
            album_settle_seconds=seconds("ALBUM_SETTLE_SECONDS"),
            train_status_after=integer("TRAIN_STATUS_AFTER", at_least_one),
            generate_status_after=integer("GENERATE_STATUS_AFTER", at_least_one),
            train_max_age=integer("TRAIN_MAX_AGE", at_least_one),
            generate_max_age=integer("GENERATE_MAX_AGE", at_least_one),
        )
    except EnvError as error:
        # environs names the variable: 'Environment variable "PORT" invalid: [...]'
        raise ConfigError(str(error)) from None
    _check_url("DATABASE_URL", settings.database_url, _database_url_problem)
    if settings.redis_url:
        _check_url("REDIS_URL", settings.redis_url, _redis_url_problem)
    if settings.log_level not in {
        "TRACE",
        "DEBUG",
        "INFO",
        "SUCCESS",
        "WARNING",
        "ERROR",
        "CRITICAL",
    }:
        raise ConfigError(
            f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {settings.log_level!r}"
        )
    settings.check()
    return settings
