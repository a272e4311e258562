"""Temporary stores for the results of unsaved projects: one private folder per project and QGIS process.

A shared fixed path would mix the conversations of every unsaved project, QGIS instance and user of the machine, so
each unsaved project gets its own folder, made on first use under a per-user folder of the temporary directory. The
folder name carries the process id: stores left by QGIS processes that are gone are removed when a new one is made.
"""

from __future__ import annotations

import getpass
import os
import re
import shutil
import tempfile
from pathlib import Path

STORE_PREFIX = "unsaved-"
STORE_GPKG = "unsaved_project_geoground.gpkg"
_STORE_NAME = re.compile(rf"^{STORE_PREFIX}(\d+)-")


def store_root() -> Path:
    """This user's folder of stores in the temporary directory (private to the user where the OS allows it)."""
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (no USER variable, no passwd entry): fall back to the uid
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    root = Path(tempfile.gettempdir()) / ("geoground-" + (re.sub(r"[^\w.-]", "_", user) or "user"))
    root.mkdir(mode=0o700, exist_ok=True)
    if hasattr(os, "getuid") and (root.is_symlink() or root.stat().st_uid != os.getuid()):
        # Someone else's folder (or a link) under our name: never write results into it.
        return Path(tempfile.mkdtemp(prefix="geoground-"))
    return root


def new_store(root: Path | None = None) -> Path:
    """A new, empty store folder for one unsaved project; returns the GeoPackage path inside it (not yet created).

    Stores of processes that are gone are removed first.
    """
    root = root or store_root()
    remove_dead_stores(root)
    folder = Path(tempfile.mkdtemp(prefix=f"{STORE_PREFIX}{os.getpid()}-", dir=root))
    return folder / STORE_GPKG


def remove_store(gpkg: Path) -> None:
    """Delete the store folder holding ``gpkg`` (only a folder made by :func:`new_store`)."""
    folder = Path(gpkg).parent
    if Path(gpkg).name == STORE_GPKG and _STORE_NAME.match(folder.name):
        shutil.rmtree(folder, ignore_errors=True)


def remove_dead_stores(root: Path) -> list[Path]:
    """Remove the store folders under ``root`` whose QGIS process is no longer running; returns those removed."""
    removed = []
    for folder in sorted(Path(root).glob(STORE_PREFIX + "*")):
        match = _STORE_NAME.match(folder.name)
        if not match or not folder.is_dir() or process_alive(int(match.group(1))):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            removed.append(folder)
    return removed


def process_alive(pid: int) -> bool:
    """Whether a process with this id is running (when unsure, say yes: a store is only removed when surely dead)."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    if os.name == "nt":
        return _windows_process_alive(pid)
    try:
        os.kill(pid, 0)  # signal 0: only checks that the process exists
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists but belongs to someone else
        return True
    return True


def _windows_process_alive(pid: int) -> bool:
    import ctypes

    query_limited_information, still_active = 0x1000, 259
    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(query_limited_information, False, pid)
    if not handle:
        return kernel32.GetLastError() == 5  # access denied: it exists
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == still_active
    finally:
        kernel32.CloseHandle(handle)
