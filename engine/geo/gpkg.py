"""Safe GeoPackage writing with pyogrio: polygon layers plus the conversation as a plain table.

A GeoPackage is written to a hidden temporary file beside the destination (``.NAME.XXXXXXXX.tmp.gpkg``), flushed to
disk and moved over the destination with ``os.replace`` only when complete, so a failure halfway (full disk, bad
geometry, a killed run, a power loss) never leaves a damaged file and never touches an existing one. Appending copies
the existing file, adds to the copy and replaces the original; the file keeps its permission bits.

Writers of one destination take turns: each holds an exclusive lock on ``.NAME.lock`` beside it from before it reads
the destination until the new file is in place (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows; the system
drops the lock of a process that dies). So concurrent appends all land, and a temporary file seen while holding the
lock was left by a writer that is gone: it is removed.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
import stat
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pyogrio
import shapely
from pyogrio.raw import write as ogr_write

from ..errors import first_line
from .errors import OutputError

if TYPE_CHECKING:
    from .pipeline import SegmentationResult

CONVERSATION_TABLE = "conversation"

LOCK_TIMEOUT_S = 300.0
"""How long a writer waits for another writer of the same file before it gives up with an OutputError."""

_TEMP_SUFFIX = ".tmp.gpkg"
_TEMP_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789_"  # the one tempfile.mkstemp uses, so older leftovers match
_SQLITE_SIDE_FILES = ("-journal", "-wal", "-shm")
_O_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation
_FULL_ERRNOS = frozenset(filter(None, (errno.ENOSPC, getattr(errno, "EDQUOT", None))))
_FULL_BELOW_BYTES = 1 << 20  # less free space than this after a failed write: the disk was full
_MAX_DETAIL = 300  # GDAL puts whole SQL scripts in some messages


@dataclass
class VectorLayer:
    """Polygons and their attribute columns (same length as ``geometries``), in the CRS given as WKT (or None)."""

    name: str
    geometries: list[shapely.Geometry]
    columns: dict[str, np.ndarray]
    crs_wkt: str | None = None


@dataclass
class Table:
    """A non-spatial table (no geometry column)."""

    name: str
    columns: dict[str, np.ndarray] = field(default_factory=dict)


def layer_names(path: str | os.PathLike) -> list[str]:
    """Names of the layers and tables of an existing GeoPackage."""
    try:
        return [str(name) for name in pyogrio.list_layers(os.fspath(path))[:, 0]]
    except pyogrio.errors.DataSourceError as exc:
        raise OutputError(f"{os.fspath(path)} is not a readable GeoPackage: {first_line(exc)}") from exc


def unique_layer_name(text: str, taken: Sequence[str]) -> str:
    """A layer name from free text (lower case, letters/digits/underscores, at most 48 chars) not in ``taken``."""
    base = re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")[:48].strip("_") or "segments"
    if base[0].isdigit():
        base = f"l_{base}"
    taken_lower = {t.lower() for t in taken} | {CONVERSATION_TABLE}
    name, n = base, 2
    while name.lower() in taken_lower:
        name, n = f"{base}_{n}", n + 1
    return name


def check_destination(path: str | os.PathLike, *, append: bool = False, overwrite: bool = False) -> str:
    """Fail early, before any work, when ``path`` cannot be written as asked; returns its folder."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    exists = os.path.exists(path)
    if exists and os.path.isdir(path):
        raise OutputError(f"output is a folder, not a file: {path}")
    if exists and not append and not overwrite:
        raise OutputError(f"{path} already exists: append to it or choose to overwrite it")
    if not os.path.isdir(folder):
        raise OutputError(f"output folder does not exist: {folder}")
    if not os.access(folder, os.W_OK):
        raise OutputError(f"cannot write in {folder}: permission denied")
    if exists and append:
        layer_names(path)  # raises when it is not a GeoPackage
    return folder


Contents = Callable[[list[str]], tuple[Sequence[VectorLayer], Sequence[Table]]]
"""Given the names already in the file being appended to (none otherwise), the layers and tables to write."""


def write_geopackage(
    path: str | os.PathLike,
    layers: Sequence[VectorLayer],
    tables: Sequence[Table] = (),
    *,
    append: bool = False,
    overwrite: bool = False,
) -> None:
    """Write ``layers`` and ``tables`` to ``path`` atomically, after any other writer of ``path`` has finished.

    Without ``append`` an existing file is an error unless ``overwrite``. With ``append`` the layers are added to the
    existing GeoPackage (names must be new) and table rows are appended to same-named tables.
    """
    _write(path, lambda existing: (layers, tables), append=append, overwrite=overwrite)


def _write(path: str | os.PathLike, contents: Contents, *, append: bool, overwrite: bool) -> None:
    """Write what ``contents`` gives under the lock of ``path``: it sees the file as no other writer can change it."""
    path = os.fspath(path)
    folder = check_destination(path, append=append, overwrite=overwrite)  # clear errors before the lock file
    with _exclusive(path):
        _remove_stale_temporaries(path, folder)
        check_destination(path, append=append, overwrite=overwrite)  # again: a writer before us may have made the file
        exists = os.path.exists(path)
        existing = layer_names(path) if exists and append else []
        layers, tables = contents(existing)
        clash = sorted({layer.name for layer in layers} & set(existing))
        if clash:
            raise OutputError(f"{path} already has layer(s) {', '.join(clash)}")
        _write_and_replace(path, folder, layers, tables, existing, copy=exists and append)


def _write_and_replace(
    path: str,
    folder: str,
    layers: Sequence[VectorLayer],
    tables: Sequence[Table],
    existing: Sequence[str],
    *,
    copy: bool,
) -> None:
    temp, new_file_mode = _create_temporary(path, folder)
    try:
        if copy:
            shutil.copyfile(path, temp)
        else:
            os.remove(temp)  # GDAL creates a GeoPackage only where there is no file
        for layer in layers:
            _write_layer(temp, layer, append_to_file=os.path.exists(temp))
        for table in tables:
            _write_table(temp, table, table.name in existing)
        exists = os.path.exists(path)
        if exists and not os.access(path, os.W_OK):
            raise OutputError(f"cannot replace {path}: permission denied")
        _flush_file(temp)  # the data is on disk before the name points at it
        os.chmod(temp, stat.S_IMODE(os.stat(path).st_mode) if exists else new_file_mode)
        os.replace(temp, path)
    except OutputError:
        _remove_temporary(temp)
        raise
    except (OSError, pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        error = _write_error(path, folder, exc)  # before removing the temporary file, which fills the disk
        _remove_temporary(temp)
        raise error from exc
    except BaseException:
        _remove_temporary(temp)
        raise
    _flush_folder(folder)


def _write_layer(path: str, layer: VectorLayer, append_to_file: bool) -> None:
    multi = any(g.geom_type == "MultiPolygon" for g in layer.geometries)
    wkb = np.array(shapely.to_wkb(layer.geometries), dtype=object) if layer.geometries else np.array([], dtype=object)
    names = list(layer.columns)
    with warnings.catch_warnings():
        # a raster without CRS gives pixel-coordinate layers on purpose; the caller has warned about it already
        warnings.filterwarnings("ignore", message=".*'crs' was not provided", category=UserWarning)
        ogr_write(
            path,
            wkb,
            [np.asarray(layer.columns[n]) for n in names],
            names,
            layer=layer.name,
            driver="GPKG",
            geometry_type="MultiPolygon" if multi else "Polygon",
            promote_to_multi=multi,
            crs=layer.crs_wkt,
            append=append_to_file,
        )


def _write_table(path: str, table: Table, into_existing: bool) -> None:
    names = list(table.columns)
    ogr_write(
        path,
        None,
        [np.asarray(table.columns[n]) for n in names],
        names,
        layer=table.name,
        driver="GPKG",
        append=into_existing or os.path.exists(path),
    )


def _write_error(path: str, folder: str, exc: BaseException) -> OutputError:
    """One line for a failed write; GDAL often reports a full disk as a missing table, so free space is checked."""
    if _disk_full(exc, folder):
        return OutputError(f"cannot write {path}: {os.strerror(errno.ENOSPC)} in {folder}")
    detail = first_line(exc)
    return OutputError(f"cannot write {path}: {detail if len(detail) <= _MAX_DETAIL else detail[:_MAX_DETAIL] + '...'}")


def _disk_full(exc: BaseException, folder: str) -> bool:
    error: BaseException | None = exc
    for _ in range(8):  # the error and what caused it
        if error is None:
            break
        if isinstance(error, OSError) and error.errno in _FULL_ERRNOS:
            return True
        text = str(error).lower()
        if "disk is full" in text or "no space left" in text:  # SQLite's and the C library's words
            return True
        error = error.__cause__ or error.__context__
    try:
        return shutil.disk_usage(folder).free < _FULL_BELOW_BYTES
    except OSError:
        return False


def _create_temporary(path: str, folder: str) -> tuple[str, int]:
    """Create an empty temporary file for ``path``; return its name and the permission bits a normal new file gets.

    The file is created with 0o666 so the system applies the umask (or the folder's default ACL): reading the umask
    itself would change it for every thread of the process for a moment.
    """
    prefix = os.path.join(folder, f".{os.path.basename(path)}.")
    for _ in range(100):
        name = prefix + "".join(secrets.choice(_TEMP_ALPHABET) for _ in range(8)) + _TEMP_SUFFIX
        try:
            handle = os.open(name, os.O_RDWR | os.O_CREAT | os.O_EXCL | _O_BINARY, 0o666)
        except FileExistsError:
            continue
        try:
            return name, stat.S_IMODE(os.fstat(handle).st_mode)
        finally:
            os.close(handle)
    raise FileExistsError(errno.EEXIST, "no free name for a temporary file", prefix)


def _remove_temporary(temp: str) -> None:
    for name in (temp, *(temp + side for side in _SQLITE_SIDE_FILES)):
        with suppress(FileNotFoundError):
            os.remove(name)


def _remove_stale_temporaries(path: str, folder: str) -> None:
    """Remove what writers of ``path`` that died halfway left. Only called under the lock: a writer that is still
    running holds it, so every temporary file of ``path`` seen now belongs to one that is gone."""
    pattern = re.compile(
        re.escape(f".{os.path.basename(path)}.")
        + f"[{_TEMP_ALPHABET}]{{8}}"
        + re.escape(_TEMP_SUFFIX)
        + f"({'|'.join(_SQLITE_SIDE_FILES)})?",
        re.IGNORECASE if os.name == "nt" else 0,
    )
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if pattern.fullmatch(name):
            with suppress(OSError):
                os.remove(os.path.join(folder, name))


def _flush_file(name: str) -> None:
    handle = os.open(name, (os.O_RDWR if os.name == "nt" else os.O_RDONLY) | _O_BINARY)  # Windows: writable only
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _flush_folder(folder: str) -> None:
    """Make the rename itself durable on POSIX (Windows cannot open a folder for this). The new file is in place
    already, so a file system that cannot do it is not an error."""
    if os.name == "nt":
        return
    with suppress(OSError):
        handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def _lock_path(path: str) -> str:
    return os.path.join(os.path.dirname(os.path.abspath(path)), f".{os.path.basename(path)}.lock")


@contextmanager
def _exclusive(path: str) -> Iterator[None]:
    """Hold the lock of ``path`` for the block, waiting up to LOCK_TIMEOUT_S for the writer that holds it.

    The lock file is removed when done, so on POSIX a waiter may end up locking a file that is no longer there: it
    checks, after locking, that its file is still the one at the lock's name, and starts again if not. Windows cannot
    remove a file another process has open, so there the file a waiter holds is always the current one.
    """
    lock, timeout = _lock_path(path), LOCK_TIMEOUT_S
    deadline, pause = time.monotonic() + timeout, 0.01
    while True:
        handle = _open_lock(lock, path)
        if handle is not None:
            try:
                locked = _try_lock(handle)
            except OSError as exc:  # a file system without locks
                os.close(handle)
                raise OutputError(f"cannot lock {path} for writing: {first_line(exc)}") from exc
            if locked and (os.name == "nt" or _is_at(handle, lock)):
                break
            if locked:
                _unlock(handle)
            os.close(handle)
        if time.monotonic() >= deadline:
            raise OutputError(f"{path} is being written by another process: gave up waiting after {timeout:g} s")
        time.sleep(pause)
        pause = min(2 * pause, 0.2)
    try:
        yield
    finally:
        if os.name == "nt":  # Windows cannot remove a file that is open, so it goes last, and not if a waiter has it
            _unlock(handle)
            os.close(handle)
            with suppress(OSError):
                os.remove(lock)
        else:  # removed while still locked: a waiter on this file sees it is gone once it gets the lock
            with suppress(OSError):
                os.remove(lock)
            _unlock(handle)
            os.close(handle)


def _open_lock(lock: str, path: str) -> int | None:
    """A handle on the lock file, created if need be; None when Windows refuses it for a moment (being removed)."""
    try:
        return os.open(lock, os.O_RDWR | os.O_CREAT | _O_BINARY, 0o666)
    except PermissionError as exc:
        if os.name == "nt":
            return None
        try:  # left by a killed writer of another user: locking needs only read access
            return os.open(lock, os.O_RDONLY | _O_BINARY)
        except OSError:
            raise OutputError(f"cannot lock {path} for writing: {first_line(exc)}") from exc
    except OSError as exc:
        raise OutputError(f"cannot lock {path} for writing: {first_line(exc)}") from exc


def _is_at(handle: int, name: str) -> bool:
    try:
        return os.path.samestat(os.fstat(handle), os.stat(name))
    except FileNotFoundError:
        return False


if os.name == "nt":
    import msvcrt

    def _try_lock(handle: int) -> bool:
        os.lseek(handle, 0, os.SEEK_SET)
        try:
            msvcrt.locking(handle, msvcrt.LK_NBLCK, 1)
        except OSError as exc:
            if exc.errno in (errno.EACCES, getattr(errno, "EDEADLOCK", errno.EDEADLK)):  # another process holds it
                return False
            raise
        return True

    def _unlock(handle: int) -> None:
        os.lseek(handle, 0, os.SEEK_SET)
        msvcrt.locking(handle, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(handle: int) -> bool:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another process holds it
            return False
        return True

    def _unlock(handle: int) -> None:
        fcntl.flock(handle, fcntl.LOCK_UN)


def write_result(
    result: SegmentationResult,
    gpkg_path: str | os.PathLike,
    *,
    append: bool = False,
    overwrite: bool = False,
    layer: str | None = None,
) -> str:
    """Write the features as a new layer (named after the instruction unless ``layer``) and the conversation turns as
    rows of the ``conversation`` table; atomic (see :mod:`.gpkg`). Returns the layer name.

    The name and the turn numbers are chosen under the lock, so concurrent appends get distinct ones."""
    chosen: list[str] = []

    def contents(taken: list[str]) -> tuple[list[VectorLayer], list[Table]]:
        name = layer or unique_layer_name(result.instruction, taken)
        chosen.append(name)
        features = result.features
        count = len(features)
        columns = {
            "phrase": np.array([f.phrase for f in features], dtype=object),
            "class": np.array([f.label or f.phrase for f in features], dtype=object),
            "score": np.array([f.score for f in features], dtype=np.float64),
            "area_m2": np.array([f.area_m2 for f in features], dtype=np.float64),
            "perimeter_m": np.array([f.perimeter_m for f in features], dtype=np.float64),
            "instruction": np.array([result.instruction] * count, dtype=object),
            "model": np.array([result.model] * count, dtype=object),
            "created": np.array([result.created] * count, dtype=object),
        }
        turns = result.conversation
        start = _next_turn_index(gpkg_path) if taken else 0
        table = Table(
            CONVERSATION_TABLE,
            {
                "turn": np.arange(start, start + len(turns), dtype=np.int64),
                "role": np.array([t.role for t in turns], dtype=object),
                "text": np.array([t.text for t in turns], dtype=object),
                "created": np.array([result.created] * len(turns), dtype=object),
                "layer": np.array([name] * len(turns), dtype=object),
            },
        )
        return [VectorLayer(name, [f.geometry for f in features], columns, result.crs_wkt)], [table]

    _write(gpkg_path, contents, append=append, overwrite=overwrite)
    return chosen[-1]


def _next_turn_index(gpkg_path: str | os.PathLike) -> int:
    from pyogrio.raw import read

    if CONVERSATION_TABLE not in layer_names(gpkg_path):
        return 0
    _, _, _, columns = read(os.fspath(gpkg_path), layer=CONVERSATION_TABLE, columns=["turn"])
    return int(columns[0].max()) + 1 if len(columns[0]) else 0


__all__ = [
    "write_result",
    "CONVERSATION_TABLE",
    "LOCK_TIMEOUT_S",
    "Table",
    "VectorLayer",
    "check_destination",
    "layer_names",
    "unique_layer_name",
    "write_geopackage",
]
