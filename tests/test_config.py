"""Start-up configuration: one clear line naming the variable, never a traceback."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456789:TEST-token-for-the-fake-bot-api"


def run_bot(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.isupper() or key in {"PATH", "HOME"}
    }
    clean["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        env={**clean, **env},
        cwd=tmp_path,  # no .env there
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_missing_token_says_how_to_get_one(tmp_path: Path) -> None:
    result = run_bot({}, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "TELEGRAM_BOT_TOKEN" in lines[0]
    assert "@BotFather" in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"PORT": "eighty"}, "PORT"),
        ({"START_CREDITS": "-5"}, "START_CREDITS"),
        ({"IMAGES_PER_PROMPT": "9"}, "IMAGES_PER_PROMPT"),
        ({"WEBHOOK_URL": "https://bot.example.org"}, "WEBHOOK_SECRET"),
        (
            {"WEBHOOK_URL": "https://bot.example.org", "WEBHOOK_SECRET": "no spaces!"},
            "WEBHOOK_SECRET",
        ),
        ({"API_BASE_URL": "https://n8n.example.org/webhook"}, "N8N_SECRET"),
        (
            {"API_BASE_URL": "https://n8n.example.org/webhook", "N8N_SECRET": "s"},
            "CALLBACK_BASE_URL",
        ),
        ({"ADMIN_TELEGRAM_ID": "12,abc"}, "ADMIN_TELEGRAM_ID"),
        ({"CREDIT_PACKAGES": "100-50"}, "CREDIT_PACKAGES"),
        ({"CREDIT_PACKAGES": "100:0"}, "CREDIT_PACKAGES"),
        ({"CREDIT_PACKAGES": "100:50,100:60"}, "CREDIT_PACKAGES"),
        ({"TELEGRAM_BOT_TOKEN": "not-a-token"}, "TELEGRAM_BOT_TOKEN"),
        ({"DATABASE_URL": "postgress://user@db/bot"}, "DATABASE_URL"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL"),
    ],
)
def test_malformed_setting_stops_start_up_naming_it(
    env: dict[str, str], named: str, tmp_path: Path
) -> None:
    result = run_bot({"TELEGRAM_BOT_TOKEN": TOKEN, **env}, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_defaults_need_only_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.isupper() and key not in {"PATH", "HOME"}:
            monkeypatch.delenv(key)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    settings = load_settings(env_file=None)
    assert settings.database_url == "sqlite://data/bot.sqlite3"
    assert settings.redis_url is None and not settings.uses_webhook and not settings.n8n_enabled
    assert (settings.train_cost, settings.generate_cost, settings.images_per_prompt) == (100, 10, 4)
    assert (settings.min_photos, settings.max_photos, settings.port) == (10, 20, 8080)
    assert [(p.credits, p.stars) for p in settings.credit_packages] == [
        (100, 50),
        (300, 135),
        (1000, 400),
    ]


def test_callback_base_defaults_to_webhook_url_and_admins_parse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.org/")
    monkeypatch.setenv("WEBHOOK_SECRET", "abc_DEF-123")
    monkeypatch.setenv("API_BASE_URL", "https://n8n.example.org/webhook/")
    monkeypatch.setenv("N8N_SECRET", "n8n-secret")
    monkeypatch.setenv("ADMIN_TELEGRAM_ID", "1, 2,3")
    monkeypatch.setenv("CREDIT_PACKAGES", "10:5, 50:20")
    settings = load_settings(env_file=None)
    assert [(p.credits, p.stars) for p in settings.credit_packages] == [(10, 5), (50, 20)]
    assert settings.callback_base_url == "https://bot.example.org"
    assert settings.webhook_endpoint == "https://bot.example.org/webhook"
    assert settings.api_base_url == "https://n8n.example.org/webhook"
    assert settings.admin_ids == frozenset({1, 2, 3})


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.delenv("GENERATE_COST", raising=False)
    env_file = tmp_path / ".env"
    env_file.write_text(f"TELEGRAM_BOT_TOKEN={TOKEN}\nGENERATE_COST=25\n")
    try:
        settings = load_settings(env_file=env_file)
    finally:  # read_env writes into os.environ
        os.environ.pop("TELEGRAM_BOT_TOKEN", None)
        os.environ.pop("GENERATE_COST", None)
    assert settings.generate_cost == 25
    assert settings.telegram_bot_token.get_secret_value() == TOKEN


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Only TELEGRAM_BOT_TOKEN set: nothing from the caller's environment leaks in."""
    for key in list(os.environ):
        if key.isupper() and key not in {"PATH", "HOME"}:
            monkeypatch.delenv(key)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    return monkeypatch


def test_an_empty_environment_gives_the_dataclass_defaults(environment: pytest.MonkeyPatch) -> None:
    assert load_settings(env_file=None) == Settings(telegram_bot_token=TOKEN)


def test_secrets_show_neither_in_repr_nor_in_str(environment: pytest.MonkeyPatch) -> None:
    secrets = {
        "WEBHOOK_SECRET": "webhook-SECRET-7",
        "N8N_SECRET": "n8n-SECRET-7",
        "DATABASE_URL": "postgres://bot:db-PASSWORD-7@db:5432/bot",
        "REDIS_URL": "redis://:redis-PASSWORD-7@redis:6379/0",
        "WEBHOOK_URL": "https://bot.example.org",
        "API_BASE_URL": "https://n8n.example.org/webhook",
    }
    for variable, value in secrets.items():
        environment.setenv(variable, value)
    loaded = load_settings(env_file=None)
    built = Settings(
        telegram_bot_token=TOKEN,
        webhook_secret=secrets["WEBHOOK_SECRET"],
        n8n_secret=secrets["N8N_SECRET"],
        database_url=secrets["DATABASE_URL"],
        redis_url=secrets["REDIS_URL"],
    )
    hidden = [TOKEN, TOKEN.split(":")[1], "webhook-SECRET-7", "n8n-SECRET-7"]
    hidden += ["db-PASSWORD-7", "redis-PASSWORD-7"]
    for settings in (loaded, built, replace(built, n8n_secret="n8n-SECRET-7")):
        for text in (repr(settings), str(settings), f"{settings}"):
            assert not [secret for secret in hidden if secret in text], text
        assert "postgres://bot:**********@db:5432/bot" in repr(settings)  # still says where
    assert loaded.telegram_bot_token.get_secret_value() == TOKEN
    assert loaded.webhook_secret.get_secret_value() == "webhook-SECRET-7"
    assert loaded.n8n_secret.get_secret_value() == "n8n-SECRET-7"
    assert loaded.database_url == secrets["DATABASE_URL"]


def test_the_n8n_album_and_flood_tunables_are_read(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("N8N_TIMEOUT_SECONDS", "30.5")
    environment.setenv("N8N_ATTEMPTS", "5")
    environment.setenv("N8N_BACKOFF_SECONDS", "0.25")
    environment.setenv("ALBUM_SETTLE_SECONDS", "2")
    environment.setenv("FLOOD_MESSAGES_PER_SECOND", "7")
    settings = load_settings(env_file=None)
    assert (settings.n8n_timeout_seconds, settings.n8n_attempts, settings.n8n_backoff_seconds) == (
        30.5,
        5,
        0.25,
    )
    assert (settings.album_settle_seconds, settings.flood_messages_per_second) == (2.0, 7)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("N8N_TIMEOUT_SECONDS", "0"),
        ("N8N_TIMEOUT_SECONDS", "two minutes"),
        ("N8N_ATTEMPTS", "0"),
        ("N8N_ATTEMPTS", "2.5"),
        ("N8N_BACKOFF_SECONDS", "-1"),
        ("N8N_BACKOFF_SECONDS", "nan"),
        ("ALBUM_SETTLE_SECONDS", "0"),
        ("FLOOD_MESSAGES_PER_SECOND", "0"),
        ("FLOOD_MESSAGES_PER_SECOND", "many"),
        ("TRAIN_STATUS_AFTER", "0"),
        ("GENERATE_MAX_AGE", "soon"),
        ("TRAIN_MAX_AGE", "30"),  # not longer than TRAIN_STATUS_AFTER (30)
        ("GENERATE_MAX_AGE", "5"),  # not longer than GENERATE_STATUS_AFTER (5)
    ],
)
def test_a_malformed_tunable_is_named_in_one_line(
    environment: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    environment.setenv(variable, value)
    with pytest.raises(ConfigError) as raised:
        load_settings(env_file=None)
    message = str(raised.value)
    assert variable in message and "\n" not in message, message


def test_every_variable_is_in_env_example_and_the_readme() -> None:
    read = set(re.findall(r'\(\s*"([A-Z][A-Z0-9_]*)"', (ROOT / "bot" / "config.py").read_text()))
    assert {"TELEGRAM_BOT_TOKEN", "PORT", "N8N_ATTEMPTS", "FLOOD_MESSAGES_PER_SECOND"} <= read
    example = (ROOT / ".env.example").read_text()
    assert set(re.findall(r"^([A-Z][A-Z0-9_]*)=", example, flags=re.MULTILINE)) == read
    readme = (ROOT / "README.md").read_text()
    assert not [variable for variable in read if f"`{variable}`" not in readme]
