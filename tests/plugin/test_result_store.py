"""Each unsaved project gets its own private temporary store; stores of QGIS processes that are gone are removed."""

from __future__ import annotations

import os
import stat
import subprocess
import sys


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_every_store_is_new_and_private(temp_dir):
    from geoground.plugin.result_store import STORE_GPKG, new_store, store_root

    root = store_root()
    assert root.parent == temp_dir and root.name.startswith("geoground-")
    if os.name == "posix":
        assert stat.S_IMODE(root.stat().st_mode) == 0o700
    first, second = new_store(), new_store()
    assert first != second and first.name == second.name == STORE_GPKG
    assert first.parent.parent == root and first.parent.name.startswith(f"unsaved-{os.getpid()}-")
    assert first.parent.is_dir() and not first.exists()  # the GeoPackage is made by the first result


def test_stores_of_processes_that_are_gone_are_removed(temp_dir):
    from geoground.plugin.result_store import new_store, process_alive, remove_store, store_root

    root = store_root()
    pid = dead_pid()
    assert not process_alive(pid) and process_alive(os.getpid())
    dead = root / f"unsaved-{pid}-abc"
    dead.mkdir()
    (dead / "unsaved_project_geoground.gpkg").write_bytes(b"old results")
    mine = new_store().parent
    other = root / "not-a-store"
    other.mkdir()
    new_store()
    assert not dead.exists() and mine.exists() and other.exists()
    remove_store(mine / "unsaved_project_geoground.gpkg")
    remove_store(other / "unsaved_project_geoground.gpkg")  # not a store: kept
    assert not mine.exists() and other.exists()
