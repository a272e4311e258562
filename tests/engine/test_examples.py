"""Show one, find all: example prompts through the model, the Engine API, the geo pipeline and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
import shapely
import torch
from rasterio.transform import from_origin
from shapely.geometry import LineString, Point, box

from engine.api import Engine, ExamplesNotSupportedError
from engine.data.synthetic import generate_scene
from engine.geo.errors import RasterError
from engine.geo.examples import POINT_RADIUS_PX, dataset_reader, example_windows, read_examples
from engine.geo.pipeline import segment_raster, segment_view
from engine.geo.raster import open_raster, plan_bands
from engine.model.geoground.examples import ExamplePrototypes, pool_examples
from engine.model.geoground.modeling import GeoGroundModel
from engine.model.geoground.presets import preset_config
from engine.model.geoground.tokenizer import build_tokenizer


def tiny_engine(examples: bool = True, seed: int = 0) -> Engine:
    config = preset_config("tiny", example_prompts={"hidden": 32} if examples else None)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = GeoGroundModel(config).eval()
    return Engine.from_model(model, build_tokenizer(config))


@pytest.fixture(scope="module")
def engine() -> Engine:
    return tiny_engine()


@pytest.fixture(scope="module")
def scene():
    return generate_scene(4242, 256, gsd=1.0)


def write_geotiff(path, image: np.ndarray, crs: str | None = "EPSG:32633", origin=(500000.0, 4000000.0), gsd=1.0):
    profile = {"driver": "GTiff", "width": image.shape[1], "height": image.shape[0], "count": 3, "dtype": "uint8"}
    if crs is not None:
        profile |= {"crs": crs, "transform": from_origin(origin[0], origin[1], gsd, gsd)}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.moveaxis(image, -1, 0))
    return path


# --- the model's parts -------------------------------------------------------------------------------------------
def test_a_prototype_is_the_area_weighted_mean_of_the_features_under_its_mask():
    level = torch.arange(2 * 4 * 4, dtype=torch.float32).view(1, 2, 4, 4)
    mask = torch.zeros(1, 8, 8, dtype=torch.bool)
    mask[0, :4, :4] = True  # the top-left 2 x 2 cells of the 4 x 4 map, fully
    mask[0, 4, 4] = True  # a quarter of cell (2, 2)
    prototypes = pool_examples([level, level, level], mask)
    weights = torch.tensor([1.0, 1.0, 1.0, 1.0, 0.25])
    cells = level[0][:, [0, 0, 1, 1, 2], [0, 1, 0, 1, 2]]
    expected = (cells * weights).sum(1) / weights.sum()
    assert prototypes.count == 1
    assert torch.allclose(prototypes.levels[0][0], expected)


def test_empty_example_masks_are_refused():
    level = torch.zeros(1, 2, 4, 4)
    with pytest.raises(ValueError, match="empty"):
        masks = torch.zeros(2, 8, 8, dtype=torch.bool)
        masks[0, 1, 1] = True  # the second example has no pixel
        pool_examples([level] * 3, masks)
    with pytest.raises(ValueError, match="at least one"):
        ExamplePrototypes([torch.zeros(0, 2)] * 3)


# --- the Engine API ----------------------------------------------------------------------------------------------
def test_find_like_answers_with_one_segment_at_the_image_size(engine, scene):
    prompt = engine.example_prompt(scene.image, scene.instances[0].mask)
    reply = engine.find_like(scene.image[:200, :230], prompt, phrase="tank")
    assert [s.phrase for s in reply.segments] == ["tank"]
    assert reply.segments[0].mask.shape == (200, 230)
    assert reply.segments[0].probability.shape == (200, 230)


def test_a_batch_gives_the_answers_of_single_images(engine, scene):
    prompt = engine.example_prompt(scene.image, np.stack([i.mask for i in scene.instances[:2]]))
    other = generate_scene(4243, 256, gsd=1.0).image
    single = [engine.find_like(image, prompt).segments[0].probability for image in (scene.image, other)]
    batched = [r.segments[0].probability for r in engine.find_like_batch([scene.image, other], prompt)]
    for a, b in zip(single, batched, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_examples_from_two_images_combine_into_one_prompt(engine, scene):
    other = generate_scene(4243, 256, gsd=1.0)
    first = engine.example_prompt(scene.image, scene.instances[0].mask)
    second = engine.example_prompt(other.image, other.instances[0].mask)
    combined = ExamplePrototypes.concat([first, second])
    assert combined.count == 2
    assert engine.find_like(scene.image, combined).segments[0].mask.shape == (256, 256)


def test_example_masks_must_match_the_image_and_hold_pixels(engine, scene):
    with pytest.raises(ValueError, match="must be"):
        engine.example_prompt(scene.image, np.ones((10, 10), dtype=bool))
    with pytest.raises(ValueError, match="valid pixel"):
        engine.example_prompt(scene.image, np.zeros((1, 256, 256), dtype=bool))
    image = scene.image.astype(np.float32)
    image[:50] = np.nan  # no data: an example there has no pixel to learn from
    mask = np.zeros((256, 256), dtype=bool)
    mask[10:20, 10:20] = True
    with pytest.raises(ValueError, match="valid pixel"):
        engine.example_prompt(image, mask)


def test_a_text_only_model_refuses_examples_with_a_clear_message(scene):
    text_only = tiny_engine(examples=False)
    assert not text_only.takes_examples
    with pytest.raises(ExamplesNotSupportedError, match="text prompts only"):
        text_only.example_prompt(scene.image, scene.instances[0].mask)
    with pytest.raises(ExamplesNotSupportedError, match="text prompts only"):
        text_only.finder(None)


def test_the_encoder_is_saved_and_loaded_with_the_model(engine, scene, tmp_path):
    engine.model.save_pretrained(tmp_path, safe_serialization=True)
    engine.tokenizer.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["example_prompts"] == {"hidden": 32}
    loaded = Engine.load(str(tmp_path), device="cpu")
    assert loaded.takes_examples
    mask = scene.instances[0].mask
    expected = engine.find_like(scene.image, engine.example_prompt(scene.image, mask)).segments[0].probability
    found = loaded.find_like(scene.image, loaded.example_prompt(scene.image, mask)).segments[0].probability
    np.testing.assert_allclose(found, expected, atol=1e-5)


def test_adding_an_encoder_leaves_the_text_answers_as_they_were(scene):
    plain = tiny_engine(examples=False, seed=3)
    before = plain.chat(scene.image, "Segment all storage tanks.", max_new_tokens=12)
    plain.model.add_example_encoder(hidden=16)
    after = plain.chat(scene.image, "Segment all storage tanks.", max_new_tokens=12)
    assert plain.takes_examples
    assert after.raw_text == before.raw_text
    assert [s.mask.tolist() for s in after.segments] == [s.mask.tolist() for s in before.segments]


# --- rasters ------------------------------------------------------------------------------------------------------
def test_each_example_is_read_at_the_tiles_extent_and_pixel_size(scene, tmp_path):
    path = write_geotiff(tmp_path / "scene.tif", np.tile(scene.image, (2, 2, 1)))  # 512 x 512 source pixels
    square = box(300, 200, 320, 220)  # pixel coordinates
    with open_raster(path) as dataset:
        read = dataset_reader(dataset, plan_bands(dataset))
        reads = example_windows(read, (512, 512), [square, Point(10, 500)], (256, 256), (128, 128))
    (rgb, mask), (_, point_mask) = reads
    assert rgb.shape == (128, 128, 3)
    rows, cols = np.nonzero(mask)
    # the window is centred on the square (310, 210) -> half-scale pixels around the middle, 10 x 10 of them
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (59, 68, 59, 68)
    # a point near a corner: the window is shifted inwards, the disc keeps its place (col 10, row 500 -> 5, 122)
    rows, cols = np.nonzero(point_mask)
    assert abs(rows.mean() - 122) < 1 and abs(cols.mean() - 5) < 1
    assert point_mask.sum() == pytest.approx(np.pi * POINT_RADIUS_PX**2, rel=0.35)


def test_examples_outside_the_raster_are_refused(scene, tmp_path):
    path = write_geotiff(tmp_path / "scene.tif", scene.image)
    with open_raster(path) as dataset, pytest.raises(RasterError, match="example 2 lies outside"):
        read = dataset_reader(dataset, plan_bands(dataset))
        example_windows(read, (256, 256), [box(1, 1, 5, 5), box(900, 900, 950, 950)], (256, 256), (256, 256))


def test_segment_raster_finds_objects_like_examples_given_in_the_rasters_crs(engine, scene, tmp_path):
    path = write_geotiff(tmp_path / "scene.tif", scene.image)
    with rasterio.open(path) as src:
        transform = src.transform
    tank = scene.instances[0].mask
    rows, cols = np.nonzero(tank)
    x0, y0 = transform * (cols.min(), rows.min())
    x1, y1 = transform * (cols.max() + 1, rows.max() + 1)
    result = segment_raster(path, "Find all like these", engine, whole=True, examples=[box(x0, y1, x1, y0)],
                            example_phrase="thing")  # fmt: skip
    assert result.instruction == "Find all like these"
    assert {f.phrase for f in result.features} <= {"thing"}
    with pytest.raises(TypeError, match="cannot take examples"):
        segment_raster(path, "Find all like these", _TextOnly(), examples=[box(x0, y1, x1, y0)])


class _TextOnly:
    def chat(self, image, text):  # pragma: no cover - never reached
        raise AssertionError


def test_example_files_are_reprojected_to_the_raster_and_kept_as_pixels_without_a_crs(tmp_path):
    import pyogrio
    from pyproj import Transformer

    lonlat = [Point(15.0, 36.1), box(15.001, 36.1, 15.002, 36.101)]
    path = tmp_path / "examples.gpkg"
    pyogrio.raw.write(path, np.array([g.wkb for g in lonlat], dtype=object), [], [], [], geometry_type="Unknown",
                      crs="EPSG:4326", driver="GPKG")  # fmt: skip
    found = read_examples(str(path), rasterio.crs.CRS.from_epsg(32633).to_wkt())
    x, y = Transformer.from_crs(4326, 32633, always_xy=True).transform(15.0, 36.1)
    assert found[0].x == pytest.approx(x) and found[0].y == pytest.approx(y)
    assert found[1].geom_type == "Polygon" and found[1].area > 1000  # square metres now, not degrees
    assert read_examples(str(path), None)[0].equals(lonlat[0])  # a raster without CRS: coordinates as given
    wrong = tmp_path / "wrong.gpkg"  # UTM coordinates in a file that says WGS 84
    pyogrio.raw.write(wrong, np.array([Point(500000, 4000000).wkb], dtype=object), [], [], [], geometry_type="Point",
                      crs="EPSG:4326", driver="GPKG")  # fmt: skip
    with pytest.raises(RasterError, match="do not reproject"):
        read_examples(str(wrong), rasterio.crs.CRS.from_epsg(32633).to_wkt())


def test_example_files_of_lines_or_without_features_are_refused(tmp_path):
    import pyogrio

    lines = tmp_path / "lines.gpkg"
    pyogrio.raw.write(lines, np.array([LineString([(0, 0), (5, 5)]).wkb], dtype=object), [], [], [],
                      geometry_type="LineString", driver="GPKG")  # fmt: skip
    with pytest.raises(RasterError, match="polygons or points"):
        read_examples(str(lines), None)
    with pytest.raises(RasterError, match="cannot read"):
        read_examples(str(tmp_path / "missing.gpkg"), None)


def test_cli_segment_with_examples_writes_the_found_objects(engine, scene, tmp_path, capsys):
    import pyogrio

    from engine.cli import main

    raster = write_geotiff(tmp_path / "scene.tif", scene.image, crs=None)
    examples = tmp_path / "examples.geojson"
    rows, cols = np.nonzero(scene.instances[0].mask)
    polygon = box(cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)  # pixel coordinates: no CRS
    pyogrio.raw.write(examples, np.array([shapely.to_wkb(polygon)], dtype=object), [], [], [],
                      geometry_type="Polygon", driver="GeoJSON")  # fmt: skip
    out = tmp_path / "out.gpkg"
    arguments = ["segment", str(raster), "Find all like these", "--examples", str(examples), "--whole"]
    arguments += ["--example-phrase", "tank", "-o", str(out), "--quiet"]
    code = main(arguments, engine_factory=lambda *a, **k: engine)
    assert code == 0, capsys.readouterr().err
    assert out.is_file()
    text_only = tiny_engine(examples=False)
    code = main(["segment", str(raster), "Find all like these", "--examples", str(examples), "-o",
                 str(tmp_path / "b.gpkg")], engine_factory=lambda *a, **k: text_only)  # fmt: skip
    assert code == 2
    assert "text prompts only" in capsys.readouterr().err
    assert not (tmp_path / "b.gpkg").exists()


def test_segment_view_takes_examples_in_the_views_coordinates_and_upsamples_them_with_it(engine, scene):
    from affine import Affine

    transform = Affine(4.0, 0, 1000.0, 0, -4.0, 2000.0)  # 4 m pixels: the tiny model has no max_gsd, no upsampling
    rows, cols = np.nonzero(scene.instances[0].mask)
    x, y = transform * (cols.mean() + 0.5, rows.mean() + 0.5)
    result = segment_view(scene.image, transform, None, "Find all like these", engine, examples=[Point(x, y)],
                          example_phrase="thing", measure=False)  # fmt: skip
    assert {f.phrase for f in result.features} <= {"thing"}
    with pytest.raises(RasterError, match="outside the area searched"):
        segment_view(scene.image, transform, None, "Find all like these", engine, examples=[Point(0, 0)])


def test_the_service_answers_a_request_with_examples_in_plain_data(engine, scene):
    from affine import Affine

    from engine.service import EngineService, SegmentAnswer, SegmentRequest

    transform = Affine(2.0, 0, 500.0, 0, -2.0, 900.0)
    rows, cols = np.nonzero(scene.instances[0].mask)
    x, y = transform * (cols.mean() + 0.5, rows.mean() + 0.5)
    service = EngineService(lambda *args: engine)
    request = {"instruction": "Find all like these", "transform": list(transform)[:6], "model": "tiny",
               "examples": [Point(x, y).wkb.hex()], "example_phrase": "tank"}  # fmt: skip
    answer = service.segment(SegmentRequest.from_dict(request), scene.image)
    answer = SegmentAnswer.from_dict(json.loads(json.dumps(answer.to_dict())))
    assert answer.asked == ["tank"]
    assert all(f["phrase"] == "tank" for f in answer.features)
    assert answer.instruction == "Find all like these"
    request["examples"] = [Point(0, 0).wkb.hex()]
    with pytest.raises(RasterError, match="outside the area searched"):
        service.segment(SegmentRequest.from_dict(request), scene.image)


class _Recorder:
    """Records the example windows an engine is given."""

    def __init__(self) -> None:
        self.reads: list[tuple[tuple, int]] = []

    def example_prompt(self, rgb, masks):
        self.reads.append((rgb.shape, int(masks.sum())))
        return ExamplePrototypes([torch.zeros(1, 2)] * 3)

    def finder(self, prompt, phrase):
        return ("finder", prompt.count, phrase)


def test_examples_from_another_raster_are_read_at_the_tiles_ground_pixel_size(scene, tmp_path):
    from engine.geo.examples import raster_finder
    from engine.geo.tiles import single_tile

    other = write_geotiff(tmp_path / "other.tif", np.tile(scene.image, (2, 2, 1)), gsd=2.0)  # 2 m pixels
    square = box(500100.0, 3999500.0, 500110.0, 3999510.0)  # 10 m x 10 m in the other raster's CRS
    tile = single_tile(rasterio.windows.Window(0, 0, 256, 256))  # the raster searched: 256 px tiles...
    recorder = _Recorder()
    finder = raster_finder(recorder, str(other), [square], tile, "thing", model_gsd=1.0)  # ...of 1 m per pixel
    assert finder == ("finder", 1, "thing")
    ((shape, area),) = recorder.reads
    assert shape == (256, 256, 3)  # 128 source pixels of 2 m read at the tile's 256 model pixels of 1 m
    assert area == pytest.approx(100, rel=0.25)  # so 10 m x 10 m covers 10 x 10 model pixels, as it would there


# --- the shipped demo model's example encoder ------------------------------------------------------------------
# Bars below what the model card reports (docs/MODEL_CARD_demo.md, "Example prompts"), measured on these scenes.
DEMO_MIN_IOU = {"storage tank": 0.45, "building": 0.5}


@pytest.fixture(scope="module")
def demo():
    from engine.hub.registry import PRETRAINED_DIR

    if not (PRETRAINED_DIR / "demo" / "model.safetensors").is_file():
        pytest.skip("the demo weights are not installed")
    engine = Engine.load("demo", device="cpu")
    if not engine.takes_examples:
        pytest.skip("the installed demo weights have no example encoder")
    return engine


@pytest.mark.parametrize("class_name", list(DEMO_MIN_IOU))
def test_demo_finds_objects_like_two_examples_and_not_the_look_alikes(demo, class_name):
    from engine.eval.metrics import mask_iou

    ious, elsewhere = [], []
    seed = 7_100_000_000 + 1000 * ["storage tank", "building"].index(class_name)
    while len(ious) < 6:
        scene = generate_scene(seed, 256, classes=[class_name, "building", "storage tank", "tree", "vehicle", "road"])
        seed += 1
        members = scene.of_class(class_name)
        if len(members) < 2:
            continue
        found = demo.find_like(scene.image, demo.example_prompt(scene.image, [m.mask for m in members[:2]]))
        found = found.segments[0].mask
        truth = np.logical_or.reduce([m.mask for m in members])
        others = [i.mask for i in scene.instances if i.class_name not in (class_name, "road")]
        others = np.logical_or.reduce(others) if others else np.zeros_like(truth)
        ious.append(mask_iou(found, truth))
        elsewhere.append((found & others & ~truth).sum() / max(found.sum(), 1))
    assert np.mean(ious) > DEMO_MIN_IOU[class_name], ious
    assert np.mean(elsewhere) < 0.1, elsewhere  # the other objects of the scene are left out


def test_demo_outlines_tank_farm_roofs_from_one_example(demo, shared_data):
    from engine.eval.examples import tank_farm
    from engine.geo.pipeline import segment_raster

    root = shared_data("demo/tank_farm_2m_3857.tif").parents[1]
    report = tank_farm(lambda path, examples: segment_raster(path, "Find all like these", demo, whole=True,
                                                             examples=examples), root)  # fmt: skip
    assert report["roofs_matched@0.6"] >= 5, report  # 6 of 9 when measured; the example's own roof among them
    assert report["polygons_off_tank"] <= 6, report
