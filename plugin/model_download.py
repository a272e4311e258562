"""Getting a Hugging Face hub model into the cache before its first chat, in a cancellable background task.

The download goes through ``huggingface_hub.snapshot_download`` into the cache folder the engine reads later (the
settings' model cache folder, else the standard Hugging Face cache), so loading the model afterwards needs no
network. Nothing here touches widgets: the dialog only listens to the task's progress and calls ``cancel()``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from qgis.core import QgsApplication

from .i18n import tr
from .tasks import EngineTask


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

    engine.registry decides what a hub id is (presets and existing folders win over the hub pattern); names without
    a "/" are never hub ids and skip even that import.
    """
    name = name.strip()
    if "/" not in name:
        return None
    from ..engine.registry import hub_reference

    hub = hub_reference(name)
    if hub is None:
        return None
    return HubModel(name, hub[0], hub[1], cache_dir or None)


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


def pending_download(name: str, cache_dir: str | None = None) -> HubModel | None:
    """The hub model that must be downloaded before ``name`` can be loaded, or None when nothing needs fetching.

    Raises :class:`ModelUnavailableError` when it is not cached and the hub is switched off (``HF_HUB_OFFLINE``).
    """
    model = hub_model(name, cache_dir)
    if model is None or cached_snapshot(model) is not None:
        return None
    if hub_offline():
        raise ModelUnavailableError(unavailable_message(model))
    return model


class DownloadProgress:
    """Turns the progress bars snapshot_download opens (bytes written, files fetched) into one percentage.

    Bars are updated from the download's worker threads; a stop request is raised from inside ``update`` so every
    worker gives up at its next chunk.
    """

    def __init__(self, report: Callable[[float], None], should_stop: Callable[[], bool]) -> None:
        self._report = report
        self._should_stop = should_stop
        self._lock = threading.Lock()
        self._bars: list = []

    def add(self, bar) -> None:
        with self._lock:
            self._bars.append(bar)

    def percent(self) -> float:
        """Bytes written over bytes known (the byte bars' totals grow as files start); file count before that."""
        with self._lock:
            bars = [bar for bar in self._bars if bar.total]
        byte_bars = [bar for bar in bars if bar.unit == "B"]
        chosen = byte_bars or bars
        if not chosen:
            return 0.0
        bar = max(chosen, key=lambda b: b.n / b.total)
        return max(0.0, min(100.0, 100.0 * bar.n / bar.total))

    def changed(self) -> None:
        from ..engine.types import Cancelled

        if self._should_stop():
            raise Cancelled("download stopped")
        self._report(self.percent())

    def bar_class(self) -> type:
        """A tqdm class for snapshot_download's ``tqdm_class`` that reports here instead of printing."""
        from tqdm.auto import tqdm

        progress = self

        class ReportingBar(tqdm):
            monitor_interval = 0  # no tqdm monitor thread left behind in QGIS

            def __init__(self, *args, **kwargs) -> None:
                kwargs["file"] = _Discard()
                kwargs.pop("name", None)
                super().__init__(*args, **kwargs)
                progress.add(self)

            def update(self, n: float | None = 1):
                shown = super().update(n)
                progress.changed()
                return shown

        return ReportingBar


class _Discard:
    """A text stream that drops what tqdm writes (the dialog shows the progress)."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


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


class ModelDownloadTask(EngineTask):
    """Downloads one hub model in the background; ``on_done(folder, error)`` runs on the main thread."""

    def __init__(self, model: HubModel, on_done: Callable[[Path | None, str | None], None]) -> None:
        super().__init__(
            tr("GeoGround: downloading {}").format(model.name),
            lambda task: download(model, task.report, task.isCanceled),
            on_done,
        )
        self.model = model


def start_download(model: HubModel, on_done: Callable[[Path | None, str | None], None]) -> ModelDownloadTask:
    task = ModelDownloadTask(model, on_done)
    QgsApplication.taskManager().addTask(task)
    return task
