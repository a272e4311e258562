"""French translations follow French typography: a narrow no-break space before : ; ? ! and inside « »."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NNBSP = "\u202f"


def french() -> dict[str, str]:
    tree = ET.parse(ROOT / "i18n" / "geoground_fr.ts")
    return {m.find("source").text: m.find("translation").text or "" for m in tree.iter("message")}


def test_high_punctuation_has_a_narrow_no_break_space():
    table = french()
    assert table["You:"] == f"Vous{NNBSP}:"
    for source, translation in table.items():
        text = re.sub(r"\{[^}]*\}", "{}", translation)  # format fields such as {:.1f} are not punctuation
        assert not re.search(r"[^\u202f][:;?!»]|«[^\u202f]", text.replace("://", "")), (source, translation)


def test_the_dock_labels_speakers_with_french_typography(qgis_app):
    from qgis.PyQt.QtCore import QCoreApplication

    from geoground.plugin.i18n import install_translator
    from geoground.plugin.ui.chat_dock import ChatDock

    if not (ROOT / "i18n" / "geoground_fr.qm").exists():
        pytest.fail("compiled translations missing: ./build.sh i18n (build.sh test does it)")
    translator = install_translator("fr")
    try:
        dock = ChatDock()
        dock.append_message("user", "Segment all ships")
        assert f"Vous{NNBSP}: Segment all ships" in dock.conversation.toPlainText()
        dock.deleteLater()
    finally:
        QCoreApplication.removeTranslator(translator)
