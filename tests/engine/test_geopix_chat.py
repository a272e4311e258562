"""Chatting with a converted GeoPix checkpoint: the released prompt and image handling, the states that predict
each [SEGk], and the Engine interface on a tiny random model in the published layout."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer
from transformers.generation.logits_process import LogitsProcessor, LogitsProcessorList

from engine.api import Engine
from engine.convert import convert_geopix
from engine.model.geopix import chat as geopix_chat
from engine.model.geopix import family as geopix_family
from engine.model.geopix.chat import SYSTEM, encode_image, image_processor, pad_to_square, prompt_embeds, render, tagged
from engine.types import Turn

from .geopix_published import SEG_IDS, tiny_model, write_published, write_tokenizer

IMAGE_ID = 99


class Script(LogitsProcessor):
    """Forces greedy decoding to emit ``tokens`` and then end."""

    def __init__(self, tokens: list[int], eos: int = 2) -> None:
        self.tokens = tokens + [eos]
        self.step = 0

    def __call__(self, input_ids, scores):
        forced = torch.full_like(scores, -1e9)
        forced[:, self.tokens[min(self.step, len(self.tokens) - 1)]] = 0.0
        self.step += 1
        return forced


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    root = tmp_path_factory.mktemp("geopix_chat")
    write_published(root / "GeoPix-ft", tiny_model())
    write_tokenizer(root / "GeoPix-ft")
    overrides = {"seg_token_ids": SEG_IDS, "feature_size": 4, "feature_layers": [-2, -3], "decoder_heads": 2}
    convert_geopix(root / "GeoPix-ft", root / "converted", overrides=overrides)
    return root / "converted"


@pytest.fixture(scope="module")
def engine(converted):
    return Engine.load(str(converted), device="cpu")


def test_questions_get_the_task_tag_their_wording_asks_for():
    assert (
        tagged("Can you segment the vehicle on the upper right?")
        == "[segment] Can you segment the vehicle on the upper right?"
    )
    assert tagged("outline every storage tank") == "[segment] outline every storage tank"
    assert tagged("Describe the image in detail.") == "[caption] Describe the image in detail."
    assert tagged("Where is the smaller storage tank?") == "[refer] Where is the smaller storage tank?"
    assert tagged("What object class is the vehicle in the middle?").startswith("[Visual Question Answering] ")
    assert tagged("[REFER] the ship") == "[refer] the ship"  # the user's own tag wins, spelled as trained


def test_prompt_is_llava_v1_with_the_image_first():
    first = render([Turn("user", "segment the ship")])
    assert first == f"{SYSTEM} USER: <image>\n[segment] segment the ship ASSISTANT:"
    follow = render(
        [Turn("user", "segment the ship"), Turn("assistant", "Sure, it is X."), Turn("user", "and the tank?")]
    )
    assert follow.endswith("ASSISTANT: Sure, it is X.</s>USER: [Visual Question Answering] and the tank? ASSISTANT:")
    assert follow.count("<image>") == 1


def test_spliced_image_rows_give_the_llava_forward(converted, engine):
    """Our prompt (image rows put in place of one <image> token) equals LLaVA's own forward on the prompt with one
    <image> token per patch, as the released processor writes it."""
    model, tokenizer = engine.model, engine.tokenizer
    image = np.random.default_rng(0).integers(0, 255, (28, 28, 3), dtype=np.uint8)
    encoded = encode_image(model, engine.family.processor, image)
    turns = [Turn("user", "segment the ship")]
    embeds = prompt_embeds(model, tokenizer, encoded, turns)
    ours = model.vlm.lm_head(model.vlm.model.language_model(inputs_embeds=embeds[None]).last_hidden_state)
    patches = encoded.llm_rows.shape[0]
    text = render(turns).replace("<image>", "<image>" * patches)
    ids = torch.tensor([tokenizer(text)["input_ids"]])
    assert int((ids == IMAGE_ID).sum()) == patches == 4  # 28 px / 14 px patches, CLS dropped
    pixels = engine.family.processor(images=np.ascontiguousarray(image[..., ::-1]), return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        reference = model.vlm(input_ids=ids, pixel_values=pixels).logits
    torch.testing.assert_close(ours, reference, rtol=1e-5, atol=1e-5)


def test_seg_states_are_those_that_predict_each_seg_token(engine):
    model, tokenizer = engine.model, engine.tokenizer
    image = np.random.default_rng(1).integers(0, 255, (28, 28, 3), dtype=np.uint8)
    encoded = encode_image(model, engine.family.processor, image)
    embeds = prompt_embeds(model, tokenizer, encoded, [Turn("user", "segment the ships")])[None]
    script = tokenizer("Sure", add_special_tokens=False)["input_ids"] + SEG_IDS + [5] + SEG_IDS[:3] + [6] + SEG_IDS
    results = {}
    for mode in ("dynamic cache", "static cache", "no cache"):
        processors = LogitsProcessorList([Script(script)])
        options = {"use_cache": mode != "no cache", "static_cache": mode == "static cache"}
        results[mode] = geopix_chat.generate(model, tokenizer, embeds, logits_processor=processors, **options)[0]
    result = results["dynamic cache"]
    assert result.token_ids == script and result.finish_reason == "eos"
    runs = geopix_chat.seg_runs(result, SEG_IDS)
    assert runs.shape == (2, 6, 32)  # the broken run in the middle is no mask
    for mode in ("static cache", "no cache"):
        assert results[mode].token_ids == script
        torch.testing.assert_close(runs, geopix_chat.seg_runs(results[mode], SEG_IDS), rtol=1e-5, atol=1e-5)
    # Teacher-forced: the state at the position before each token of a complete run.
    full = torch.cat([embeds[0], model.vlm.get_input_embeddings()(torch.tensor(script))])
    with torch.no_grad():
        states = model.vlm.model.language_model(inputs_embeds=full[None]).last_hidden_state[0]
    start = embeds.shape[1]
    for run, first in zip(runs, (len(script) - 6 - 1 - 3 - 1 - 6, len(script) - 6), strict=True):
        expected = states[start + first - 1 : start + first + 5]
        torch.testing.assert_close(run, expected, rtol=1e-5, atol=1e-5)


def test_engine_answers_with_masks_at_the_image_size(engine, monkeypatch):
    assert type(engine.family).__name__ == "GeoPixFamily" and engine.view_size == 28
    tokenizer = engine.tokenizer
    script = (
        tokenizer("Sure, it is ", add_special_tokens=False)["input_ids"] + SEG_IDS + tokenizer(".")["input_ids"][1:]
    )
    real = geopix_family.generate

    def scripted(model, tok, embeds, **options):
        return real(model, tok, embeds, logits_processor=LogitsProcessorList([Script(script)]), **options)

    monkeypatch.setattr(geopix_family, "generate", scripted)
    # A tilted ramp of logits in place of the random decoder's, so the mask is partial and its placement shows.
    ramp = torch.arange(16.0)[None, :] - 7.5 + 0.3 * (torch.arange(16.0)[:, None] - 7.5)
    real_masks = engine.model.predict_masks
    calls = []

    def ramp_masks(features, states):
        calls.append(real_masks(features, states).shape)
        return ramp[None].expand(states.shape[0], -1, -1)

    monkeypatch.setattr(engine.model, "predict_masks", ramp_masks)
    image = np.random.default_rng(2).integers(0, 255, (30, 50, 3), dtype=np.uint8)
    conversation = engine.new_conversation(image)
    conversation.ask("segment the ship")
    reply = engine.chat(None, conversation)
    assert reply.text == "Sure, it is." and reply.raw_text.endswith("[SEG5].")
    assert calls == [(1, 16, 16)] and len(reply.segments) == 1
    segment = reply.segments[0]
    assert segment.mask.shape == (30, 50) and segment.label == "object"
    assert 0.5 < segment.score <= 1.0  # mean probability of the mask's pixels
    # The logits are resized over the padded 50 x 50 square and cropped back to the image's rows 10-39.
    features = conversation.features
    assert features.side == 50 and features.offset == (10, 0)
    square = torch.nn.functional.interpolate(ramp[None, None], size=(50, 50), mode="bilinear", align_corners=False)
    expected = (square[0, 0, 10:40] > 0).numpy()
    assert 0 < expected.sum() < expected.size
    np.testing.assert_array_equal(segment.mask, expected)
    # A follow-up question re-uses the encoded image and sees the first answer.
    conversation.ask("and the tank?")
    engine.chat(None, conversation)
    assert conversation.features is features and len(conversation.turns) == 4


def test_channel_order_and_padding(converted):
    model = tiny_model()
    processor = image_processor(converted, 28)
    image = np.random.default_rng(3).integers(0, 255, (28, 28, 3), dtype=np.uint8)
    bgr = encode_image(model, processor, image)
    model.config.channel_order = "rgb"
    rgb_of_flipped = encode_image(model, processor, np.ascontiguousarray(image[..., ::-1]))
    torch.testing.assert_close(bgr.llm_rows, rgb_of_flipped.llm_rows)
    square, offset = pad_to_square(np.zeros((2, 5, 3), dtype=np.uint8), (10.0, 20.0, 30.0))
    assert square.shape == (5, 5, 3) and offset == (1, 0)
    assert square[0, 0].tolist() == [10, 20, 30] and square[1:3].max() == 0


def test_chat_batch_and_tokenizer_from_the_folder(converted, engine):
    tokenizer = AutoTokenizer.from_pretrained(converted)
    assert tokenizer.convert_tokens_to_ids("[SEG0]") == SEG_IDS[0]
    images = [np.random.default_rng(k).integers(0, 255, (28, 28, 3), dtype=np.uint8) for k in range(3)]
    replies = engine.chat_batch(images, "segment the ships", batch_size=2, max_new_tokens=5)
    singles = [engine.chat(image, "segment the ships", max_new_tokens=5) for image in images]
    assert [r.raw_text for r in replies] == [s.raw_text for s in singles]
