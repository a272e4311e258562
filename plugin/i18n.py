"""Translation helpers: one context for every user string, and the translator matching QGIS's locale."""

from __future__ import annotations

from pathlib import Path

from qgis.core import QgsSettings
from qgis.PyQt.QtCore import QCoreApplication, QLocale, QTranslator

CONTEXT = "GeoGround"
I18N_DIR = Path(__file__).resolve().parent.parent / "i18n"


def tr(text: str) -> str:
    """Translate a user-visible string in the plugin's single translation context."""
    return QCoreApplication.translate(CONTEXT, text)


def qgis_locale() -> str:
    """The locale QGIS runs in (its own override setting first, then the system's), e.g. 'zh_CN' or 'fr'."""
    settings = QgsSettings()
    if settings.value("locale/overrideFlag", False, type=bool):
        return str(settings.value("locale/userLocale", "") or "en_US")
    return QLocale.system().name()


def install_translator(locale: str | None = None) -> QTranslator | None:
    """Install the compiled translation for ``locale`` (full name first, then language); None when there is none."""
    locale = locale or qgis_locale()
    for name in (locale, locale.split("_")[0]):
        qm = I18N_DIR / f"geoground_{name}.qm"
        if qm.exists():
            translator = QTranslator()
            if translator.load(str(qm)):
                QCoreApplication.installTranslator(translator)
                return translator
    return None
