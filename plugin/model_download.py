"""Getting a model into the cache before its first chat, in a cancellable background task.

Two kinds of names need it. A Hugging Face hub id is downloaded with ``huggingface_hub.snapshot_download``. A
published checkpoint by name (GeoPixel-7B, GeoPixel-7B-RES) goes through ``engine.hub.published.prepare_published``:
its files are downloaded, then converted once, and the task tells the dialog when it moves from the first phase to
the second. Both land in the cache folder the engine reads later (the settings' model cache folder, else the standard
Hugging Face cache), so loading the model afterwards needs no network. Nothing here touches widgets: the dialog only
listens to the task's signals and calls ``cancel()``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from qgis.core import Qgis, QgsApplication, QgsMessageLog
from qgis.PyQt.QtCore import pyqtSignal

from ..engine import DownloadProgress
from .i18n import tr
from .tasks import LOG_TAG, EngineTask


class ModelUnavailableError(ValueError):
    """The model cannot be had now (offline and not cached, unknown on the hub...); the message says what to do."""


@dataclass(frozen=True)
class HubModel:
    """A model named by a hub id, with the cache folder it belongs in (None: the standard Hugging Face cache)."""

    name: str  # as the user wrote it: org/name or org/name@revision
    repo_id: str
    revision: str | None
    cache_dir: str | None


def hub_model(name: str, cache_dir: str | None = None) -> HubModel | None:
    """The hub repository behind a model name, or None for presets and local folders.

    engine.hub.registry decides what a hub id is (presets and existing folders win over the hub pattern); names without
    a "/" are never hub ids and skip even that import.
    """
    name = name.strip()
    if "/" not in name:
        return None
    from ..engine import hub_reference

    hub = hub_reference(name)
    if hub is None:
        return None
    return HubModel(name, hub[0], hub[1], cache_dir or None)


@dataclass(frozen=True)
class PublishedDownload:
    """A published checkpoint (engine.hub.published) to download and convert once, and the cache folder it goes in."""

    name: str  # as the user wrote it, maybe with @revision
    title: str  # the published name, e.g. GeoPixel-7B
    repo_id: str
    download_gb: float
    converted_gb: float
    cache_dir: str | None


def published_download(name: str, cache_dir: str | None = None) -> PublishedDownload | None:
    """The published checkpoint behind a model name (case-insensitive), or None for any other name."""
    from ..engine import find_published

    found = find_published(name.strip())
    if found is None:
        return None
    entry, _ = found
    return PublishedDownload(
        name.strip(), entry.name, entry.repo_id, entry.download_gb, entry.converted_gb, cache_dir or None
    )


def hub_offline() -> bool:
    """True when huggingface_hub is told to stay offline (``HF_HUB_OFFLINE=1``)."""
    from huggingface_hub import constants

    return bool(constants.is_offline_mode())


def cached_snapshot(model: HubModel) -> Path | None:
    """The complete cached snapshot of ``model``, or None when it is missing or only partly downloaded."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        folder = snapshot_download(
            repo_id=model.repo_id, revision=model.revision, cache_dir=model.cache_dir, local_files_only=True
        )
    except (LocalEntryNotFoundError, OSError):  # IncompleteSnapshotError is a LocalEntryNotFoundError
        return None
    return Path(folder)


def unavailable_message(model: HubModel) -> str:
    return tr(
        "The model {} is not in the model cache and the Hugging Face hub cannot be reached. Download it once on a "
        "connected machine (it goes to the model cache folder of the GeoGround settings), or put a local model "
        "folder in the model picker."
    ).format(model.name)


def _pending_published(model: PublishedDownload) -> PublishedDownload | None:
    from ..engine import prepared_folder, sources_cached

    if prepared_folder(model.name, model.cache_dir) is not None:
        return None
    if hub_offline() and not sources_cached(model.name, model.cache_dir):
        raise ModelUnavailableError(
            tr(
                "The model {0} is not prepared in the model cache and the Hugging Face hub cannot be reached. On a "
                "connected machine, send an instruction with it once: it downloads {1} (about {2} GB) and converts "
                "it (about {3} GB more) into the model cache folder of the GeoGround settings."
            ).format(model.title, model.repo_id, f"{model.download_gb:g}", f"{model.converted_gb:g}")
        )
    return model  # downloaded but not converted yet: the task converts, offline too


def pending_download(name: str, cache_dir: str | None = None) -> HubModel | PublishedDownload | None:
    """The model that must be fetched (or converted) before ``name`` can be loaded, or None when nothing is needed.

    Raises :class:`ModelUnavailableError` when it is not cached and the hub is switched off (``HF_HUB_OFFLINE``),
    or when the name is a published model the chat cannot use.
    """
    published = published_download(name, cache_dir)
    if published is not None:
        return _pending_published(published)
    model = hub_model(name, cache_dir)
    if model is None or cached_snapshot(model) is not None:
        return None
    if hub_offline():
        raise ModelUnavailableError(unavailable_message(model))
    return model


def download(
    model: HubModel, report: Callable[[float], None] = lambda p: None, should_stop: Callable[[], bool] = lambda: False
) -> Path:
    """Fetch every file of ``model`` into its cache folder; returns the snapshot folder.

    Interrupted downloads continue: snapshot_download keeps each file it completed and fetches only the missing ones
    on the next call, so a stopped or failed download picks up where it was (a file cut off halfway starts again
    from its beginning; a dropped connection during one file is resumed within the call by huggingface_hub).
    Raises ``engine.types.Cancelled`` when ``should_stop()`` turns true, :class:`ModelUnavailableError` when the hub
    cannot be reached or does not have the model.
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError

    progress = DownloadProgress(report, should_stop)
    try:
        folder = snapshot_download(
            repo_id=model.repo_id,
            revision=model.revision,
            cache_dir=model.cache_dir,
            tqdm_class=progress.bar_class(),
        )
    except LocalEntryNotFoundError:
        raise ModelUnavailableError(unavailable_message(model)) from None
    except RepositoryNotFoundError:
        raise ModelUnavailableError(
            tr("The Hugging Face hub has no model {} (or it is private): check the name.").format(model.name)
        ) from None
    except HfHubHTTPError as exc:
        raise ModelUnavailableError(tr("The Hugging Face hub refused {}: {}").format(model.name, exc)) from None
    except OSError as exc:  # connection lost for good, disk full...: what was completed stays in the cache
        raise ModelUnavailableError(
            tr("The download of {} stopped: {}. Send again to continue it.").format(model.name, exc)
        ) from None
    report(100.0)
    return Path(folder)


def phase_text(model: HubModel | PublishedDownload, phase: str = "download") -> str:
    """What the dialog says during ``phase`` ("download" or "convert")."""
    if isinstance(model, HubModel):
        return tr("Downloading the model {} from the Hugging Face hub…").format(model.name)
    if phase == "convert":
        return tr("Converting {0} for GeoGround (once; about {1} GB in the model cache)…").format(
            model.title, f"{model.converted_gb:g}"
        )
    return tr("Downloading the model {0} from the Hugging Face hub (about {1} GB; it is converted once after)…").format(
        model.title, f"{model.download_gb:g}"
    )


def prepare(
    model: PublishedDownload,
    report: Callable[[float], None] = lambda p: None,
    should_stop: Callable[[], bool] = lambda: False,
    on_phase: Callable[[str], None] = lambda phase: None,
) -> Path:
    """Download and convert a published checkpoint; ``on_phase("download" | "convert")`` when a phase starts.

    Raises ``engine.types.Cancelled`` when ``should_stop()`` turns true (completed downloads are kept, no converted
    folder is left), :class:`ModelUnavailableError` when the model cannot be had.
    """
    from ..engine import ModelNotFoundError, prepare_published

    current: list[str] = []

    def progress(phase: str, percent: float) -> None:
        if current != [phase]:
            current[:] = [phase]
            on_phase(phase)
        report(percent)

    def log(message: str) -> None:
        QgsMessageLog.logMessage(message, LOG_TAG, Qgis.Info)

    try:
        return prepare_published(model.name, model.cache_dir, progress=progress, should_stop=should_stop, log=log)
    except ModelNotFoundError as exc:
        raise ModelUnavailableError(str(exc)) from None


class ModelDownloadTask(EngineTask):
    """Downloads one hub model, or downloads and converts a published one, in the background.

    ``on_done(folder, error)`` runs on the main thread; ``phase_changed(text)`` carries the dialog's new text when a
    published model moves from downloading to converting (emitted from the worker thread, delivered on the main one).
    """

    phase_changed = pyqtSignal(str)

    def __init__(self, model: HubModel | PublishedDownload, on_done: Callable[[Path | None, str | None], None]) -> None:
        if isinstance(model, PublishedDownload):
            title = tr("GeoGround: preparing {}").format(model.title)

            def job(task: ModelDownloadTask) -> Path:
                return prepare(
                    model, task.report, task.isCanceled, lambda p: task.phase_changed.emit(phase_text(model, p))
                )

        else:
            title = tr("GeoGround: downloading {}").format(model.name)

            def job(task: ModelDownloadTask) -> Path:
                return download(model, task.report, task.isCanceled)

        super().__init__(title, job, on_done)
        self.model = model

    def label(self) -> str:
        """The dialog's first text."""
        return phase_text(self.model)


def start_download(
    model: HubModel | PublishedDownload, on_done: Callable[[Path | None, str | None], None]
) -> ModelDownloadTask:
    task = ModelDownloadTask(model, on_done)
    QgsApplication.taskManager().addTask(task)
    return task
