"""Collect every tr("...") string of the plugin into i18n/geoground_<locale>.ts, keeping existing translations.

Usage: python tools/update_translations.py [LOCALE ...]   (default: every .ts file already in i18n/)
The plugin translates all user strings in one context (plugin/i18n.py), so one message list serves every file.
"""

from __future__ import annotations

import ast
import sys
import xml.etree.ElementTree as ET  # noqa: S405  # nosec B405 - reads our own .ts files
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONTEXT = "GeoGround"


def collect_strings(folder: Path) -> dict[str, str]:
    """source text -> 'file:line' of its first use, for every tr() call with a literal string."""
    found: dict[str, str] = {}
    for path in sorted(folder.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "tr"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.setdefault(node.args[0].value, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def read_translations(ts_file: Path) -> dict[str, str]:
    if not ts_file.exists():
        return {}
    tree = ET.parse(ts_file)  # noqa: S314  # nosec B314 - our own file
    result = {}
    for message in tree.iter("message"):
        source, translation = message.find("source"), message.find("translation")
        if source is not None and translation is not None and translation.text and translation.get("type") is None:
            result[source.text] = translation.text
    return result


def write_ts(ts_file: Path, locale: str, strings: dict[str, str], translations: dict[str, str]) -> tuple[int, int]:
    ts = ET.Element("TS", version="2.1", language=locale)
    context = ET.SubElement(ts, "context")
    ET.SubElement(context, "name").text = CONTEXT
    done = 0
    for text, where in strings.items():
        message = ET.SubElement(context, "message")
        file, line = where.rsplit(":", 1)
        ET.SubElement(message, "location", filename=f"../{file}", line=line)
        ET.SubElement(message, "source").text = text
        translation = ET.SubElement(message, "translation")
        if text in translations:
            translation.text = translations[text]
            done += 1
        else:
            translation.set("type", "unfinished")
    ET.indent(ts)
    ts_file.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE TS>\n' + ET.tostring(ts, "unicode") + "\n", encoding="utf-8"
    )
    return done, len(strings)


def main(argv: list[str]) -> int:
    locales = argv or sorted(p.stem.removeprefix("geoground_") for p in (ROOT / "i18n").glob("geoground_*.ts"))
    strings = collect_strings(ROOT / "plugin")
    for locale in locales:
        ts_file = ROOT / "i18n" / f"geoground_{locale}.ts"
        done, total = write_ts(ts_file, locale, strings, read_translations(ts_file))
        print(f"{ts_file.relative_to(ROOT)}: {done}/{total} translated")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
