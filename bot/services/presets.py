"""Style presets: one data file (bot/data/presets.json), read once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PRESETS_FILE = Path(__file__).resolve().parent.parent / "data" / "presets.json"


@dataclass(frozen=True)
class Preset:
    id: str
    name: str  # English label; shown through gettext
    prompt: str  # with {subject}

    def render(self, subject: str) -> str:
        return self.prompt.replace("{subject}", subject)


@cache
def presets() -> tuple[Preset, ...]:
    raw = json.loads(PRESETS_FILE.read_text(encoding="utf-8"))
    return tuple(Preset(**item) for item in raw["presets"])


def preset(preset_id: str) -> Preset | None:
    return next((item for item in presets() if item.id == preset_id), None)
