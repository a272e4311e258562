"""GeoPixelD, GeoPixInstruct and RRSIS-D readers: real sample, hand-made files and malformed input."""

from __future__ import annotations

import json
import os
import pickle
import warnings

import numpy as np
import pytest
import rasterio
from pycocotools import mask as mask_utils
from rasterio.errors import NotGeoreferencedWarning
from shapely.geometry import Polygon

from engine.data.geopixeld import GeoPixelDDataset
from engine.data.geopixinstruct import GeoPixInstructDataset, decode_rle
from engine.data.raster import polygons_mask
from engine.data.rrsisd import RRSISDDataset, load_refs
from engine.data.sample import DataFormatError


def _write_png(path, height=12, width=10):
    pixels = (np.arange(3 * height * width) % 251).astype(np.uint8).reshape(3, height, width)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", driver="PNG", height=height, width=width, count=3, dtype="uint8") as dst:
            dst.write(pixels)
    return pixels.transpose(1, 2, 0)


def test_real_geopixeld_sample(shared_data):
    index = shared_data("geopixeld_sample/GeoPixelD.json")
    dataset = GeoPixelDDataset(index)
    assert len(dataset) == 1
    sample = dataset[0]
    assert sample.image.shape == (800, 800, 3)
    assert sample.phrases == ["tennis court-1", "tennis court-2", "tennis court-3", "tennis court-4"]
    record = json.loads(shared_data("geopixeld_sample/P0224_0_800_0_800.json").read_text())
    for mask, polygons in zip(sample.masks, record["polygons"]):
        # The filled mask covers the polygon's area plus at most its one-pixel outline.
        area = sum(Polygon(p).area for p in polygons)
        perimeter = sum(Polygon(p).length for p in polygons)
        assert area <= mask.sum() <= area + perimeter + 4


def test_polygons_are_filled_and_unioned_like_contours():
    square = [[2, 2], [5, 2], [5, 5], [2, 5]]  # vertices are pixel indices: rows and columns 2..5
    other = [[7, 0], [8, 0], [8, 1], [7, 1]]
    mask = polygons_mask([square, other], (10, 10))
    assert mask[2:6, 2:6].all() and mask[0:2, 7:9].all()
    assert mask.sum() == 4 * 4 + 2 * 2  # 16 + 4 pixels, nothing else


def _geopixeld_files(tmp_path, answer, polygons, write_image=True):
    image_dir = tmp_path / "data" / "GeoPixelD" / "test"
    image_dir.mkdir(parents=True)
    if write_image:
        _write_png(image_dir / "a.png")
    (image_dir / "a.json").write_text(
        json.dumps({"id": 0, "img": "a.png", "gcg_description": answer, "polygons": polygons})
    )
    index = tmp_path / "index.json"
    entry = {
        "id": 0,
        "conversations": [{"from": "human", "value": "<image>\nDescribe."}, {"from": "bot", "value": answer}],
        "image": "data/GeoPixelD/test/a.png",
        "polygons": "data/GeoPixelD/test/a.json",
    }
    index.write_text(json.dumps([entry]))
    return index


def test_geopixeld_reader_on_hand_made_files(tmp_path):
    answer = "A <p> roof </p> [SEG] and <p> two cars </p> [SEG]."
    polygons = [
        [[[1, 1], [3, 1], [3, 3], [1, 3]]],
        [[[6, 6], [6, 7], [7, 7], [7, 6]], [[0, 9], [1, 9], [1, 10], [0, 10]]],
    ]
    sample = GeoPixelDDataset(_geopixeld_files(tmp_path, answer, polygons))[0]
    assert sample.instruction == "Describe."
    assert sample.image.shape == (12, 10, 3)
    assert [int(m.sum()) for m in sample.masks] == [9, 4 + 4]  # 3x3, then two 2x2 squares unioned
    assert sample.masks[1][9:11, 0:2].all()


def test_geopixeld_mask_count_mismatch_is_reported(tmp_path):
    index = _geopixeld_files(
        tmp_path, "A <p> roof </p> [SEG].", [[[[1, 1], [3, 1], [3, 3]]], [[[5, 5], [6, 5], [6, 6]]]]
    )
    with pytest.raises(DataFormatError, match="1 \\[SEG\\] tokens in the answers but 2 polygon entries"):
        GeoPixelDDataset(index)[0]


def test_geopixeld_missing_image_and_bad_index_are_reported(tmp_path):
    index = _geopixeld_files(tmp_path, "A <p> roof </p> [SEG].", [[[[1, 1], [3, 1], [3, 3]]]], write_image=False)
    with pytest.raises(DataFormatError, match="a.png"):
        GeoPixelDDataset(index)[0]
    broken = tmp_path / "broken.json"
    broken.write_text("[{")
    with pytest.raises(DataFormatError, match="not valid JSON"):
        GeoPixelDDataset(broken)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(
        json.dumps([{"id": 1, "conversations": [{"from": "bot", "value": "x"}], "image": "", "polygons": ""}])
    )
    with pytest.raises(DataFormatError, match="human/bot pairs"):
        GeoPixelDDataset(wrong)


def _rle_json(mask):
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"counts": rle["counts"].decode("ascii"), "size": [int(v) for v in rle["size"]]}


def test_geopixinstruct_rle_masks_round_trip(tmp_path):
    _write_png(tmp_path / "img.png")
    car_a = np.zeros((12, 10), bool)
    car_a[1:3, 1:5] = True
    car_b = np.zeros((12, 10), bool)
    car_b[8:11, 6:9] = True
    record = {
        "image_id": "x1",
        "image_path": "img.png",
        "instances": [
            {
                "bbox": [1, 1, 4, 2],
                "category": "small-vehicle",
                "category_id": 1,
                "description": "the white car.",
                "instance_id": 3,
                "mask": _rle_json(car_a),
            },
            {
                "bbox": [6, 8, 3, 3],
                "category": "small-vehicle",
                "category_id": 1,
                "description": "the dark car",
                "instance_id": 4,
                "mask": _rle_json(car_b),
            },
        ],
    }
    path = tmp_path / "anno.json"
    path.write_text(json.dumps([record]))
    dataset = GeoPixInstructDataset(path, tmp_path, segment_all=True)
    assert len(dataset) == 3  # two referring samples + one "segment all vehicles"
    first = dataset[0]
    assert first.task == "referring" and np.array_equal(first.masks[0], car_a)
    assert "the white car" in first.instruction and first.classes == ["vehicle"]
    every = dataset[2]
    assert every.task == "segment_all" and len(every.masks) == 1
    assert np.array_equal(every.masks[0], car_a | car_b)  # one [SEG] grounds both cars


def test_geopixinstruct_bad_rle_and_missing_keys(tmp_path):
    with pytest.raises(DataFormatError, match="RLE"):
        decode_rle({"size": [2, 2]})
    path = tmp_path / "anno.jsonl"
    path.write_text(json.dumps({"image_id": 1, "image_path": "x.png", "instances": [{"mask": {}}]}) + "\n")
    with pytest.raises(DataFormatError, match="missing key"):
        GeoPixInstructDataset(path, tmp_path)


def _rrsisd_files(tmp_path, refs_suffix=".json"):
    _write_png(tmp_path / "07.png")
    coco = {
        "images": [{"id": 7, "file_name": "07.png", "height": 12, "width": 10}],
        "annotations": [{"id": 70, "image_id": 7, "category_id": 2, "segmentation": [[1, 1, 5, 1, 5, 4, 1, 4]]}],
        "categories": [{"id": 2, "name": "storagetank"}],
    }
    (tmp_path / "instances.json").write_text(json.dumps(coco))
    refs = [
        {
            "ref_id": 1,
            "ann_id": 70,
            "image_id": 7,
            "split": "test",
            "sentences": [{"sent": "the tank on the left"}, {"sent": "the white tank"}],
        },
        {"ref_id": 2, "ann_id": 70, "image_id": 7, "split": "train", "sentences": [{"sent": "a tank"}]},
    ]
    refs_path = tmp_path / f"refs{refs_suffix}"
    if refs_suffix == ".json":
        refs_path.write_text(json.dumps(refs))
    else:
        refs_path.write_bytes(pickle.dumps(refs))
    return refs_path


@pytest.mark.parametrize("suffix", [".json", ".p"])
def test_rrsisd_reader(tmp_path, suffix):
    refs = _rrsisd_files(tmp_path, suffix)
    dataset = RRSISDDataset(refs, tmp_path / "instances.json", tmp_path, split="test")
    assert len(dataset) == 2  # two sentences of the one test ref
    sample = dataset[1]
    assert "the white tank" in sample.instruction
    assert sample.classes == ["storage tank"]
    expected = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects([[1, 1, 5, 1, 5, 4, 1, 4]], 12, 10)))
    assert np.array_equal(sample.masks[0], expected.astype(bool)) and sample.masks[0].any()


class _Exploit:
    def __reduce__(self):
        return (os.system, ("echo should-not-run",))


def test_refs_pickle_with_code_is_refused(tmp_path):
    path = tmp_path / "refs(unc).p"
    path.write_bytes(pickle.dumps([{"ref_id": 1, "payload": _Exploit()}]))
    with pytest.raises(DataFormatError, match="refusing to load"):
        load_refs(path)
