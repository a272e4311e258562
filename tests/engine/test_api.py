"""The Engine facade end to end on CPU: grounded replies with masks at the input size, multi-turn, input handling,
cancellation and clear errors.

The grounded-reply tests first teach the random tiny model one answer about one synthetic image (a bright storage
tank on grey ground) for a few dozen steps, so a real [SEG] -> mask path runs through ``Engine.chat``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.api import (
    Cancelled,
    DeviceOutOfMemoryError,
    EmptyPromptError,
    Engine,
    ImageInputError,
    ModelNotFoundError,
    _oom_guard,
    plan_device,
    prepare_image,
)
from engine.hub.registry import load_model
from engine.model import encode
from engine.types import Turn

QUESTION = "Segment the storage tank."
ANSWER = "<p> tank </p> [SEG]"
HEIGHT, WIDTH = 151, 211  # odd on purpose


def _scene() -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[:HEIGHT, :WIDTH]
    tank = (yy - 60) ** 2 + (xx - 140) ** 2 < 25**2
    image = np.full((HEIGHT, WIDTH, 3), 90, np.uint8)
    image[tank] = (235, 235, 225)
    return image, tank


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


@pytest.fixture(scope="module")
def taught():
    torch.manual_seed(0)
    model, tokenizer, _ = load_model("tiny")
    image, tank = _scene()
    ids, labels = encode(tokenizer, [Turn("user", QUESTION), Turn("assistant", ANSWER)], None, False)
    with torch.no_grad():
        features = model.encode_image(image)
    trainable = [p for name, p in model.named_parameters() if name.startswith(("llm.", "mask_predictor."))]
    optimizer = torch.optim.AdamW(trainable, lr=2e-3, weight_decay=0.0)
    model.train()
    for _ in range(60):
        out = model(
            image_features=[features],
            input_ids=[torch.tensor(ids)],
            labels=[torch.tensor(labels)],
            masks=[torch.from_numpy(tank).float()[None]],
            class_ids=[torch.tensor([0])],
        )
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
    assert out.ce_loss < 0.3, "the tiny model did not learn the answer; the test set-up is broken"
    model.eval()
    return Engine.from_model(model, tokenizer, plan_device("cpu"), "tiny (taught one answer)"), image, tank


@pytest.fixture(scope="module")
def random_engine():
    return Engine.load("tiny", device="cpu")


def test_chat_gives_grounded_segments_at_the_input_size(taught):
    engine, image, tank = taught
    pieces: list[str] = []
    reply = engine.chat(image, QUESTION, max_new_tokens=40, on_text=pieces.append)
    assert reply.raw_text == ANSWER
    assert reply.text == "tank"
    assert "".join(pieces) == reply.raw_text
    assert len(reply.segments) == 1
    segment = reply.segments[0]
    assert segment.phrase == "tank"
    assert segment.mask.shape == (HEIGHT, WIDTH) and segment.mask.dtype == bool
    assert _iou(segment.mask, tank) > 0.8
    assert 0.0 <= segment.score <= 1.0
    assert segment.label in engine.model.config.class_names


def test_regions_below_the_engine_s_min_region_score_are_dropped(taught):
    engine, image, _ = taught
    full = engine.chat(image, QUESTION, max_new_tokens=40).segments[0]
    probability = full.probability
    assert probability.shape == full.mask.shape and probability.dtype == np.float32
    assert (full.mask <= (probability >= 0.5)).all() and ((probability > 0.5) <= full.mask).all()
    # The answer's mask is one confident region: a bar below its mean probability keeps it, one above drops it.
    strong = float(probability[full.mask].mean())
    assert full.score == pytest.approx(strong)  # a segment's score: the mean probability of its pixels
    config = engine.model.config.to_dict()
    kept = engine.with_settings(min_region_score=round((0.5 + strong) / 2, 3)).chat(image, QUESTION, max_new_tokens=40)
    kept = kept.segments[0]
    np.testing.assert_array_equal(kept.mask, full.mask)  # the one region is confident enough
    strict = engine.with_settings(min_region_score=min(0.999, strong + 0.01))
    dropped = strict.chat(image, QUESTION, max_new_tokens=40).segments[0]
    assert full.mask.any() and not dropped.mask.any() and dropped.score == 0.0
    np.testing.assert_array_equal(dropped.probability, probability)  # the probabilities stay for the caller
    # settings belong to the engine that was given them: the model and the first engine are unchanged
    assert engine.model.config.to_dict() == config and engine.settings.min_region_score == 0.0
    np.testing.assert_array_equal(engine.chat(image, QUESTION, max_new_tokens=40).segments[0].mask, full.mask)


def test_multi_turn_keeps_history_and_encodes_the_image_once(taught, monkeypatch):
    engine, image, _ = taught
    calls = []
    original = engine.model.encode_image
    monkeypatch.setattr(engine.model, "encode_image", lambda *a, **k: calls.append(1) or original(*a, **k))
    conversation = engine.new_conversation(image)
    conversation.ask(QUESTION)
    first = engine.chat(image, conversation, max_new_tokens=40)
    conversation.ask("And again?")
    second = engine.chat(None, conversation, max_new_tokens=40)
    assert len(calls) == 1
    assert [turn.role for turn in conversation.turns] == ["user", "assistant", "user", "assistant"]
    assert conversation.turns[1].text == first.raw_text
    assert conversation.turns[3].text == second.raw_text
    for segment in second.segments:
        assert segment.mask.shape == (HEIGHT, WIDTH)


def test_nodata_pixels_are_never_in_a_mask(taught):
    engine, image, tank = taught
    holed = image.copy()
    holed[55:65, 150:160] = 0  # a nodata hole inside the tank
    reply = engine.chat(holed, QUESTION, max_new_tokens=40, nodata=0)
    assert reply.segments, reply.raw_text
    mask = reply.segments[0].mask
    assert not mask[55:65, 150:160].any()
    assert _iou(mask, tank) > 0.7


def test_cancel_raises_and_leaves_the_conversation_unanswered(taught):
    engine, image, _ = taught
    conversation = engine.new_conversation(image)
    conversation.ask(QUESTION)
    with pytest.raises(Cancelled):
        engine.chat(None, conversation, should_stop=lambda: True)
    assert conversation.awaiting_answer and len(conversation.turns) == 1


@pytest.mark.parametrize("prompt", ["", "   \n\t"])
def test_empty_prompt_is_a_clear_value_error(random_engine, prompt):
    image = np.zeros((32, 32, 3), np.uint8)
    with pytest.raises(EmptyPromptError, match="prompt is empty"):
        random_engine.chat(image, prompt)
    with pytest.raises(ValueError):
        random_engine.new_conversation(image).ask(prompt)


def test_conversation_without_a_new_question_is_refused(random_engine):
    conversation = random_engine.new_conversation(np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(EmptyPromptError, match="no new question"):
        random_engine.chat(None, conversation)


def test_another_image_for_a_conversation_is_refused(random_engine):
    conversation = random_engine.new_conversation(np.zeros((32, 32, 3), np.uint8))
    conversation.ask("What is here?")
    with pytest.raises(ImageInputError, match="another image"):
        random_engine.chat(np.ones((32, 32, 3), np.uint8), conversation)


def test_unknown_model_name():
    with pytest.raises(ModelNotFoundError, match="unknown model 'no-such-model'"):
        Engine.load("no-such-model")


@pytest.mark.parametrize(
    "array",
    [
        np.random.default_rng(0).integers(0, 4000, (41, 53), dtype=np.uint16),  # one band, 12-bit
        np.random.default_rng(0).random((4, 41, 53)).astype(np.float32),  # RGB + NIR reflectance
        np.random.default_rng(0).integers(0, 256, (41, 53, 4), dtype=np.uint8),  # channels-last RGBA-like
        np.random.default_rng(0).random((12, 41, 53)),  # a multispectral stack
    ],
)
def test_any_band_count_and_dtype_is_accepted(random_engine, array):
    rgb, valid = prepare_image(array)
    assert rgb.shape == (41, 53, 3) and rgb.dtype == np.uint8 and valid.shape == (41, 53)
    reply = random_engine.chat(array, "Describe the image.", max_new_tokens=4)
    assert isinstance(reply.text, str)


def test_nan_pixels_are_invalid():
    array = np.random.default_rng(0).random((3, 20, 30)).astype(np.float32)
    array[:, :5, :5] = np.nan
    _, valid = prepare_image(array)
    assert not valid[:5, :5].any() and valid[10:, 10:].all()


@pytest.mark.parametrize("bad", [np.zeros((0, 10, 3), np.uint8), [[1, 2], [3, 4]]])
def test_bad_images_are_value_errors(bad):
    with pytest.raises(ValueError):
        prepare_image(bad)


def test_whole_chat_on_a_1024_image(random_engine):
    image = np.random.default_rng(2).integers(0, 256, (1024, 1024, 3), dtype=np.uint8)
    reply = random_engine.chat(image, "Segment all storage tanks.", max_new_tokens=16)
    assert len(reply.raw_text) > 0
    for segment in reply.segments:
        assert segment.mask.shape == (1024, 1024)


def test_chat_batch_answers_each_image_as_chat_does(taught):
    engine, image, _ = taught
    rng = np.random.default_rng(5)
    shifted = np.roll(image, (20, -50), axis=(0, 1))
    noisy = np.clip(image.astype(int) + rng.integers(-30, 30, image.shape), 0, 255).astype(np.uint8)
    wide = np.full((90, 300, 3), 90, np.uint8)  # another size: more image tokens, decoded in its own group
    images = [image, shifted, wide, noisy, image[:, ::-1].copy()]
    together = engine.chat_batch(images, QUESTION, batch_size=3, max_new_tokens=12)
    alone = [engine.chat(img, QUESTION, max_new_tokens=12) for img in images]
    assert len(together) == len(images)
    assert sum(len(r.segments) for r in alone) >= 4  # the taught answer grounds a mask on the tank images
    for batched, single, img in zip(together, alone, images, strict=True):
        assert batched.raw_text == single.raw_text and batched.text == single.text
        assert len(batched.segments) == len(single.segments)
        for a, b in zip(batched.segments, single.segments, strict=True):
            assert a.mask.shape == img.shape[:2] and a.phrase == b.phrase
            assert (a.mask != b.mask).sum() <= 0.01 * max(int(b.mask.sum()), 1)  # rounding may flip an edge pixel
    with pytest.raises(Cancelled):
        engine.chat_batch(images[:2], QUESTION, should_stop=lambda: True)
    with pytest.raises(ValueError, match="batch_size"):
        engine.chat_batch(images[:2], QUESTION, batch_size=0)
    with pytest.raises(EmptyPromptError):
        engine.chat_batch(images[:2], "  ")


def test_device_plan_defaults_and_choices():
    plan = plan_device("cpu")
    assert plan.device.type == "cpu" and plan.dtype == torch.float32
    assert plan_device("cpu", "bf16").dtype == torch.bfloat16
    with pytest.raises(ValueError, match="unknown dtype"):
        plan_device("cpu", "int3")
    if not torch.cuda.is_available():
        assert plan_device().device.type == "cpu"
        with pytest.raises(ValueError, match="no CUDA device"):
            plan_device("cuda")


def test_out_of_memory_becomes_a_clear_error():
    with pytest.raises(DeviceOutOfMemoryError, match="ran out of memory"), _oom_guard():
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
