"""python -m engine batch: jobs, strips joined across their borders, the merged GeoPackage, errors, and two torchrun
ranks on CPU."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyogrio import list_layers
from pyogrio.raw import read
from pyproj import CRS
from shapely.geometry import Point

from engine import cli
from engine.cli import batch

sys.path.insert(0, str(Path(__file__).parent))
from test_geo_helpers import UTM, WGS84, ThresholdDouble, disc_image, utm_transform, wgs84_transform, write_raster  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
# (cx, cy, r) in pixels; in the 120-row rasters, rows 40 and 80 are the borders of 3 strips, row 60 of 2 strips
SCENES = {
    "a.tif": [(30, 40, 12), (100, 60, 15), (140, 100, 10)],
    "b.tif": [(50, 80, 14), (120, 20, 10)],
    "c.tif": [(80, 60, 20)],
}


class CappedThreshold(ThresholdDouble):
    """The threshold double, accepting the token limit batch passes."""

    def chat(self, image, conversation, max_new_tokens=256):
        return super().chat(image, conversation)


def threshold_factory(model: str, device: str) -> CappedThreshold:
    """Loaded by the torchrun ranks through --engine-factory test_batch:threshold_factory."""
    return CappedThreshold()


@pytest.fixture
def rasters(tmp_path):
    made = {}
    for name, discs in SCENES.items():
        crs, transform = (WGS84, wgs84_transform()) if name == "c.tif" else (UTM, utm_transform())
        made[name] = write_raster(tmp_path / name, disc_image(120, 160, discs), crs=crs, transform=transform)
    return made


@pytest.fixture(autouse=True)
def one_process(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)


def _features(gpkg: Path) -> list[dict]:
    rows = []
    for layer, _ in list_layers(gpkg):
        if layer == "conversation":
            continue
        meta, _, wkb, values = read(gpkg, layer=layer)
        for n, geometry in enumerate(shapely.from_wkb(wkb)):
            row = {field: value[n] for field, value in zip(meta["fields"], values)}
            rows.append(row | {"geometry": geometry, "layer": layer, "crs": CRS.from_user_input(meta["crs"])})
    return rows


def _assert_every_disc_exactly_once(gpkg: Path, rasters: dict) -> list[dict]:
    """Each disc of each raster is covered by exactly one feature of that raster, and there is nothing else."""
    features = _features(gpkg)
    for name in rasters:
        mine = [f for f in features if Path(f["source"]).name == name]
        transform = wgs84_transform() if name == "c.tif" else utm_transform()
        assert len(mine) == len(SCENES[name]), name
        for cx, cy, r in SCENES[name]:
            centre = Point(transform * (cx, cy))
            covering = [f for f in mine if f["geometry"].contains(centre)]
            assert len(covering) == 1, (name, cx, cy)
            if name != "c.tif":  # UTM at 0.5 m: the measured area is the disc's
                assert covering[0]["area_m2"] == pytest.approx(math.pi * (r * 0.5) ** 2, rel=0.08)
    return features


def test_many_rasters_in_one_process_merge_into_one_file_per_crs(rasters, tmp_path, capsys):
    out = tmp_path / "out"
    code = cli.main(["batch", *map(str, rasters.values()), "-o", str(out), "find discs", "--quiet"],
                    engine_factory=threshold_factory)  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0 and "6 object(s) from 3 raster(s)" in printed
    features = _assert_every_disc_exactly_once(out / batch.OUTPUT_NAME, rasters)
    layers = {f["layer"]: f["crs"] for f in features}
    assert layers == {
        "find_discs_epsg32616": CRS.from_user_input(UTM),
        "find_discs_epsg4326": CRS.from_user_input(WGS84),
    }
    meta, _, _, values = read(out / batch.OUTPUT_NAME, layer="conversation")
    table = dict(zip(meta["fields"], values))
    assert list(table["role"]) == ["user", "assistant"] * 3 and set(table["text"][::2]) == {"find discs"}
    assert sorted(Path(s).name for s in table["source"][::2]) == sorted(SCENES)
    assert not (out / batch.PARTS_FOLDER).exists()  # parts are removed once merged


def test_strips_of_one_raster_are_joined_where_the_border_cut_an_object(rasters, tmp_path):
    out = tmp_path / "out"
    raster = rasters["a.tif"]
    argv = ["batch", str(raster), "-o", str(out), "discs", "--whole", "--strips", "3", "--tile-size", "64",
            "--overlap", "16", "--quiet", "--keep-parts"]  # fmt: skip
    assert cli.main(argv, engine_factory=threshold_factory) == 0
    parts = sorted((out / batch.PARTS_FOLDER).glob("*.gpkg"))
    assert len(parts) == 3
    cut = sum(len(read(p, layer="features")[2]) for p in parts)
    assert cut > len(SCENES["a.tif"])  # the strip borders did cut discs in two ...
    _assert_every_disc_exactly_once(out / batch.OUTPUT_NAME, {"a.tif": raster})  # ... and the merge joined them


def test_plan_jobs_covers_every_row_once(rasters):
    jobs = batch.plan_jobs([str(rasters["a.tif"]), str(rasters["b.tif"])], strips=7)
    assert [j.index for j in jobs] == list(range(14))
    for name in ("a.tif", "b.tif"):
        windows = [j.window for j in jobs if j.raster.endswith(name)]
        rows = np.concatenate([np.arange(top, top + height) for _, top, _, height in windows])
        assert list(rows) == list(range(120)) and all(w[0] == 0 and w[2] == 160 for w in windows)


def test_a_bad_raster_is_reported_and_the_others_are_merged(rasters, tmp_path, capsys):
    broken = tmp_path / "broken.tif"
    broken.write_text("not a raster")
    out = tmp_path / "out"
    code = cli.main(["batch", str(rasters["b.tif"]), str(broken), "-o", str(out), "discs", "--quiet"],
                    engine_factory=threshold_factory)  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 2 and f"error: {broken}: cannot open" in printed and "1 job(s) failed" in printed
    _assert_every_disc_exactly_once(out / batch.OUTPUT_NAME, {"b.tif": rasters["b.tif"]})


@pytest.mark.parametrize(
    "extra",
    [
        ["{missing}"],
        ["--strips", "2"],  # without --whole
        ["--engine-factory", "no_such_module_here:make"],
        ["--engine-factory", "nocolon"],
        ["--max-new-tokens", "0"],
    ],
)
def test_user_errors_exit_2_with_one_line(rasters, tmp_path, capsys, extra):
    extra = [e.format(missing=tmp_path / "missing.tif") for e in extra]
    rasters_args = [e for e in extra if e.endswith(".tif")] or [str(rasters["a.tif"])]
    options = [e for e in extra if not e.endswith(".tif")]
    try:
        code = cli.main(["batch", *rasters_args, "-o", str(tmp_path / "o"), "x", *options],
                        engine_factory=threshold_factory)  # fmt: skip
    except SystemExit as exit_:
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and err.startswith("error: ")


def test_an_existing_output_needs_overwrite(rasters, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["batch", str(rasters["b.tif"]), "-o", str(out), "discs", "--quiet"]
    assert cli.main(argv, engine_factory=threshold_factory) == 0
    assert cli.main(argv, engine_factory=threshold_factory) == 2
    assert "already exists" in capsys.readouterr().err
    assert cli.main([*argv, "--overwrite"], engine_factory=threshold_factory) == 0


def test_two_torchrun_ranks_on_cpu_merge_every_feature_exactly_once(rasters, tmp_path):
    out = tmp_path / "out"
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).parent), str(REPO_ROOT)]), OMP_NUM_THREADS="1"
    )
    run = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "engine", "batch", *map(str, rasters.values()), "-o", str(out), "find discs", "--whole",
         "--strips", "2", "--tile-size", "64", "--overlap", "16", "--device", "cpu", "--quiet",
         "--engine-factory", "test_batch:threshold_factory"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("object(s) from") == 1  # only rank 0 merges and reports
    assert "6 object(s) from 3 raster(s) -> " in run.stdout and "(2 process(es))" in run.stdout
    _assert_every_disc_exactly_once(out / batch.OUTPUT_NAME, rasters)
