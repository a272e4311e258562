"""Translations: every user string is in each .ts file, translated with the same placeholders, and loads in QGIS."""

from __future__ import annotations

import string
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
from update_translations import collect_strings  # noqa: E402

LOCALES = ("zh_CN", "fr")


def messages(locale: str) -> dict[str, ET.Element]:
    tree = ET.parse(ROOT / "i18n" / f"geoground_{locale}.ts")
    return {m.find("source").text: m.find("translation") for m in tree.iter("message")}


def fields(text: str) -> list[str]:
    return sorted(
        name or str(i) for i, (_, name, _, _) in enumerate(string.Formatter().parse(text)) if name is not None
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_every_string_is_translated_with_matching_placeholders(locale):
    table = messages(locale)
    assert set(collect_strings(ROOT / "plugin")) <= set(table), "run tools/update_translations.py"
    for source, translation in table.items():
        assert translation.get("type") is None and translation.text, f"untranslated: {source!r}"
        # the same number of placeholders, so .format() with the source's arguments works
        count = sum(1 for _, name, _, _ in string.Formatter().parse(source) if name is not None)
        args = [float(i + 7) for i in range(count)]  # numbers, so format specs like {:.1f} work too
        formatted = translation.text.format(*args)
        assert all(formatted.count(f"{a:.0f}") == 1 for a in args), source


def test_translator_matching_the_locale_is_used(qgis_app):
    from qgis.PyQt.QtCore import QCoreApplication

    from geoground.plugin.i18n import install_translator, tr

    qm = ROOT / "i18n" / "geoground_zh_CN.qm"
    if not qm.exists():
        pytest.fail("compiled translations missing: ./build.sh i18n (build.sh test does it)")
    translator = install_translator("zh_CN")
    try:
        assert translator is not None
        assert tr("Send") == "发送"
        assert (
            tr("{} object(s) in layer “{}” ({}).").format(3, "tanks", "r.gpkg")
            == "图层“tanks”中有 3 个对象（r.gpkg）。"
        )
    finally:
        QCoreApplication.removeTranslator(translator)
    assert tr("Send") == "Send"
    assert install_translator("xx_YY") is None
