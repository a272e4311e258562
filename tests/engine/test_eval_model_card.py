"""The model card's instance metrics: one union mask per answer, split into regions like the polygons."""

from __future__ import annotations

import dataclasses

import numpy as np

from engine.eval.metrics import iou_matrix, paired_ious
from engine.eval.model_card import MIN_COMPONENT_PX, score_answer
from engine.geo.regions import connected_regions
from engine.types import InferenceSettings


def _box(r0, r1, c0, c1, shape=(32, 32)):
    mask = np.zeros(shape, dtype=bool)
    mask[r0:r1, c0:c1] = True
    return mask


def test_one_union_mask_is_scored_instance_by_instance():
    a, b, c = _box(0, 6, 0, 6), _box(10, 16, 10, 16), _box(20, 26, 0, 6)
    # One [SEG] covering a exactly and a third of b; c is missed; a false alarm elsewhere.
    pred = a | _box(10, 16, 10, 12) | _box(28, 32, 28, 32)
    row = score_answer([pred], [a, b, c], (32, 32))
    assert row["segs"] == 1 and row["predicted"] == 3 and row["instances"] == 3
    assert paired_ious(iou_matrix(connected_regions(pred, MIN_COMPONENT_PX), [a, b, c])) == [1.0, 1 / 3, 0.0]
    assert row["matched"] == 1 and row["reachable"] == 3 and row["count_exact"] == 1.0
    assert row["iou"] == (36 + 12) / (36 + 12 + 16 + 36 + 24)


def test_touching_instances_cap_the_reachable_recall():
    # Three tanks in a row touching each other: a perfect union is one region, a third of each tank.
    row_of_three = [_box(0, 8, 8 * k, 8 * k + 8) for k in range(3)]
    row = score_answer([np.logical_or.reduce(row_of_three)], row_of_three, (32, 32))
    assert row["iou"] == 1.0 and row["predicted"] == 1
    assert row["reachable"] == 0 and row["matched"] == 0 and row["count_exact"] == 0.0


def test_teacher_forced_ious_give_one_score_per_instance():
    import torch

    from engine.data.synthetic import generate_scene
    from engine.eval.model_card import TARGET_CLASSES, teacher_forced_ious
    from engine.model import GeoGroundModel, build_tokenizer, preset_config

    config = preset_config("tiny")
    torch.manual_seed(0)
    model = GeoGroundModel(config).eval()
    scene = generate_scene(5, 96, gsd=1.0)
    instances = [inst for inst in scene.instances if inst.class_name in TARGET_CLASSES]
    pairs = teacher_forced_ious(model, build_tokenizer(config), [scene])
    assert sorted(area for area, _ in pairs) == sorted(inst.area for inst in instances)
    assert all(0.0 <= iou <= 1.0 for _, iou in pairs)


def test_inference_settings_are_chosen_on_validation_scenes_where_they_help(monkeypatch):
    """A fake engine answers the true object (probability 0.9) plus a faint false patch (0.6), but draws the object
    whole only when shown the scene upsampled at least twice (else its top half). Scenes are 1 m per pixel, so
    max_gsd 0.5 and dropping regions below 0.65 or 0.85 give a perfect union; 0.95 drops the object too."""

    from engine.data.sample import Instance, Scene
    from engine.eval import model_card
    from engine.types import Reply, Segment

    drawn = []

    def scenes(class_name, first_seed, count, size=256):
        assert first_seed >= model_card.VALIDATION_SEED and first_seed < model_card.HELD_OUT_SEED
        for k in range(count):
            obj = Instance(class_name, _box(4 + k, 12, 4, 12), 1)
            drawn.append(Scene(np.full((32, 32, 3), len(drawn), np.uint8), [obj], 1.0))
            yield drawn[-1]

    seen: set[tuple] = set()

    class Answers:
        def __init__(self, settings: InferenceSettings) -> None:
            self.settings = settings

        @property
        def max_gsd(self):
            return self.settings.max_gsd

        def with_settings(self, **changes):
            return Answers(dataclasses.replace(self.settings, **changes))

        def chat(self, image, instruction, max_new_tokens=256):
            zoom = image.shape[0] // 32
            seen.add((self.settings.min_region_score, zoom))
            truth = drawn[int(image[0, 0, 0])].instances[0].mask
            if zoom < 2:
                truth = truth & (np.cumsum(truth, axis=0) <= truth.sum(axis=0) // 2)
            truth, false = np.kron(truth, np.ones((zoom, zoom), bool)), _box(20, 24, 20, 24)
            false = np.kron(false, np.ones((zoom, zoom), bool))
            probability = np.where(truth, 0.9, np.where(false, 0.6, 0.1)).astype(np.float32)
            return Reply("", [Segment("x", truth | false, 0.5, None, probability)])

    monkeypatch.setattr(model_card, "_class_scenes", scenes)
    engine = Answers(InferenceSettings(min_region_score=0.3))
    result = model_card.tune_inference(engine, scenes=2, region_scores=(0.0, 0.65, 0.85, 0.95), max_gsds=(None, 0.5))
    assert result["best"] == {"max_gsd": 0.5, "min_region_score": 0.65}
    assert len(drawn) == 2 * 2 * len(model_card.TARGET_CLASSES)
    for row in result["table"]["0.5"]["miou"].values():
        assert row[1] == row[2] == 1.0 and 0.0 < row[0] < 1.0 and row[3] == 0.0
    for row in result["table"]["None"]["miou"].values():
        assert 0.4 < row[1] == row[2] < 0.7
    assert seen == {(0.0, 1), (0.0, 2)}  # raw masks, at both sizes
    assert engine.settings == InferenceSettings(min_region_score=0.3)  # the caller's engine is untouched
    # a cheaper setting (no upsampling) within the tolerance of the best is preferred
    monkeypatch.setattr(model_card, "TUNING_TOLERANCE", 0.6)
    cheap = model_card.tune_inference(engine, scenes=1, region_scores=(0.0, 0.65), max_gsds=(0.5, None))
    assert cheap["best"] == {"max_gsd": None, "min_region_score": 0.65}


def test_synthetic_evaluation_splits_scenes_by_gsd_and_keeps_each_class_its_seed_block(monkeypatch):
    from engine.data.sample import Instance, Scene
    from engine.eval import model_card
    from engine.types import Reply, Segment

    drawn, first_seeds = [], []

    def scenes(class_name, first_seed, count, size=256):
        first_seeds.append(first_seed)
        for gsd in (0.5, 1.0, 3.0)[:count]:  # two fine scenes answered exactly, one coarse answered half
            drawn.append(
                Scene(np.full((32, 32, 3), len(drawn), np.uint8), [Instance(class_name, _box(4, 12, 4, 12), 1)], gsd)
            )
            yield drawn[-1]

    class Answers:
        def chat(self, image, instruction, max_new_tokens=256):
            scene = drawn[int(image[0, 0, 0])]
            mask = _box(4, 12, 4, 12) if scene.gsd < 2 else _box(4, 8, 4, 12)
            return Reply("", [Segment("x", mask, 0.5, None, None)])

    monkeypatch.setattr(model_card, "_class_scenes", scenes)
    result = model_card.evaluate_synthetic(Answers(), scenes=3, classes=("airplane", "vehicle"))
    plane = result["airplane"]
    assert plane["miou"] == (1.0 + 1.0 + 0.5) / 3
    assert plane["by_gsd"] == {"gsd < 2 m": {"scenes": 2, "miou": 1.0}, "gsd >= 2 m": {"scenes": 1, "miou": 0.5}}
    seeds = {name: model_card.HELD_OUT_SEED + 100_000 * k for k, name in enumerate(model_card.ALL_CLASSES)}
    assert first_seeds == [seeds["airplane"], seeds["vehicle"]]
    assert seeds["airplane"] == model_card.HELD_OUT_SEED + 300_000  # the target classes keep their scenes
