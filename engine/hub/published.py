"""The published GeoPixel and GeoPix checkpoints by name: downloaded once, converted once, then loaded as a folder.

``prepare_published("GeoPixel-7B")`` fetches only the files the converter reads (``allow_patterns``) into the
Hugging Face cache, plus InternLM2's tokenizer files from InternLM-XComposer-2.5's repository (the GeoPixel
repositories carry no ``tokenizer.model``), converts them with :mod:`engine.convert` into
``<cache>/geoground-converted/<name>-<revision>`` and returns that folder. Later calls return it at once, without
touching the network, so it also serves offline (``HF_HUB_OFFLINE=1``).

Interruptions lose little: snapshot_download keeps every file it completed, and a conversion is written into a
hidden sibling folder (``.<name>-<revision>.partial``) that is renamed only when complete, so a stopped or killed
conversion never leaves a folder that looks finished; the next call removes the leftover and converts again.

Several processes may prepare the same model at once (the ranks of ``torchrun ... -m engine batch --model
GeoPixel-7B``): the conversion runs under an inter-process lock on ``.<name>-<revision>.lock`` beside the folder
(``flock`` on POSIX, ``msvcrt.locking`` on Windows; the file goes when the conversion ends), so one process converts
and the others wait for it, then use its folder. A killed process releases its lock with it.

Disk (approximate): GeoPixel-7B and GeoPixel-7B-RES download about 23 GB each (bf16 pickles) and convert to about
17 GB; GeoPix downloads about 16 GB and converts to about 14 GB. The downloaded pickles stay in the hub cache and
may be deleted there once converted: chatting needs only the converted folder.

A name may pin a revision of the weights repository: ``GeoPixel-7B@<commit or tag>`` (default: ``main``, converted
once; pin a revision to pick up a newer upload).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import ModelNotFoundError, first_line
from ..types import Cancelled

Phase = Literal["download", "convert"]
ProgressCallback = Callable[[Phase, float], None]

CONVERTED_DIR = "geoground-converted"
PROVENANCE_FILE = "published.json"
INTERNLM2_TOKENIZER_REPO = "internlm/internlm-xcomposer2d5-7b"
INTERNLM2_TOKENIZER_FILES = ("tokenizer.model", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json")
_LOG = logging.getLogger(__name__)
LOCK_POLL_S = 0.2  # how often a process waiting for another's conversion checks the lock and should_stop


@dataclass(frozen=True)
class PublishedModel:
    """One published checkpoint: where it lives, what to fetch, how to convert it, how big it is."""

    name: str
    repo_id: str
    converter: Literal["geopixel", "geopix"]
    files: tuple[str, ...]  # allow_patterns: the files the converter reads, nothing else
    download_gb: float
    converted_gb: float
    revision: str = "main"
    tokenizer_repo: str | None = None  # a second repository holding the tokenizer, when the weights lack it
    tokenizer_revision: str = "main"
    tokenizer_files: tuple[str, ...] = ()
    overrides: dict[str, Any] | None = field(default=None, compare=False)  # converter config overrides

    def needs(self) -> str:
        """What must be downloaded, for messages."""
        text = f"{self.repo_id} (about {self.download_gb:g} GB)"
        if self.tokenizer_repo:
            text += f" and the tokenizer files of {self.tokenizer_repo}"
        return text


_GEOPIXEL_FILES = ("*.json", "pytorch_model*.bin")
_GEOPIX_FILES = (  # configs and tokenizer files at the top and in the sub-folders, weights of the parts
    "*.json",
    "*.pth",
    "tokenizer.model",
    "vlm/tokenizer.model",
    *(f"{sub}/*.{ext}" for sub in ("vlm", "seg", "pec", "clm") for ext in ("safetensors", "bin")),
)
_ENTRIES = (
    PublishedModel(
        "GeoPixel-7B",
        "MBZUAI/GeoPixel-7B",
        "geopixel",
        _GEOPIXEL_FILES,
        download_gb=23,
        converted_gb=17,
        tokenizer_repo=INTERNLM2_TOKENIZER_REPO,
        tokenizer_files=INTERNLM2_TOKENIZER_FILES,
    ),
    PublishedModel(
        "GeoPixel-7B-RES",
        "MBZUAI/GeoPixel-7B-RES",
        "geopixel",
        _GEOPIXEL_FILES,
        download_gb=23,
        converted_gb=17,
        tokenizer_repo=INTERNLM2_TOKENIZER_REPO,
        tokenizer_files=INTERNLM2_TOKENIZER_FILES,
    ),
    PublishedModel(
        "GeoPix",
        "Norman-ou/GeoPix-ft-sior_rsicap",
        "geopix",
        _GEOPIX_FILES,
        download_gb=16,
        converted_gb=14,
    ),
)
PUBLISHED: dict[str, PublishedModel] = {entry.name.lower(): entry for entry in _ENTRIES}


def published_names() -> list[str]:
    return [entry.name for entry in PUBLISHED.values()]


def find_published(model: str | Path) -> tuple[PublishedModel, str] | None:
    """``(entry, revision)`` when ``model`` names a published model (case-insensitive, optional ``@revision``);
    None otherwise, and for an existing local folder of that name (folders win, as in ``registry.resolve``)."""
    name = str(model).strip()
    base, _, revision = name.partition("@")
    entry = PUBLISHED.get(base.strip().lower())
    if entry is None or Path(name).expanduser().is_dir():
        return None
    return entry, revision.strip() or entry.revision


def converted_root(cache_dir: str | Path | None = None) -> Path:
    """``<cache_dir or the Hugging Face hub cache>/geoground-converted``."""
    if cache_dir:
        return Path(cache_dir).expanduser() / CONVERTED_DIR
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE) / CONVERTED_DIR


def converted_folder(entry: PublishedModel, revision: str, cache_dir: str | Path | None = None) -> Path:
    return converted_root(cache_dir) / f"{entry.name}-{re.sub(r'[^A-Za-z0-9_.-]', '-', revision)}"


def _complete(folder: Path) -> bool:
    return (folder / "config.json").is_file()


def prepared_folder(model: str | Path, cache_dir: str | Path | None = None) -> Path | None:
    """The converted folder of a published model when it is ready; None when it is not (or not a published name).
    Light: no network, no torch."""
    found = find_published(model)
    if found is None:
        return None
    folder = converted_folder(*found, cache_dir)
    return folder if _complete(folder) else None


def sources_cached(model: str | Path, cache_dir: str | Path | None = None) -> bool:
    """True when every file the conversion needs is already in the hub cache (it can then run offline)."""
    from huggingface_hub.errors import LocalEntryNotFoundError

    found = find_published(model)
    if found is None:
        return False
    entry, revision = found
    wanted = [(entry.repo_id, revision, entry.files)]
    if entry.tokenizer_repo:
        wanted.append((entry.tokenizer_repo, entry.tokenizer_revision, entry.tokenizer_files))
    try:
        for repo_id, repo_revision, files in wanted:
            _snapshot(repo_id, repo_revision, files, cache_dir, local_only=True)
    except (LocalEntryNotFoundError, OSError):  # IncompleteSnapshotError is a LocalEntryNotFoundError
        return False
    return True


def prepare_published(
    name: str,
    cache_dir: str | Path | None = None,
    *,
    progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Download (what is missing) and convert (once) the published model ``name``; returns the converted folder.

    ``progress(phase, percent)``: ``"download"`` then ``"convert"``, 0-100 within each phase. ``should_stop()`` is
    checked while downloading (every chunk) and converting (between shards); when it turns true
    :class:`~engine.types.Cancelled` is raised, completed downloads are kept and no converted folder is left.
    Raises :class:`~engine.errors.ModelNotFoundError` with a one-line message when the model cannot be had.
    """
    found = find_published(name)
    if found is None:
        raise ModelNotFoundError(f"{name!r} is not a published model; published: {', '.join(published_names())}")
    entry, revision = found
    final = converted_folder(entry, revision, cache_dir)
    if _complete(final):
        return final
    report = progress or (lambda phase, percent: None)
    stop = should_stop or (lambda: False)
    log = log or _LOG.info
    _check_packages(entry)
    tokenizer = None
    if entry.tokenizer_repo:
        log(f"getting the tokenizer files of {entry.tokenizer_repo}")
        tokenizer = _download(
            entry, entry.tokenizer_repo, entry.tokenizer_revision, entry.tokenizer_files, cache_dir, stop, None
        )
    log(f"getting {entry.repo_id}@{revision} (about {entry.download_gb:g} GB; completed files are kept)")
    report("download", 0.0)
    weights = _download(
        entry, entry.repo_id, revision, entry.files, cache_dir, stop, lambda percent: report("download", percent)
    )
    report("download", 100.0)
    _stop_if_asked(stop)
    root = final.parent
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ModelNotFoundError(f"cannot create {root} to convert {entry.name}: {first_line(error)}") from None

    def waiting() -> None:
        log(f"another process is converting {entry.name} into {final}; waiting for it")

    with _exclusive(root / f".{final.name}.lock", stop, waiting):
        if not _complete(final):  # else converted by the process that held the lock before us
            _convert(entry, revision, weights, tokenizer, final, report, stop, log)
    report("convert", 100.0)
    return final


@contextmanager
def _exclusive(path: Path, stop: Callable[[], bool], waiting: Callable[[], None]) -> Iterator[None]:
    """Hold an inter-process lock on the file ``path`` (created, and removed on release) while the block runs.

    Waiting polls, so ``stop()`` still cancels. The file is removed before it is unlocked; a process that was
    waiting on it then finds it gone and locks a new one, so two processes never both hold "the" lock.
    """
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise ModelNotFoundError(f"cannot create the lock file {path}: {first_line(error)}") from None
        try:
            told = False
            while not _try_lock(fd):
                if not told:
                    waiting()
                    told = True
                _stop_if_asked(stop)
                time.sleep(LOCK_POLL_S)
            if _same_file(fd, path):
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # unlocked and removed by its holder meanwhile: lock the file that is there now
    try:
        yield
    finally:
        with suppress(OSError):  # Windows cannot remove an open file: it then stays, unlocked, for the next one
            path.unlink()
        _unlock(fd)
        os.close(fd)


def _try_lock(fd: int) -> bool:
    """Lock ``fd`` without blocking: False when another process holds it."""
    if os.name == "nt":
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:  # a file system without locks: convert unguarded, as before locks existed
        return True
    return True


def _unlock(fd: int) -> None:
    with suppress(OSError):
        if os.name == "nt":
            import msvcrt

            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_UN)


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except OSError:
        return False


def _stop_if_asked(stop: Callable[[], bool]) -> None:
    if stop():
        raise Cancelled("preparing the published model was stopped")


def _check_packages(entry: PublishedModel) -> None:
    """GeoPixel's tokenizer conversion needs sentencepiece and protobuf: say so before a 23 GB download."""
    if entry.converter != "geopixel":
        return
    missing = []
    for module, package in (("sentencepiece", "sentencepiece"), ("google.protobuf", "protobuf")):
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # the parent package is absent
            found = False
        if not found:
            missing.append(package)
    if missing:
        raise ModelNotFoundError(
            f"preparing {entry.name} needs the Python packages {' and '.join(missing)} to convert its tokenizer "
            f"(pip install {' '.join(missing)})"
        )


def _snapshot(
    repo_id: str, revision: str, files: tuple[str, ...], cache_dir, *, local_only: bool = False, tqdm_class=None
) -> Path:
    from huggingface_hub import snapshot_download

    folder = snapshot_download(
        repo_id=repo_id,
        revision=revision,
        cache_dir=cache_dir,
        allow_patterns=list(files),
        local_files_only=local_only,
        tqdm_class=tqdm_class,
    )
    return Path(folder)


def _download(
    entry: PublishedModel,
    repo_id: str,
    revision: str,
    files: tuple[str, ...],
    cache_dir,
    stop: Callable[[], bool],
    report: Callable[[float], None] | None,
) -> Path:
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    from .progress import DownloadProgress

    bars = DownloadProgress(report or (lambda percent: None), stop)
    try:
        return _snapshot(repo_id, revision, files, cache_dir, tqdm_class=bars.bar_class())
    except LocalEntryNotFoundError:  # offline (HF_HUB_OFFLINE) or unreachable, and not in the cache
        raise ModelNotFoundError(
            f"{entry.name} is not prepared in {converted_root(cache_dir)} and the Hugging Face hub cannot be reached: "
            f"connect once to download {entry.needs()} into {cache_dir or 'the Hugging Face cache'}, or convert a "
            f"copy with 'python -m engine convert {entry.converter}' and load that folder"
        ) from None
    except HfHubHTTPError as error:  # unknown repository or revision, gated, hub down
        raise ModelNotFoundError(
            f"cannot download {repo_id}@{revision} for {entry.name}: {first_line(error)}"
        ) from None
    except OSError as error:  # connection lost for good, disk full: what was completed stays in the cache
        raise ModelNotFoundError(
            f"the download of {repo_id} for {entry.name} stopped ({first_line(error)}); try again to continue it"
        ) from None


def _check_space(entry: PublishedModel, root: Path) -> None:
    free = shutil.disk_usage(root).free / 1e9
    if free < entry.converted_gb:
        raise ModelNotFoundError(
            f"converting {entry.name} needs about {entry.converted_gb:g} GB free in {root}, only {free:.1f} GB is free"
        )


def _convert(
    entry: PublishedModel,
    revision: str,
    weights: Path,
    tokenizer: Path | None,
    final: Path,
    report: ProgressCallback,
    stop: Callable[[], bool],
    log: Callable[[str], None],
) -> None:
    """Convert into the hidden ``.partial`` sibling of ``final``, then rename it: ``final`` appears complete or not
    at all. Called under the conversion lock, so a ``.partial`` folder found here was left by a dead process."""
    from ..convert import ConversionError, convert_geopix, convert_geopixel
    from ..convert.checkpoint_io import pickle_shards

    root = final.parent
    partial = root / f".{final.name}.partial"
    for leftover in (partial, final):  # a final folder without config.json was not written by a finished conversion
        if leftover.exists():
            log(f"removing {leftover}, left by an interrupted conversion")
            shutil.rmtree(leftover)
    _check_space(entry, root)
    options: dict[str, Any] = {}
    steps = 1
    if entry.converter == "geopixel":
        options["tokenizer"] = tokenizer
        try:
            steps = len(pickle_shards(weights)) + 1
        except ConversionError as error:
            raise ModelNotFoundError(f"{entry.name} was downloaded but does not convert: {first_line(error)}") from None
    convert = convert_geopixel if entry.converter == "geopixel" else convert_geopix
    done = 0

    def step(message: str) -> None:  # the converters log after each shard: a place to report and to stop
        nonlocal done
        log(message)
        _stop_if_asked(stop)
        if message.startswith("converted "):
            done += 1
            report("convert", min(99.0, 100.0 * done / steps))

    log(f"converting {entry.name} into {final} (about {entry.converted_gb:g} GB)")
    report("convert", 0.0)
    try:
        convert(weights, partial, overrides=entry.overrides, log=step, **options)
        provenance = {
            "name": entry.name,
            "repo_id": entry.repo_id,
            "revision": revision,
            "commit": weights.name,  # snapshot folders are named by commit
            "tokenizer_repo": entry.tokenizer_repo,
            "tokenizer_commit": tokenizer.name if tokenizer is not None else None,
        }
        (partial / PROVENANCE_FILE).write_text(json.dumps(provenance, indent=2), encoding="utf-8")
        _stop_if_asked(stop)
        try:
            os.replace(partial, final)
        except OSError:
            if not _complete(final):  # not another process finishing first: a real failure
                raise
    except ConversionError as error:
        log(str(error))
        raise ModelNotFoundError(f"{entry.name} was downloaded but does not convert: {first_line(error)}") from None
    except OSError as error:  # disk full, permissions: nothing half-written is kept
        raise ModelNotFoundError(f"converting {entry.name} into {root} failed: {first_line(error)}") from None
    finally:
        if partial.exists():
            shutil.rmtree(partial, ignore_errors=True)
    log(f"{entry.name} is ready in {final}")
