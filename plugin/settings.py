"""User settings (QgsSettings under GeoGround/) and the page that edits them in QGIS's Options dialog."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

from qgis.core import QgsApplication, QgsSettings
from qgis.gui import QgsFileWidget, QgsOptionsPageWidget, QgsOptionsWidgetFactory
from qgis.PyQt.QtCore import QObject, pyqtSignal
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QComboBox, QFormLayout, QSpinBox

from .i18n import tr
from .resources import icon_path

PREFIX = "GeoGround/"
# The shipped model (engine.hub.registry.DEFAULT_MODEL), then the published ones (engine.hub.published).
MODEL_CHOICES = ("demo", "GeoPixel-7B", "GeoPixel-7B-RES", "GeoPix")
DEVICE_CHOICES = ("auto", "cpu", "cuda")
PRECISION_CHOICES = ("auto", "float32", "bfloat16", "float16")
USER_MODELS_KEY = PREFIX + "user_models"  # the user's own model folders (fine-tuned in Processing), oldest first


def default_cache_dir() -> str:
    return str(Path(QgsApplication.qgisSettingsDirPath()) / "geoground" / "models")


@dataclass
class Settings:
    """Every setting with its default; ``load``/``save`` map fields one to one onto QgsSettings keys."""

    model_cache_dir: str = ""
    default_model: str = MODEL_CHOICES[0]
    device: str = "auto"
    precision: str = "auto"
    tile_size: int = 0  # 0: the model's own input size (views larger than it are answered in tiles)
    tile_overlap: int = 128  # used with a fixed tile size; with the automatic size, 1/8 of the tile
    max_new_tokens: int = 256

    @classmethod
    def load(cls) -> Settings:
        store = QgsSettings()
        values = {}
        for f in fields(cls):
            default = f.default if f.name != "model_cache_dir" else default_cache_dir()
            raw = store.value(PREFIX + f.name, default)
            try:
                values[f.name] = type(default)(raw) if raw not in (None, "") else default
            except (TypeError, ValueError):
                values[f.name] = default  # a hand-edited or stale value never breaks the plugin
        return cls(**values)

    def save(self) -> None:
        store = QgsSettings()
        for f in fields(self):
            store.setValue(PREFIX + f.name, getattr(self, f.name))


class ModelList(QObject):
    """The user's own model folders, kept in QgsSettings so they come back after QGIS restarts.

    ``changed`` fires after every add or remove, so a model picker can refresh at once. Folders that were moved or
    deleted stay stored (a removable drive may come back) but are left out of :meth:`folders`.
    """

    changed = pyqtSignal()

    def folders(self) -> list[str]:
        """The stored folders that still hold a model (a config.json), oldest first."""
        return [folder for folder in self.stored() if is_model_folder(folder)]

    def stored(self) -> list[str]:
        """Every stored folder, whether it still exists or not."""
        raw = QgsSettings().value(USER_MODELS_KEY, [])
        if isinstance(raw, str):  # a one-item list can come back as a plain string
            raw = [raw]
        if not isinstance(raw, (list, tuple)):
            return []
        return _unique(str(item) for item in raw if item)

    def add(self, folder: str | os.PathLike) -> str:
        """Remember ``folder`` (a model folder: it must hold a config.json); returns it as stored (absolute)."""
        path = _normalised(folder)
        if not is_model_folder(path):
            raise ValueError(tr("{} is not a model folder (it has no config.json).").format(path))
        self._store(self.stored() + [path])
        return path

    def remove(self, folder: str | os.PathLike) -> None:
        """Forget ``folder`` (its files are left as they are)."""
        key = _key(_normalised(folder))
        self._store([f for f in self.stored() if _key(f) != key])

    def _store(self, folders: list[str]) -> None:
        store = QgsSettings()
        store.setValue(USER_MODELS_KEY, _unique(folders))
        store.sync()
        self.changed.emit()


MODELS = ModelList()  # the one list the dock, the options page and Processing share


def user_models() -> list[str]:
    """The user's own model folders that still exist and hold a config.json, oldest first."""
    return MODELS.folders()


def add_user_model(folder: str | os.PathLike) -> str:
    """Add a model folder to the user's models (kept in QgsSettings); ``MODELS.changed`` fires."""
    return MODELS.add(folder)


def remove_user_model(folder: str | os.PathLike) -> None:
    """Take a folder off the user's models (nothing is deleted); ``MODELS.changed`` fires."""
    MODELS.remove(folder)


def model_choices() -> list[str]:
    """What a model picker lists: the shipped and published names, then the user's own model folders."""
    return list(MODEL_CHOICES) + [folder for folder in user_models() if folder not in MODEL_CHOICES]


def is_model_folder(folder: str | os.PathLike) -> bool:
    return os.path.isfile(os.path.join(os.fspath(folder), "config.json"))


def _normalised(folder: str | os.PathLike) -> str:
    return os.path.normpath(os.path.abspath(os.path.expanduser(os.fspath(folder))))


def _key(folder: str) -> str:
    return os.path.normcase(os.path.normpath(folder))


def _unique(folders) -> list[str]:
    seen: set[str] = set()
    kept = []
    for folder in folders:
        if _key(folder) not in seen:
            seen.add(_key(folder))
            kept.append(folder)
    return kept


class SettingsPage(QgsOptionsPageWidget):
    """The GeoGround page of Settings → Options."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        current = Settings.load()
        form = QFormLayout(self)
        self.cache_dir = QgsFileWidget(self)
        self.cache_dir.setStorageMode(QgsFileWidget.GetDirectory)
        self.cache_dir.setDialogTitle(tr("Model cache folder"))
        self.cache_dir.setFilePath(current.model_cache_dir)
        self.model = _combo(self, model_choices(), current.default_model, editable=True)
        self.device = _combo(self, DEVICE_CHOICES, current.device)
        self.precision = _combo(self, PRECISION_CHOICES, current.precision)
        self.tile_size = _spin(self, 0, 8192, current.tile_size, step=128)
        self.tile_size.setSpecialValueText(tr("Model's input size"))
        self.tile_overlap = _spin(self, 0, 2048, current.tile_overlap, step=16)
        self.max_new_tokens = _spin(self, 16, 4096, current.max_new_tokens, step=16)
        form.addRow(tr("Model cache folder"), self.cache_dir)
        form.addRow(tr("Default model (name, folder or hub id)"), self.model)
        form.addRow(tr("Device"), self.device)
        form.addRow(tr("Precision"), self.precision)
        form.addRow(tr("Tile size (pixels)"), self.tile_size)
        form.addRow(tr("Tile overlap (pixels)"), self.tile_overlap)
        form.addRow(tr("Answer token limit"), self.max_new_tokens)
        tips = {
            self.cache_dir: tr(
                "Where models are downloaded and converted (several GB each). Empty: the geoground/models folder of "
                "the QGIS profile."
            ),
            self.model: tr(
                "The model the chat dock starts with: demo, a published name, a local folder or a Hugging Face hub id."
            ),
            self.device: tr("Where the model runs: auto uses the GPU (CUDA) when there is one, otherwise the CPU."),
            self.precision: tr(
                "Number format of the model's weights: auto picks bfloat16 or float16 on a GPU and float32 on the "
                "CPU; lower precision needs less memory."
            ),
            self.tile_size: tr(
                "Areas larger than this are answered in overlapping tiles of this size. “Model's input size” lets "
                "each model use its own."
            ),
            self.tile_overlap: tr(
                "How much neighbouring tiles overlap, so objects on a tile edge are seen whole (at most half a tile; "
                "with the model's input size, 1/8 of the tile is used)."
            ),
            self.max_new_tokens: tr("The longest answer the model may write, in tokens (about ¾ of a word each)."),
        }
        for widget, tip in tips.items():
            widget.setToolTip(tip)
            label = form.labelForField(widget)
            if label is not None:
                label.setToolTip(tip)

    def current(self) -> Settings:
        return Settings(
            model_cache_dir=self.cache_dir.filePath().strip() or default_cache_dir(),
            default_model=self.model.currentText().strip() or MODEL_CHOICES[0],
            device=self.device.currentText(),
            precision=self.precision.currentText(),
            tile_size=self.tile_size.value(),
            tile_overlap=_overlap(self.tile_overlap.value(), self.tile_size.value()),
            max_new_tokens=self.max_new_tokens.value(),
        )

    def apply(self) -> None:
        self.current().save()


class SettingsPageFactory(QgsOptionsWidgetFactory):
    def __init__(self) -> None:
        super().__init__(tr("GeoGround"), QIcon(str(icon_path())))

    def createWidget(self, parent=None) -> SettingsPage:  # noqa: N802 - QGIS API
        return SettingsPage(parent)


def _overlap(overlap: int, tile_size: int) -> int:
    """At most half a fixed tile; with the automatic tile size (0) the overlap is not used and is kept as set."""
    return min(overlap, tile_size // 2) if tile_size else overlap


def _combo(parent, choices, value: str, editable: bool = False) -> QComboBox:
    combo = QComboBox(parent)
    combo.addItems(list(choices))
    combo.setEditable(editable)
    if value not in choices:
        combo.addItem(value)
    combo.setCurrentText(value)
    return combo


def _spin(parent, low: int, high: int, value: int, step: int) -> QSpinBox:
    spin = QSpinBox(parent)
    spin.setRange(low, high)
    spin.setSingleStep(step)
    spin.setValue(value)
    return spin
