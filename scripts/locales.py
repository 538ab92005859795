"""Keep locales/ in step with the code.

    python scripts/locales.py update   # re-extract messages.pot from bot/, merge into every .po
    python scripts/locales.py check    # fail if the .pot is stale or a translation is missing

Translators edit only locales/<lang>/LC_MESSAGES/messages.po; the bot compiles them at start-up.
"""

from __future__ import annotations

import copy
import io
import json
import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIR = ROOT / "bot"
LOCALES_DIR = ROOT / "locales"
TEMPLATE = LOCALES_DIR / "messages.pot"
PRESETS_FILE = ROOT / "bot" / "data" / "presets.json"
KEYWORDS = {"_": None, "__": None, "gettext": None, "lazy_gettext": None}
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def extract() -> Catalog:
    catalog = Catalog(project="portrait-bot", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(SOURCE_DIR), method_map=[("**.py", "python")], keywords=KEYWORDS
    ):
        catalog.add(
            message, None, [(f"bot/{filename}", lineno)], auto_comments=comments, context=context
        )
    # Preset names live in a data file, not in code: translate them like any other text.
    presets = json.loads(PRESETS_FILE.read_text(encoding="utf-8"))["presets"]
    for item in presets:
        catalog.add(item["name"], None, [("bot/data/presets.json", 0)])
    return catalog


def render(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_po(buffer, catalog, omit_header=False, sort_output=True, width=100, include_lineno=False)
    # The creation date changes on every run; keep the file stable so `check` can compare it.
    return re.sub(rb'"POT-Creation-Date: [^"]*"\n', b"", buffer.getvalue())


def po_files() -> list[Path]:
    return sorted(LOCALES_DIR.glob("*/LC_MESSAGES/messages.po"))


def update() -> None:
    template = extract()
    TEMPLATE.write_bytes(render(template))
    for po_path in po_files():
        locale = po_path.parent.parent.name
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=locale)
        # Catalog.update shares Message objects with the template: give each catalog its own.
        catalog.update(copy.deepcopy(template), no_fuzzy_matching=True)
        catalog.obsolete.clear()
        if locale == "en":  # English is the source language: its catalog starts as a copy
            for message in catalog:
                if message.id and not message.string:
                    message.string = message.id
        po_path.write_bytes(render(catalog))
        print(f"updated {po_path.relative_to(ROOT)}")


def check() -> int:
    problems: list[str] = []
    template = extract()
    if not TEMPLATE.exists() or TEMPLATE.read_bytes() != render(template):
        problems.append("locales/messages.pot is stale: run `python scripts/locales.py update`")
    wanted = {message.id for message in template if message.id}
    for po_path in po_files():
        name = po_path.relative_to(ROOT)
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file)
        present = {message.id for message in catalog if message.id}
        for missing in sorted(wanted - present):
            problems.append(f"{name}: missing {missing!r}")
        for extra in sorted(present - wanted):
            problems.append(f"{name}: no longer used {extra!r}")
        for message in catalog:
            if not message.id or message.id not in wanted:
                continue
            if not message.string:
                problems.append(f"{name}: untranslated {message.id!r}")
            elif message.fuzzy:
                problems.append(f"{name}: fuzzy (needs review) {message.id!r}")
            elif sorted(PLACEHOLDER.findall(str(message.id))) != sorted(
                PLACEHOLDER.findall(str(message.string))
            ):
                problems.append(f"{name}: placeholders differ from the original in {message.id!r}")
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f"locales OK: {len(wanted)} messages in {len(po_files())} languages")
    return 0


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "check"
    if command == "update":
        update()
        sys.exit(0)
    if command == "check":
        sys.exit(check())
    print(__doc__)
    sys.exit(2)
