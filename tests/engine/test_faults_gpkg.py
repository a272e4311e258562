"""GeoPackage writing under faults: concurrent writers, a full disk, a killed writer, permission bits.

Real processes write at the same time or are killed halfway; a full disk is injected at GDAL's level and, where the
system lets an ordinary test mount one, is a real tiny file system.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyogrio
import pytest
import shapely

from engine import cli
from engine.geo import OutputError, gpkg
from engine.geo.gpkg import VectorLayer, write_geopackage

sys.path.insert(0, str(Path(__file__).parent))
from test_geo_helpers import ThresholdDouble, disc_image, write_raster  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
NO_SPACE = os.strerror(errno.ENOSPC)
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX processes, signals and permission bits")

# Run as a separate process: another user of the same GeoPackage.
WRITER = textwrap.dedent(
    """
    import dataclasses, json, os, shutil, sys, tempfile, time

    sys.path[:0] = [{root!r}, {tests!r}]
    import numpy as np
    import shapely
    from engine import cli
    from engine.geo import gpkg
    from test_geo_helpers import ThresholdDouble

    class Double(ThresholdDouble):
        def chat(self, image, conversation, max_new_tokens=256):
            return super().chat(image, conversation)

    def segment(raster, out, *flags):
        return cli.main(["segment", raster, "find discs", "-o", out, "--quiet", *flags],
                        engine_factory=lambda model, device: Double())

    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "layer":  # OUT NAME COUNT: append a layer of COUNT squares
        out, name, count = args[0], args[1], int(args[2])
        boxes = list(shapely.box(np.arange(count), 0, np.arange(count) + 0.5, 0.5))
        layer = gpkg.VectorLayer(name, boxes, {{"value": np.arange(count, dtype=np.float64)}})
        gpkg.write_geopackage(out, [layer], append=True)
    elif mode == "segment":  # RASTER OUT READY GO COPIES: segment --append, writing when GO exists
        raster, out, ready, go, copies = args
        write_result = gpkg.write_result

        def write_at_go(result, *rest, **options):
            # many copies of the features: the write lasts long enough to overlap the other writer's
            result = dataclasses.replace(result, features=result.features * int(copies))
            open(ready, "w").close()
            while not os.path.exists(go):
                time.sleep(0.002)
            return write_result(result, *rest, **options)

        gpkg.write_result = write_at_go
        sys.exit(segment(raster, out, "--append"))
    elif mode == "full-disk":  # RASTER FOLDER: FOLDER is a small file system of its own
        raster, folder = args
        keep, new, filler = (os.path.join(folder, name) for name in ("keep.gpkg", "new.gpkg", "filler"))

        def run(out, *flags):
            with tempfile.TemporaryFile() as err:  # GDAL writes to descriptor 2 directly, if it writes
                sys.stderr.flush()
                saved = os.dup(2)
                os.dup2(err.fileno(), 2)
                try:
                    code = segment(raster, out, *flags)
                finally:
                    sys.stderr.flush()
                    os.dup2(saved, 2)
                    os.close(saved)
                err.seek(0)
                return [code, err.read().decode()]

        report = {{"first": run(keep)}}
        with open(keep, "rb") as file:
            before = file.read()
        runs = {{}}
        for leave in (0, 48 * 1024):  # full, and full halfway through the write
            with open(filler, "wb") as file:
                file.write(bytes(max(0, shutil.disk_usage(folder).free - leave)))
            runs[f"{{leave}} overwrite"] = run(keep, "--overwrite")
            runs[f"{{leave}} new"] = run(new)
            runs[f"{{leave}} append"] = run(keep, "--append")
            os.remove(filler)
        with open(keep, "rb") as file:
            report |= {{"runs": runs, "unchanged": file.read() == before, "left": sorted(os.listdir(folder))}}
        report["after"] = run(keep, "--append")
        report["layers"] = sorted(str(n) for n in gpkg.layer_names(keep))
        print(json.dumps(report))
    """
).format(root=str(REPO_ROOT), tests=str(Path(__file__).parent))


@pytest.fixture
def writer(tmp_path):
    path = tmp_path / "writer.py"
    path.write_text(WRITER, encoding="utf-8")
    return path


@pytest.fixture
def folder(tmp_path):
    """The output's own folder, so a listing shows exactly what writing left there."""
    path = tmp_path / "out"
    path.mkdir()
    return path


@pytest.fixture
def raster(tmp_path):
    return write_raster(tmp_path / "scene.tif", disc_image(64, 64, [(20, 20, 8), (44, 40, 10)]))


class Double(ThresholdDouble):
    """The threshold double, taking the answer length the command passes."""

    def chat(self, image, conversation, max_new_tokens=256):
        return super().chat(image, conversation)


def _double(model, device):
    return Double()


def _boxes(name: str, count: int) -> VectorLayer:
    boxes = list(shapely.box(np.arange(count), 0, np.arange(count) + 0.5, 0.5))
    return VectorLayer(name, boxes, {"value": np.arange(count, dtype=np.float64)})


def _layers(path) -> set[str]:
    return {str(name) for name in pyogrio.list_layers(path)[:, 0]}


def _temporaries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.startswith(".out.gpkg.") and p.name.endswith(".tmp.gpkg"))


def _start(writer: Path, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(writer), *map(str, args)], stderr=subprocess.PIPE, text=True)


def _wait_for_writing(folder: Path, larger_than: int, process: subprocess.Popen) -> None:
    """Until the other process's temporary file has grown past ``larger_than`` bytes: GDAL is writing features."""
    deadline = time.monotonic() + 120
    while not any(_size(p) > larger_than for p in _temporaries(folder)):
        assert process.poll() is None, f"the writer ended before it was caught writing: {process.stderr.read()}"
        assert time.monotonic() < deadline, "the writer never started writing"
        time.sleep(0.01)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # removed since it was listed
        return -1


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(timeout=60)
    process.stderr.close()


@posix_only
def test_concurrent_appends_both_land(tmp_path, writer, raster):
    """Two ``segment --append`` runs writing one GeoPackage at the same moment: both layers and all turns are kept."""
    out = tmp_path / "shared.gpkg"
    assert cli.main(["segment", str(raster), "first", "-o", str(out), "--quiet"],
                    engine_factory=_double) == 0  # fmt: skip
    go = tmp_path / "go"
    ready = [tmp_path / f"ready{k}" for k in range(2)]
    processes = [_start(writer, "segment", raster, out, r, go, 15_000) for r in ready]
    try:
        deadline = time.monotonic() + 120
        while not all(r.exists() for r in ready):  # both have their result and are about to write
            assert all(p.poll() is None for p in processes), [p.stderr.read() for p in processes]
            assert time.monotonic() < deadline
            time.sleep(0.01)
        go.touch()
        codes = [p.wait(timeout=300) for p in processes]
        errors = [p.stderr.read() for p in processes]
    finally:
        for process in processes:
            _stop(process)
    assert codes == [0, 0], errors
    assert _layers(out) == {"first", "find_discs", "find_discs_2", "conversation"}
    assert pyogrio.read_info(out, layer="find_discs")["features"] == 30_000
    assert pyogrio.read_info(out, layer="find_discs_2")["features"] == 30_000
    _, _, _, (turns, *_, layers) = pyogrio.raw.read(out, layer="conversation", columns=["turn", "layer"])
    assert sorted(turns) == [0, 1, 2, 3, 4, 5]  # each writer numbered its turns after the other's
    assert sorted(layers) == ["find_discs", "find_discs", "find_discs_2", "find_discs_2", "first", "first"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@posix_only
def test_waiting_writer_gives_up_with_a_clear_error(folder, writer, monkeypatch):
    """While another process writes the file, a writer waits; past the time limit it stops with an OutputError and
    leaves the other's temporary file alone; once the other is done, writing works again."""
    out = folder / "out.gpkg"
    write_geopackage(out, [_boxes("first", 10)])
    # 500,000 squares take the writer seconds (100,000 took under 0.6 s on a fast disk: no wait to give up on)
    process = _start(writer, "layer", out, "big", 500_000)
    try:
        _wait_for_writing(folder, 0, process)
        monkeypatch.setattr(gpkg, "LOCK_TIMEOUT_S", 0.2, raising=False)
        start = time.monotonic()
        with pytest.raises(OutputError, match=r"being written by another process: gave up waiting after 0\.2 s"):
            write_geopackage(out, [_boxes("second", 10)], append=True)
        assert time.monotonic() - start < 30
        assert _temporaries(folder)  # not taken for a leftover: its writer is alive
        assert process.wait(timeout=300) == 0, process.stderr.read()
    finally:
        _stop(process)
    assert _layers(out) == {"first", "big"}
    monkeypatch.undo()
    write_geopackage(out, [_boxes("second", 10)], append=True)
    assert _layers(out) == {"first", "big", "second"}
    assert sorted(p.name for p in folder.iterdir()) == ["out.gpkg"]


@posix_only
def test_killed_writer_loses_nothing_and_the_next_write_cleans_up(folder, writer):
    out = folder / "out.gpkg"
    write_geopackage(out, [_boxes("first", 10)])
    before = out.read_bytes()
    process = _start(writer, "layer", out, "big", 150_000)
    try:
        _wait_for_writing(folder, len(before), process)  # features are going into the copy
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=60) == -signal.SIGKILL
    finally:
        _stop(process)
    assert out.read_bytes() == before
    assert _layers(out) == {"first"} and pyogrio.read_info(out, layer="first")["features"] == 10
    assert _temporaries(folder)  # what the killed writer left
    (folder / ".out.gpkg.k3j_x9zq.tmp.gpkg").write_bytes(b"left by an older version")
    (folder / ".out.gpkg.k3j_x9zq.tmp.gpkg-journal").write_bytes(b"and its SQLite journal")
    others = [".other.gpkg.abcdefgh.tmp.gpkg", ".out.gpkg.notes", "out.gpkg.abcdefgh.tmp.gpkg"]
    for name in others:  # not leftovers of out.gpkg
        (folder / name).write_bytes(b"keep")

    write_geopackage(out, [_boxes("second", 10)], append=True)
    assert sorted(p.name for p in folder.iterdir()) == sorted(["out.gpkg", *others])
    assert _layers(out) == {"first", "second"}


def _failing_write(error: BaseException):
    """GDAL's write as it fails on a full disk: part of the file is written, then the error."""

    def write(path, *args, **kwargs):
        with open(path, "ab") as partial:
            partial.write(bytes(4096))
        raise error

    return write


DISK_FULL = [  # (the error, free bytes the folder then reports or None for the real value)
    (pyogrio.errors.FeatureError("Could not add feature to layer at index 14812: failed to execute insert : "
                                 "database or disk is full"), None),
    (pyogrio.errors.DataSourceError("sqlite3_exec(CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL,"
                                    + "srs_id INTEGER NOT NULL PRIMARY KEY, definition TEXT NOT NULL);" * 40
                                    + ") failed: database or disk is full"), None),
    (pyogrio.errors.FeatureError("Could not add feature to layer at index 0: sqlite3_exec(INSERT INTO gpkg_contents "
                                 "(table_name,data_type) VALUES ('l','features')) failed: no such table: "
                                 "gpkg_contents"), 0),  # GDAL's words when the disk was full before it began
    (OSError(errno.ENOSPC, NO_SPACE), None),
]  # fmt: skip


@pytest.mark.parametrize("mode", ["new", "overwrite", "append"])
def test_full_disk_is_one_clear_error_and_changes_nothing(folder, monkeypatch, mode):
    out = folder / "out.gpkg"
    if mode != "new":
        write_geopackage(out, [_boxes("first", 5)])
    before = out.read_bytes() if out.exists() else None
    for error, free in DISK_FULL:
        with monkeypatch.context() as patch:
            patch.setattr(gpkg, "ogr_write", _failing_write(error))
            if free is not None:
                patch.setattr(shutil, "disk_usage", lambda path: SimpleNamespace(total=1 << 30, used=1 << 30, free=0))
            with pytest.raises(OutputError) as caught:
                write_geopackage(out, [_boxes("second", 5)], append=mode == "append", overwrite=mode == "overwrite")
        message = str(caught.value)
        assert message == f"cannot write {out}: {NO_SPACE} in {folder}", type(error)
        assert sorted(p.name for p in folder.iterdir()) == ([] if before is None else ["out.gpkg"])
        assert (out.read_bytes() if out.exists() else None) == before


def test_full_disk_in_the_command_is_one_error_line_exit_2(folder, raster, monkeypatch, capsys):
    out = folder / "out.gpkg"
    command = ["segment", str(raster), "find discs", "-o", str(out), "--quiet"]
    assert cli.main(command, engine_factory=_double) == 0
    before = out.read_bytes()
    capsys.readouterr()
    monkeypatch.setattr(gpkg, "ogr_write", _failing_write(DISK_FULL[0][0]))
    for flag, target in (("--overwrite", out), ("--append", out), (None, folder / "new.gpkg")):
        args = [*command[:4], str(target), "--quiet", *([flag] if flag else [])]
        assert cli.main(args, engine_factory=_double) == 2
        captured = capsys.readouterr()
        assert captured.err == f"error: cannot write {target}: {NO_SPACE} in {folder}\n"
        assert out.read_bytes() == before
        assert sorted(p.name for p in folder.iterdir()) == ["out.gpkg"]


@posix_only
def test_full_disk_for_real_on_a_tiny_file_system(tmp_path, writer, raster):
    """``segment`` on a 512 KiB file system of its own, full before the write or during it, with ``--overwrite``,
    a new file and ``--append``: one error line and exit 2 each time, the earlier file untouched, nothing left over.

    Mounting needs a user and mount namespace (``unshare``); where the system refuses one, the test is skipped.
    """
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed")
    tiny = tmp_path / "tiny"
    tiny.mkdir()
    script = 'mount -t tmpfs -o size=512k geoground-test "$1" || exit 77; exec "$2" "$3" full-disk "$4" "$1"'
    run = subprocess.run(
        ["unshare", "--map-root-user", "--mount", "sh", "-c", script, "sh", tiny, sys.executable, writer, raster],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if run.returncode == 77 or (run.returncode != 0 and run.stderr.startswith("unshare:")):
        pytest.skip(f"cannot mount a small file system here: {run.stderr.strip()}")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.splitlines()[-1])
    assert report["first"] == [0, ""]
    for name, (code, err) in report["runs"].items():
        target = tiny / ("new.gpkg" if name.endswith("new") else "keep.gpkg")
        assert (code, err) == (2, f"error: cannot write {target}: {NO_SPACE} in {tiny}\n"), name
    assert report["unchanged"] and report["left"] == ["keep.gpkg"]
    assert report["after"] == [0, ""]
    assert report["layers"] == ["conversation", "find_discs", "find_discs_2"]


@posix_only
def test_append_and_overwrite_keep_the_permission_bits(folder):
    out = folder / "out.gpkg"
    write_geopackage(out, [_boxes("first", 3)])
    out.chmod(0o640)
    write_geopackage(out, [_boxes("second", 3)], append=True)
    assert out.stat().st_mode & 0o7777 == 0o640
    out.chmod(0o604)
    write_geopackage(out, [_boxes("third", 3)], overwrite=True)
    assert out.stat().st_mode & 0o7777 == 0o604
    assert _layers(out) == {"third"}


@posix_only
def test_a_new_file_gets_the_mode_of_any_new_file(folder):
    for k, umask in enumerate((0o002, 0o022, 0o077)):
        out, plain = folder / f"out{k}.gpkg", folder / f"plain{k}"
        previous = os.umask(umask)
        try:
            write_geopackage(out, [_boxes("first", 3)])
            plain.touch()
        finally:
            os.umask(previous)
        assert oct(out.stat().st_mode & 0o7777) == oct(plain.stat().st_mode & 0o7777) == oct(0o666 & ~umask)
