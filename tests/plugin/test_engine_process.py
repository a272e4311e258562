"""The engine process the plugin talks to: answers, events, errors, cancel, a killed worker, concurrent jobs.

These run the real worker (``python -m geoground.engine.worker``) with the shipped ``demo`` model; nothing here
needs QGIS. The plugin's own modules are checked to load none of the engine's native libraries into QGIS.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from .chat_doubles import DISCS, disc_image

UTM_33N = 'PROJCS["WGS 84 / UTM zone 33N",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",15],PARAMETER["scale_factor",0.9996],PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1],AUTHORITY["EPSG","32633"]]'  # noqa: E501


def request(instruction: str = "Segment all storage tanks", model: str = "demo", **extra) -> dict:
    return dict(
        {
            "instruction": instruction,
            "transform": [0.5, 0.0, 500000.0, 0.0, -0.5, 4000000.0],
            "crs_wkt": UTM_33N,
            "model": model,
            "device": "cpu",
            "ground_gsd": 0.5,
            "max_new_tokens": 24,
        },
        **extra,
    )


@pytest.fixture(scope="module")
def tank_scene(tmp_path_factory):
    """The demo's synthetic UTM scene with storage tanks: (bands, H, W) pixels, its request and its tank count."""
    import rasterio

    from geoground.engine.cli import demo

    path = tmp_path_factory.mktemp("scene") / "tanks.tif"
    _, tanks = demo.write_synthetic_scene(path)
    with rasterio.open(path) as dataset:
        pixels, transform, crs = dataset.read(), dataset.transform, dataset.crs.to_wkt()
    scene_request = request(
        transform=list(transform)[:6], crs_wkt=crs, ground_gsd=abs(transform.a), max_new_tokens=None
    )
    return pixels, scene_request, tanks


@pytest.fixture
def process(plugins_dir):
    from geoground.plugin.engine_process import EngineProcess, worker_module

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(plugins_dir), os.environ.get("PYTHONPATH", "")]))
    engine = EngineProcess(lambda: ([sys.executable, "-m", worker_module()], env))
    yield engine
    engine.stop()


def test_the_worker_answers_with_wkb_polygons_and_reports_loading_and_text(process, tank_scene):
    from qgis.core import QgsGeometry, QgsRectangle

    pixels, scene_request, tanks = tank_scene
    events = []
    answer = process.segment(scene_request, pixels, events.append)
    stages = [e.get("stage") for e in events if e.get("event") == "status"]
    assert stages[:2] == ["loading", "loaded"], events
    assert answer.reply_text and answer.model == "demo"
    assert len(answer.features) == tanks, answer.reply_text  # one polygon per tank
    a, _, c, _, e, f = scene_request["transform"]
    rows, cols = pixels.shape[1:]
    extent = QgsRectangle(c, f + e * rows, c + a * cols, f)
    for feature in answer.features:  # QGIS's own GEOS parses what the worker's shapely wrote
        geometry = QgsGeometry()
        geometry.fromWkb(feature["wkb"])
        assert geometry.isGeosValid() and geometry.area() > 0 and extent.contains(geometry.boundingBox())
    single = []
    process.segment(request(), disc_image(240, 320, DISCS), single.append)  # one view, one image: text streams
    assert any(e.get("event") == "text" for e in single), "the answer did not stream"
    assert not [e for e in single if e.get("stage") == "loading"], "the model was loaded twice"
    again = []
    process.segment(request(), disc_image(240, 320, DISCS), again.append)
    assert not [e for e in again if e.get("stage") == "loading"], "the model was loaded twice"
    assert process.seconds_per_tile["demo"] > 0


def test_a_large_view_reports_tiles_and_the_plan_matches(process):
    image = np.zeros((3, 700, 700), dtype=np.uint8)
    plan = process.plan(request(), 700, 700)
    events = []
    answer = process.segment(request(), image, events.append)
    progress = [(e["done"], e["total"]) for e in events if e.get("event") == "progress"]
    assert plan["tiles"] > 1 and answer.tiles == plan["tiles"]
    assert progress == [(i, plan["tiles"]) for i in range(0, plan["tiles"] + 1)]
    assert "tiles" not in answer.reply_text  # the user is told what was found, not how it was cut up


def test_bad_requests_are_input_errors_and_the_worker_stays_up(process):
    from geoground.plugin.engine_process import EngineInputError

    with pytest.raises(EngineInputError, match="no-such-model"):
        process.segment(request(model="no-such-model"), disc_image(240, 320, DISCS))
    with pytest.raises(EngineInputError, match="no valid pixels"):
        process.segment(request(nodata=30.0), np.full((3, 64, 64), 30, dtype=np.uint8))
    assert process.segment(request(), disc_image(240, 320, DISCS)).reply_text


def test_stop_cancels_a_running_job(process):
    from geoground.engine.types import Cancelled

    process.segment(request(), disc_image(240, 320, DISCS))  # model loaded
    stop = threading.Event()
    started = time.monotonic()

    def on_event(event):
        if event.get("event") == "progress":
            stop.set()

    with pytest.raises(Cancelled):
        process.segment(request(), np.zeros((3, 1400, 1400), dtype=np.uint8), on_event, stop.is_set)
    assert time.monotonic() - started < 60
    assert process.segment(request(), disc_image(240, 320, DISCS)).reply_text  # the worker still answers


def test_a_killed_worker_is_a_message_and_the_next_job_starts_a_new_one(process):
    from geoground.plugin.engine_process import EngineProcessError

    process.segment(request(), disc_image(240, 320, DISCS))
    pid = process._process.pid

    def kill_on_first_event(event):
        if process._process is not None and process._process.pid == pid:
            os.kill(pid, signal.SIGKILL)

    with pytest.raises(EngineProcessError, match="killed by signal 9"):
        process.segment(request(), np.zeros((3, 1400, 1400), dtype=np.uint8), kill_on_first_event)
    answer = process.segment(request(), disc_image(240, 320, DISCS))
    assert answer.reply_text and process._process.pid != pid


def test_two_jobs_at_once_get_the_answers_they_get_alone(process, tank_scene):
    """The dock and Processing may ask at the same time: each answer must be the one its job gets alone."""
    pixels, scene_request, _ = tank_scene
    jobs = {
        "tanks": (scene_request, pixels),
        "water": (request("Segment all water bodies"), 255 - disc_image(200, 260, [(100, 100, 60)])),
    }
    alone = {name: process.segment(req, image) for name, (req, image) in jobs.items()}
    together, errors = {}, []

    def run(name):
        try:
            together[name] = process.segment(*jobs[name])
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(name,)) for name in jobs for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors
    for name in jobs:
        assert together[name].reply_text == alone[name].reply_text
        assert [f["wkb"] for f in together[name].features] == [f["wkb"] for f in alone[name].features]
    assert alone["tanks"].features and alone["tanks"].reply_text != alone["water"].reply_text


def test_the_in_process_service_never_runs_two_answers_at_once():
    """The model keeps per-call state: the service serialises calls from several threads."""
    from geoground.engine.service import EngineService, SegmentRequest
    from geoground.engine.types import Reply, Segment

    active, overlaps = [0], []

    class Detector:
        name = "detector"

        def chat(self, image, conversation, **options):
            active[0] += 1
            if active[0] > 1:
                overlaps.append(conversation)
            time.sleep(0.05)
            active[0] -= 1
            return Reply(conversation, [Segment("thing", image.mean(axis=2) > 128)])

    service = EngineService(lambda *a: Detector())
    image = disc_image(240, 320, DISCS)
    threads = [
        threading.Thread(target=service.segment, args=(SegmentRequest.from_dict(request(f"job {i}")), image))
        for i in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == []


def test_the_plugin_loads_none_of_the_engines_native_libraries(plugins_dir):
    """Inside QGIS's binary those libraries clash with the ones QGIS links (shapely's WKB fails, PROJ/GDAL copies
    abort QGIS at exit): the plugin's modules must not import them. QGIS 3.40's own ``qgis.core`` imports shapely
    when it can (for ``QgsGeometry.as_shapely``), so only what the plugin adds on top of QGIS counts."""
    code = (
        "import sys\n"
        "import qgis.core, qgis.gui\n"
        "before = set(sys.modules)\n"
        "import geoground.plugin.main, geoground.plugin.controller, geoground.plugin.segmentation\n"
        "import geoground.plugin.processing.algorithms, geoground.plugin.engine_process\n"
        "native = ('torch', 'shapely', 'rasterio', 'pyproj', 'pyogrio', 'transformers')\n"
        "print(','.join(m for m in native if m in sys.modules and m not in before))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(plugins_dir))
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == ""


def test_the_worker_builds_a_training_set_and_refuses_bad_layers(process, tmp_path):
    """The Processing algorithm's job in the engine process: a dataset folder back, or an input error."""
    import json

    import rasterio
    from affine import Affine

    from geoground.plugin.engine_process import EngineInputError

    transform = Affine(0.5, 0, 500_000.0, 0, -0.5, 3_700_000.0)
    raster = tmp_path / "discs.tif"
    image = disc_image(240, 320, DISCS)
    profile = {"driver": "GTiff", "width": 320, "height": 240, "count": 3, "dtype": "uint8", "crs": "EPSG:32616"}
    with rasterio.open(raster, "w", transform=transform, **profile) as dst:
        dst.write(image)
    squares = [
        [
            [
                transform * (x, y)
                for x, y in ((c - r, rw - r), (c + r, rw - r), (c + r, rw + r), (c - r, rw + r), (c - r, rw - r))
            ]
        ]
        for c, rw, r in ((60, 50, 14), (200, 140, 20))
    ]
    collection = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32616"}},
        "features": [
            {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": s}} for s in squares
        ],
    }
    vector = tmp_path / "examples.geojson"
    vector.write_text(json.dumps(collection))
    params = {"raster": str(raster), "vector": str(vector), "class_name": "tank", "chip": 128, "overlap": 16}
    done = process.build_dataset(params | {"out_dir": str(tmp_path / "set")})
    assert done["report"]["chips"] > 0 and done["report"]["polygons"] == {"tank": 2}
    assert (tmp_path / "set" / "dataset.json").is_file() and "chips in" in done["text"]
    with pytest.raises(EngineInputError, match="has no field .kind."):
        process.build_dataset(params | {"class_name": None, "class_field": "kind", "out_dir": str(tmp_path / "bad")})
    assert not (tmp_path / "bad").exists()


def test_the_worker_fine_tunes_with_a_loss_per_step_and_a_cancel_writes_nothing(process, tmp_path):
    """Processing "Fine-tune model"'s job in the engine process: a progress event per step, the folder back, and a
    stop between steps that leaves no folder and the base model as it was."""
    import torch

    from geoground.engine.model.geoground.modeling import GeoGroundModel
    from geoground.engine.model.geoground.presets import preset_config
    from geoground.engine.model.geoground.tokenizer import build_tokenizer
    from geoground.engine.types import Cancelled
    from geoground.plugin.engine_process import EngineInputError

    config = preset_config("tiny")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        GeoGroundModel(config).eval().save_pretrained(tmp_path / "base", safe_serialization=True)
    build_tokenizer(config).save_pretrained(tmp_path / "base")
    base = {p.name: p.read_bytes() for p in (tmp_path / "base").iterdir()}
    dataset = _disc_dataset(process, tmp_path)
    params = {"datasets": [dataset], "base": str(tmp_path / "base"), "minutes": None, "steps": 2}
    events = []
    done = process.finetune(params | {"output": str(tmp_path / "mine")}, events.append)
    progress = [(e["done"], e["total"]) for e in events if e.get("event") == "progress"]
    assert progress[0] == (1, 2) and progress[-1] == (2, 2)
    assert all(isinstance(e["loss"], float) for e in events if e.get("event") == "progress")
    assert done["model"] == str(tmp_path / "mine") and done["steps"] == 2 and len(done["losses"]) == 2
    assert (tmp_path / "mine" / "config.json").is_file()
    with pytest.raises(EngineInputError, match="already exists"):
        process.finetune(params | {"output": str(tmp_path / "mine")})
    stop = threading.Event()

    def on_event(event):
        if event.get("event") == "progress":
            stop.set()

    with pytest.raises(Cancelled, match="no model was written"):
        process.finetune(params | {"steps": 40, "output": str(tmp_path / "cancelled")}, on_event, stop.is_set)
    assert not (tmp_path / "cancelled").exists()
    assert {p.name: p.read_bytes() for p in (tmp_path / "base").iterdir()} == base


def _disc_dataset(process, tmp_path) -> str:
    """A training set of two discs ("tank"), built by the worker."""
    import json

    import rasterio
    from affine import Affine

    transform = Affine(0.5, 0, 500_000.0, 0, -0.5, 3_700_000.0)
    raster = tmp_path / "discs.tif"
    profile = {"driver": "GTiff", "width": 320, "height": 240, "count": 3, "dtype": "uint8", "crs": "EPSG:32616"}
    with rasterio.open(raster, "w", transform=transform, **profile) as dst:
        dst.write(disc_image(240, 320, DISCS))
    corners = ((-1, -1), (1, -1), (1, 1), (-1, 1), (-1, -1))
    squares = [[[transform * (c + dx * r, rw + dy * r) for dx, dy in corners]] for c, rw, r in DISCS]
    collection = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32616"}},
        "features": [
            {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": s}} for s in squares
        ],
    }
    vector = tmp_path / "tanks.geojson"
    vector.write_text(json.dumps(collection))
    params = {"raster": str(raster), "vector": str(vector), "class_name": "storage tank", "chip": 128, "overlap": 16}
    process.build_dataset(params | {"out_dir": str(tmp_path / "set")})
    return str(tmp_path / "set")
