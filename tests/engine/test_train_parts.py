"""Training building blocks: recipe parsing, stage trainable sets, LoRA inject/merge, data stream, collate, licences."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.data.real_scenes import RestrictedDataError
from engine.data.sample import count_seg
from engine.model import GeoGroundModel, build_tokenizer, preset_config
from engine.train.config import LoraSettings, RecipeError, load_recipe, parse_recipe, stage_data
from engine.train.data import (
    DataConfig,
    DataConfigError,
    SampleStream,
    check_training_path,
    class_index,
    collate,
    load_real_scene,
)
from engine.train.lora import apply_lora, merge_lora
from engine.train.recipe import set_trainable

BASE = {"name": "t", "preset": "tiny", "stages": [{"name": "s", "steps": 1, "lr": 1e-3, "trainable": ["llm"]}]}


@pytest.fixture(scope="module")
def tiny():
    config = preset_config("tiny")
    torch.manual_seed(0)
    return GeoGroundModel(config), build_tokenizer(config)


def test_shipped_recipes_parse_into_two_stages():
    for name in ("demo", "demo_union", "tiny"):
        recipe = load_recipe(name)
        assert [s.losses for s in recipe.stages][:2] == ["text", "joint"]
        assert recipe.total_steps == sum(s.steps for s in recipe.stages)
    masks = load_recipe("demo").stages[2]  # the demo's third stage: masks only, on "segment all" questions
    assert masks.trainable == ["grounding", "mask_predictor"]
    assert stage_data(load_recipe("demo"), masks).task == "segment_all"
    demo_recipe = load_recipe("demo")
    for focus in demo_recipe.stages[3:]:  # the last mask stages ask about the measured classes only
        assert "airplane" in stage_data(demo_recipe, focus).segment_all_classes
    # The mask refiner is frozen (and so changes nothing) until the stages that train it with the mask side.
    assert [s.trainable for s in demo_recipe.stages[3:5]] == [["grounding", "mask_predictor"]] * 2
    assert all("mask_refiner" not in s.trainable for s in demo_recipe.stages[:5])
    assert all(s.trainable == ["grounding", "mask_predictor", "mask_refiner"] for s in demo_recipe.stages[5:])
    assert load_recipe("demo").export_dir == "engine/pretrained/demo"
    # The earlier candidate run must not overwrite the shipped weights; it differs from the demo run by the
    # segment-all answer style only (and the schedule).
    union, demo = load_recipe("demo_union"), load_recipe("demo")
    assert union.export_dir.startswith("runs/") and union.seed == demo.seed
    assert (union.data.segment_all_style, demo.data.segment_all_style) == ("counted", "grounded")
    union.data.segment_all_style = "grounded"
    assert union.data == demo.data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"stages": []}, "no \\[\\[stages\\]\\]"),
        ({"optim": {"batch_sise": 2}}, "unknown key\\(s\\) in \\[optim\\]: batch_sise"),
        ({"strategy": "horovod"}, "strategy must be one of"),
        ({"stages": [{"name": "s", "steps": 1, "lr": 1e-3, "trainable": ["lora"]}]}, "\\[lora\\] enabled is false"),
        ({"stages": [{"name": "s", "steps": 1, "lr": 1e-3, "trainable": ["llm"], "losses": "x"}]}, "losses must"),
        ({"data": {"task": "captions"}}, "data.task must be one of"),
        ({"data": {"segment_all_style": "terse"}}, "data.segment_all_style must be one of"),
        (
            {"stages": [{"name": "s", "steps": 1, "lr": 1e-3, "trainable": ["llm"], "data": {"tsk": "x"}}]},
            "unknown key\\(s\\) in \\[stages.s.data\\]: tsk",
        ),
    ],
)
def test_bad_recipes_are_clear_errors(change, message):
    with pytest.raises(RecipeError, match=message):
        parse_recipe({**BASE, **change})


def test_missing_or_broken_recipe_files(tmp_path):
    with pytest.raises(RecipeError, match="shipped recipes: .*demo"):
        load_recipe("no-such-recipe")
    broken = tmp_path / "broken.toml"
    broken.write_text("name = [", encoding="utf-8")
    with pytest.raises(RecipeError, match="not valid TOML"):
        load_recipe(broken)


def test_stage_one_trains_text_side_only_and_stage_two_adds_the_mask_side(tiny):
    model, _ = tiny
    stages = load_recipe("demo").stages
    set_trainable(model, stages[0].trainable)
    trainable = {n.split(".")[0] for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"visual", "llm"}
    set_trainable(model, stages[1].trainable)
    trainable = {n.split(".")[0] for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"visual", "llm", "grounding", "mask_predictor"}
    set_trainable(model, ["visual.projector"])
    assert all(p.requires_grad == n.startswith("visual.projector.") for n, p in model.named_parameters())
    with pytest.raises(ValueError, match="no parameter matches"):
        set_trainable(model, ["decoder_that_does_not_exist"])


def _forward_logits(model, tokenizer):
    rng = np.random.default_rng(1)
    ids = torch.tensor(tokenizer("Segment all ships.", add_special_tokens=False)["input_ids"])
    image = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    with torch.no_grad():
        return model(images=[image], input_ids=[ids]).logits


def test_lora_adapts_only_llm_projections_and_merges_back_exactly():
    config = preset_config("tiny")
    torch.manual_seed(0)
    model = GeoGroundModel(config).eval()
    tokenizer = build_tokenizer(config)
    before = _forward_logits(model, tokenizer)
    peft_model = apply_lora(model, LoraSettings(enabled=True, r=4, alpha=8))
    adapted = {n for n, _ in peft_model.named_modules() if n.endswith("lora_A")}
    assert adapted and all(".llm.model.layers." in n for n in adapted)
    assert len(adapted) == config.llm["num_hidden_layers"] * 7  # q k v o gate up down in every layer
    torch.testing.assert_close(_forward_logits(peft_model, tokenizer), before)  # lora_B starts at zero
    set_trainable(peft_model, ["lora"])
    assert all(("lora_" in n) == p.requires_grad for n, p in peft_model.named_parameters())
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                param.normal_(std=0.05)
    adapted_logits = _forward_logits(peft_model, tokenizer)
    assert not torch.allclose(adapted_logits, before, atol=1e-3)
    merged = merge_lora(peft_model)
    assert isinstance(merged, GeoGroundModel)
    assert not any("lora" in n for n, _ in merged.named_parameters())
    torch.testing.assert_close(_forward_logits(merged, tokenizer), adapted_logits, atol=1e-4, rtol=1e-4)


def test_sample_stream_is_deterministic_and_groups_samples_by_scene():
    config = DataConfig(seed=3, scene_size=64, samples_per_scene=2)
    first, second = SampleStream(config), SampleStream(config)
    for index in (0, 1, 5):
        a, b = first[index], second[index]
        assert a.answer == b.answer and np.array_equal(a.image, b.image)
    assert np.array_equal(first[0].image, first[1].image)  # one scene, two questions
    assert not np.array_equal(first[0].image, first[2].image)
    other = SampleStream(DataConfig(seed=4, scene_size=64, samples_per_scene=2))
    assert not np.array_equal(first[0].image, other[0].image)


def test_segment_all_questions_can_be_limited_to_some_classes():
    asked = ["storage tank", "ship"]
    config = DataConfig(seed=1, scene_size=96, task="segment_all", with_absent=True, segment_all_classes=asked)
    stream, everything = SampleStream(config), SampleStream(DataConfig(seed=1, scene_size=96, task="segment_all"))
    classes = {c for i in range(40) for c in stream[i].classes}
    assert classes == set(asked)  # present ones and absent ones (empty masks) alike
    assert len({c for i in range(40) for c in everything[i].classes}) > 2
    with pytest.raises(DataConfigError, match="segment_all_classes must name classes"):
        DataConfig(segment_all_classes=["storage tanks"])
    with pytest.raises(DataConfigError, match="segment_all_classes"):
        DataConfig(segment_all_classes=[])


def test_collate_gives_forward_inputs_with_one_mask_per_seg(tiny):
    model, tokenizer = tiny
    stream = SampleStream(DataConfig(seed=0, scene_size=64, task="segment_all"))
    samples = [stream[i] for i in range(3)]
    batch = collate(samples, tokenizer, model.config.class_names)
    assert set(batch) == {"images", "input_ids", "labels", "masks", "class_ids"}
    seg = model.config.seg_token_id
    for sample, ids, labels, masks, classes in zip(
        samples, batch["input_ids"], batch["labels"], batch["masks"], batch["class_ids"]
    ):
        assert ids.shape == labels.shape and ids.dtype == torch.long
        assert int((ids == seg).sum()) == count_seg(sample.answer) == masks.shape[0] == classes.shape[0]
        assert masks.shape[1:] == sample.image.shape[:2] and masks.dtype == torch.float32
        assert int((labels == seg).sum()) == masks.shape[0]  # every [SEG] is part of the learned answer
    assert class_index(model.config.class_names, "airplane") == model.config.class_names.index("plane")
    assert class_index(["storage tank"], "bridge") == -1
    out = model(**batch)
    assert torch.isfinite(out.loss)


@pytest.mark.parametrize("folder", ["demo", "eval_only", "geopixeld_sample"])
def test_evaluation_only_files_are_refused_for_training(tmp_path, folder):
    restricted = tmp_path / folder
    (restricted / "naip").mkdir(parents=True)
    (restricted / "naip" / "naip_5m_lakes_2020.tif").write_bytes(b"not read")
    with pytest.raises(RestrictedDataError, match="reserved for evaluation"):
        check_training_path(restricted / "naip" / "naip_5m_lakes_2020.tif")
    with pytest.raises(RestrictedDataError):
        load_real_scene("naip_water", restricted)
    with pytest.raises(RestrictedDataError):
        DataConfig(real_root=str(restricted), real_fraction=0.5, real_scenes=["naip_water"])
