"""Start-up configuration: one clear line naming the variable, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import load_settings

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
    assert settings.telegram_bot_token == TOKEN
