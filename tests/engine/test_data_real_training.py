"""Real scenes as training data: NEON crowns from boxes, random windows, touching instances kept apart, and only
questions whose answer the labels know."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engine.data.real_scenes import DataFormatError, RestrictedDataError, neon_trees, read_voc_boxes
from engine.data.sample import Instance, Scene
from engine.data.scene_text import scene_samples
from engine.train.data import DataConfig, SampleStream, dihedral, separate_touching


def write_neon(folder, boxes):
    Image.fromarray(np.full((60, 80, 3), 90, dtype=np.uint8)).save(folder / "scene.png")
    objects = "".join(
        f"<object><bndbox><xmin>{a}</xmin><ymin>{b}</ymin><xmax>{c}</xmax><ymax>{d}</ymax></bndbox></object>"
        for a, b, c, d in boxes
    )
    (folder / "scene.xml").write_text(f"<annotation>{objects}</annotation>")
    return folder / "scene.png", folder / "scene.xml"


def test_neon_boxes_become_disjoint_ellipse_crowns(tmp_path):
    image, xml = write_neon(tmp_path, [(10, 10, 30, 40), (25, 10, 45, 30), (70, 50, 71, 51)])
    scene = neon_trees(image, xml)
    assert scene.gsd == pytest.approx(0.1) and scene.image.shape == (60, 80, 3)
    assert len(scene.instances) == 2  # the 1-pixel box is too small to be a crown
    first, second = (inst.mask for inst in scene.instances)
    assert not (first & second).any()
    rows, cols = np.nonzero(first)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (10, 40, 10, 30)  # the ellipse fills its box
    assert first.sum() == pytest.approx(np.pi * 10 * 15, rel=0.1)
    assert "building" in scene.absent(["building", "tree"]) and "tree" not in scene.absent(["tree"])


def test_a_broken_annotation_file_says_which(tmp_path):
    (tmp_path / "bad.xml").write_text("<annotation><object>")
    with pytest.raises(DataFormatError, match="bad.xml"):
        read_voc_boxes(tmp_path / "bad.xml")


def test_evaluation_folders_are_refused(tmp_path):
    folder = tmp_path / "eval_only"
    folder.mkdir()
    image, xml = write_neon(folder, [(10, 10, 30, 40)])
    with pytest.raises(RestrictedDataError):
        neon_trees(image, xml)


def _square(shape, top, left, size):
    mask = np.zeros(shape, dtype=bool)
    mask[top : top + size, left : left + size] = True
    return mask


def test_touching_instances_of_a_class_get_a_background_line():
    shape = (40, 40)
    a, b = _square(shape, 5, 5, 10), _square(shape, 5, 15, 10)  # side by side
    lone = _square(shape, 25, 25, 8)
    other_class = _square(shape, 5, 25, 6)  # touches b, but it is a road
    scene = Scene(np.zeros((*shape, 3), np.uint8), [Instance("building", a, 1), Instance("building", b, 2),
                  Instance("building", lone, 3), Instance("road", other_class, 4)], 0.5)  # fmt: skip
    kept = {i.instance_id: i.mask for i in separate_touching(scene, 2).instances}
    union = kept[1] | kept[2]
    assert not union[:, 13:17].any()  # a gap of 4 columns where they touched
    assert union[:, 5:12].any() and union[:, 18:25].any()
    assert np.array_equal(kept[3], lone) and np.array_equal(kept[4], other_class)
    assert separate_touching(scene, 0) is scene


def test_dihedral_moves_masks_with_the_image():
    image = np.zeros((20, 30, 3), np.uint8)
    mask = _square((20, 30), 2, 3, 4)
    image[mask] = 255
    scene = Scene(image, [Instance("ship", mask, 1)], 1.0)
    for k in range(8):
        turned = dihedral(scene, k)
        assert np.array_equal(turned.image[..., 0] == 255, turned.instances[0].mask)
    assert dihedral(scene, 1).image.shape == (30, 20, 3)


def test_real_scenes_ask_only_about_classes_their_labels_know():
    scene = Scene(np.zeros((32, 32, 3), np.uint8), [Instance("tree", _square((32, 32), 4, 4, 10), 1)], 0.1,
                  absent_classes=("ship",))  # fmt: skip
    for seed in range(10):
        samples = scene_samples(scene, np.random.default_rng(seed), "grounded")
        asked = {c for s in samples for c in s.classes}
        assert asked <= {"tree", "ship"}


def test_windows_come_from_every_real_scene_as_a_function_of_the_index(shared_data):
    root = shared_data("spacenet/atlanta_pan_0p5m.tif").parents[1]
    config = DataConfig(real_fraction=1.0, real_scenes=["spacenet_atlanta", "neon_soap"], real_root=str(root),
                        real_sampling="windows", segment_all_style="grounded", real_tile=128)  # fmt: skip
    stream = SampleStream(config)
    assert [s.name for s in stream.real_scenes] == ["atlanta_pan_0p5m:train", "SOAP_061"]
    names = {stream[i].sample_id.split(":")[0] for i in range(0, 160, 4)}
    assert names == {"atlanta_pan_0p5m", "SOAP_061"}
    assert all(stream[i].image.shape == (128, 128, 3) for i in range(0, 40, 4))
    again = SampleStream(config)
    assert all(np.array_equal(stream[i].image, again[i].image) for i in range(0, 40, 4))  # a pure function of i
