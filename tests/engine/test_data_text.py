"""Grounded markup, the shared vocabulary and the samples built from scene masks."""

from __future__ import annotations

import numpy as np
import pytest

from engine.data.sample import DataFormatError, GroundedSample, Instance, Scene, count_seg, seg_phrases, strip_markup
from engine.data.scene_text import (
    description_sample,
    referring_expressions,
    referring_sample,
    scene_samples,
    segment_all_sample,
)
from engine.data.synthetic import generate_scene
from engine.data.templates import CLASSES, SEGMENT_ALL_MENU, class_for_label, match_class


def _disk(shape, cy, cx, r):
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    return (rows - cy) ** 2 + (cols - cx) ** 2 <= r * r


def _scene(*instances):
    shape = (40, 40)
    image = np.zeros((*shape, 3), dtype=np.uint8)
    return Scene(image, [Instance(c, m, k + 1) for k, (c, m) in enumerate(instances)], gsd=1.0, name="t")


def test_markup_helpers():
    text = "The <p> tank </p> [SEG] and a bare [SEG], then <p>ship</p>[SEG]."
    assert count_seg(text) == 3
    assert seg_phrases(text) == ["tank", None, "ship"]
    assert strip_markup(text) == "The tank and a bare, then ship."


def test_sample_rejects_mask_count_mismatch_and_bad_images():
    image = np.zeros((4, 4, 3), dtype=np.uint8)
    with pytest.raises(DataFormatError, match="2 \\[SEG\\] tokens but 1 masks"):
        GroundedSample(image, "q", "[SEG] [SEG]", masks=[np.zeros((4, 4), bool)])
    with pytest.raises(DataFormatError, match="uint8"):
        GroundedSample(image.astype(float), "q", "no masks")
    with pytest.raises(DataFormatError, match="mask shape"):
        GroundedSample(image, "q", "[SEG]", masks=[np.zeros((3, 4), bool)])


def test_vocabulary_forms_line_up():
    for cls in CLASSES:
        assert len(cls.all_singulars) == len(cls.all_plurals), cls.name
    assert SEGMENT_ALL_MENU[0] == "storage tanks" and len(SEGMENT_ALL_MENU) == 9


def test_free_text_and_dataset_labels_map_to_classes():
    assert match_class("Find the oil tanks").name == "storage tank"
    assert match_class("outline every plane please").name == "airplane"
    assert match_class("count the sheep") is None
    assert class_for_label("small-vehicle").name == "vehicle"
    assert class_for_label("Storage_Tank").name == "storage tank"
    assert class_for_label("ground-track-field") is None  # not a crop field


def test_segment_all_grounds_one_phrase_to_the_union_of_the_instances():
    low = _disk((40, 40), 30, 10, 3)
    high = _disk((40, 40), 5, 30, 3)
    ship = _disk((40, 40), 20, 20, 2)
    scene = _scene(("storage tank", low), ("ship", ship), ("storage tank", high))
    sample = segment_all_sample(scene, "storage tank", np.random.default_rng(0))
    assert sample.task == "segment_all"
    assert seg_phrases(sample.answer) == ["storage tanks"] and count_seg(sample.answer) == 1
    assert " 2 storage tanks: <p> storage tanks </p> [SEG]." in sample.answer
    assert len(sample.masks) == 1 and np.array_equal(sample.masks[0], low | high)
    assert not (sample.masks[0] & ship).any()
    assert sample.classes == ["storage tank"]


def test_segment_all_of_a_single_instance_uses_the_singular():
    ship = _disk((40, 40), 20, 20, 2)
    scene = _scene(("ship", ship), ("storage tank", _disk((40, 40), 5, 5, 3)))
    sample = segment_all_sample(scene, "ship", np.random.default_rng(3))
    assert seg_phrases(sample.answer) == ["ship"]
    assert len(sample.masks) == 1 and np.array_equal(sample.masks[0], ship)


def test_segment_all_of_an_absent_class_has_no_masks():
    scene = _scene(("ship", _disk((40, 40), 20, 20, 2)))
    sample = segment_all_sample(scene, "airplane", np.random.default_rng(1))
    assert sample.masks == [] and count_seg(sample.answer) == 0
    assert "airplanes" in sample.answer


def test_grounded_style_always_grounds_the_class_and_leaves_absence_to_an_empty_mask():
    low, high = _disk((40, 40), 30, 10, 3), _disk((40, 40), 5, 30, 3)
    ship = _disk((40, 40), 20, 20, 2)
    scene = _scene(("storage tank", low), ("ship", ship), ("storage tank", high))
    present = segment_all_sample(scene, "storage tank", np.random.default_rng(0), style="grounded")
    assert seg_phrases(present.answer) == ["storage tanks"] and count_seg(present.answer) == 1
    assert not any(ch.isdigit() for ch in present.answer) and " no " not in present.answer
    assert np.array_equal(present.masks[0], low | high) and present.classes == ["storage tank"]
    absent = segment_all_sample(scene, "airplane", np.random.default_rng(1), style="grounded")
    assert seg_phrases(absent.answer) == ["airplanes"] and count_seg(absent.answer) == 1
    assert len(absent.masks) == 1 and absent.masks[0].shape == (40, 40) and not absent.masks[0].any()
    assert absent.classes == ["airplane"]
    with pytest.raises(ValueError, match="answer style"):
        segment_all_sample(scene, "ship", np.random.default_rng(0), style="terse")


def test_description_phrase_covering_several_instances_grounds_their_union():
    a, b = _disk((40, 40), 8, 8, 3), _disk((40, 40), 30, 30, 4)
    road = np.zeros((40, 40), bool)
    road[18:21, :] = True
    scene = _scene(("storage tank", a), ("road", road), ("storage tank", b))
    sample = description_sample(scene, np.random.default_rng(2))
    phrases = seg_phrases(sample.answer)
    tank_index = phrases.index("two storage tanks")
    assert np.array_equal(sample.masks[tank_index], a | b)
    assert np.array_equal(sample.masks[phrases.index("a road")], road)
    assert sorted(sample.classes) == ["road", "storage tank"]


def test_referring_picks_the_unique_largest_and_the_one_nearest_the_top():
    big = _disk((40, 40), 28, 28, 6)  # about 113 px
    small = _disk((40, 40), 6, 8, 3)  # about 29 px, near the top
    scene = _scene(("storage tank", big), ("storage tank", small))
    expressions = {e: inst.mask for e, inst in referring_expressions(scene, np.random.default_rng(0))}
    largest = [e for e in expressions if "largest" in e or "biggest" in e]
    top = [e for e in expressions if "top" in e]
    assert largest and np.array_equal(expressions[largest[0]], big)
    assert top and np.array_equal(expressions[top[0]], small)


def test_referring_avoids_ambiguous_targets():
    # Two equal tanks side by side: no size or top/bottom superlative is unique.
    scene = _scene(("storage tank", _disk((40, 40), 20, 10, 4)), ("storage tank", _disk((40, 40), 20, 30, 4)))
    expressions = [e for e, _ in referring_expressions(scene, np.random.default_rng(0))]
    assert not any(word in e for e in expressions for word in ("largest", "biggest", "smallest", "top", "bottom"))
    assert any("left" in e for e in expressions) and any("right" in e for e in expressions)


def test_referring_sample_has_one_target_and_generic_answer():
    scene = _scene(("ship", _disk((40, 40), 20, 20, 3)))
    sample = referring_sample(scene, np.random.default_rng(0))
    assert sample.task == "referring" and len(sample.masks) == 1 and count_seg(sample.answer) == 1
    assert "ship" in sample.instruction or "boat" in sample.instruction or "vessel" in sample.instruction


def test_scene_samples_from_a_synthetic_scene_are_consistent():
    scene = generate_scene(5, 96, gsd=1.0)
    samples = scene_samples(scene, np.random.default_rng(5))
    kinds = {s.task for s in samples}
    assert {"gcg", "segment_all"} <= kinds
    for sample in samples:
        assert count_seg(sample.answer) == len(sample.masks) == len(sample.classes)
        assert all(m.any() for m in sample.masks)
