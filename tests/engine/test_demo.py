"""python -m engine demo: raster and model choice, outputs, summary (tiny model and the threshold double)."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import rasterio
from pyogrio.raw import read
from pyproj import CRS

from engine import cli
from engine.cli import demo
from engine.hub import registry

sys.path.insert(0, str(Path(__file__).parent))
from test_geo_helpers import ThresholdDouble  # noqa: E402


class CappedThreshold(ThresholdDouble):
    """The threshold double, accepting the token limit the demo passes."""

    def __init__(self) -> None:
        super().__init__(threshold=150, phrase="storage tank")
        self.limits: list[int] = []

    def chat(self, image, conversation, max_new_tokens=256):
        self.limits.append(max_new_tokens)
        return super().chat(image, conversation)


@pytest.fixture
def no_sample(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "DEMO_RASTER", tmp_path / "absent" / "tank_farm.tif")


def _summary_count(out: str) -> int:
    (line,) = [line for line in out.splitlines() if " object(s), total area " in line]
    return int(line.split()[0])


def test_tiny_model_on_the_synthetic_scene(tmp_path, no_sample, capsys):
    out_dir = tmp_path / "out"
    argv = ["demo", "--out-dir", str(out_dir), "--model", "tiny", "--device", "cpu", "--max-new-tokens", "4", "--quiet"]
    assert cli.main(argv) == 0
    first = capsys.readouterr().out
    assert "synthetic scene" in first and "absent" in first and "not found" in first  # says where the raster came from
    assert "model: tiny (random weights" in first and "time: raster" in first and "segmentation" in first
    scene = out_dir / demo.SYNTHETIC_NAME
    with rasterio.open(scene) as dataset:
        assert CRS.from_user_input(dataset.crs.to_wkt()).utm_zone == "15N" and dataset.count == 3
        assert dataset.res == pytest.approx((demo.SYNTHETIC_GSD, demo.SYNTHETIC_GSD))
    info = pyogrio.read_info(out_dir / "demo.gpkg", layer="segment_all_storage_tanks")
    assert info["features"] == _summary_count(first)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(out_dir / "demo.png") as png:
            assert png.driver == "PNG" and (png.height, png.width) == (demo.SYNTHETIC_SIZE, demo.SYNTHETIC_SIZE)
    assert cli.main(argv) == 0  # a second run replaces the outputs
    layers = [name for name, _ in pyogrio.list_layers(out_dir / "demo.gpkg")]
    assert sorted(layers) == ["conversation", "segment_all_storage_tanks"]


def test_summary_matches_the_geopackage_with_the_threshold_double(tmp_path, no_sample, capsys):
    double = CappedThreshold()
    code = cli.main(["demo", "--out-dir", str(tmp_path), "--max-new-tokens", "7", "--quiet"],
                    engine_factory=lambda model, device: double)  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and double.limits == [7]
    meta, _, wkb, values = read(tmp_path / "demo.gpkg", layer="segment_all_storage_tanks")
    columns = dict(zip(meta["fields"], values))
    count = _summary_count(out)
    assert count == len(wkb) > 0 and set(columns["phrase"]) == {"storage tank"}
    total = float(out.split("total area ")[1].split(" m2")[0])
    assert total == pytest.approx(np.sum(columns["area_m2"]), abs=0.1)


def test_model_choice_follows_the_installed_weights(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "PRETRAINED_DIR", tmp_path)
    model, notice = demo.choose_model(None)
    assert model == "tiny" and "not installed" in notice and "random weights" in notice and "meaningless" in notice
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "config.json").write_text(json.dumps({"model_type": "geoground"}))
    assert demo.choose_model(None) == ("demo", None)
    assert demo.choose_model("my/model") == ("my/model", None)


def test_the_shared_sample_raster_is_used_when_present(tmp_path, shared_data, capsys):
    sample = shared_data("demo/tank_farm_2m_3857.tif")
    assert demo.DEMO_RASTER.resolve() == sample.resolve()
    assert cli.main(["demo", "--out-dir", str(tmp_path), "--quiet"], engine_factory=lambda m, d: CappedThreshold()) == 0
    out = capsys.readouterr().out
    assert f"raster: {demo.DEMO_RASTER}" in out and "shared data folder" in out
    assert not (tmp_path / demo.SYNTHETIC_NAME).exists()
    info = pyogrio.read_info(tmp_path / "demo.gpkg", layer="segment_all_storage_tanks")
    assert CRS.from_user_input(info["crs"]).to_epsg() == 3857 and info["features"] == _summary_count(out)


def test_unwritable_out_dir_is_a_user_error(tmp_path, no_sample, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code = cli.main(["demo", "--out-dir", str(blocker / "sub")], engine_factory=lambda m, d: CappedThreshold())
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: cannot create the output folder") and len(err.splitlines()) == 1
