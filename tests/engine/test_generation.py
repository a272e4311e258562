"""The KV-cache loop matches the full-recompute loop, collects [SEG] states, streams, samples and cancels."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers.generation.logits_process import LogitsProcessor, LogitsProcessorList

from engine.model import GeoGroundModel, build_tokenizer, encode, generate, preset_config
from engine.types import Turn


class ForceTokens(LogitsProcessor):
    """Make ``token`` the winner at the given output positions (a legitimate way to steer a random model)."""

    def __init__(self, plan: dict[int, int]) -> None:
        self.plan = plan

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        step = input_ids.shape[1]
        if step in self.plan:
            scores = scores.clone()
            scores[:, self.plan[step]] = scores.max() + 100.0
        return scores


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    config = preset_config("tiny")
    model = GeoGroundModel(config).eval()
    tokenizer = build_tokenizer(config)
    image = np.random.default_rng(1).integers(0, 256, (150, 210, 3), dtype=np.uint8)
    with torch.no_grad():
        features = model.encode_image(image)
        ids, _ = encode(tokenizer, [Turn("user", "Segment the storage tanks.")])
        embeds = torch.cat([features.tokens, model.embed_tokens(torch.tensor(ids))])[None]
    return model, tokenizer, embeds


def test_cache_and_no_cache_agree_on_tokens_and_seg_states(setup):
    model, tokenizer, embeds = setup
    seg, eos = model.config.seg_token_id, model.config.eos_token_id
    plan = {3: seg, 8: seg, 9: seg, 15: eos}
    runs = [
        generate(
            model,
            tokenizer,
            embeds,
            max_new_tokens=30,
            use_cache=cache,
            logits_processor=LogitsProcessorList([ForceTokens(plan)]),
        )
        for cache in (True, False)
    ]
    cached, full = runs
    assert cached.token_ids == full.token_ids
    assert cached.finish_reason == full.finish_reason == "eos"
    assert len(cached.token_ids) == 15 and cached.token_ids.count(seg) == 3
    assert cached.seg_states.shape == (3, model.config.llm_hidden_size)
    torch.testing.assert_close(cached.seg_states, full.seg_states, rtol=1e-4, atol=1e-5)
    # the states differ from each other: each is read at its own position
    assert not torch.allclose(cached.seg_states[0], cached.seg_states[1])


def test_seg_state_is_the_hidden_state_at_the_seg_input_position(setup):
    model, tokenizer, embeds = setup
    seg = model.config.seg_token_id
    result = generate(
        model, tokenizer, embeds, max_new_tokens=6, logits_processor=LogitsProcessorList([ForceTokens({2: seg})])
    )
    # recompute independently: one forward over prompt + generated tokens, take the [SEG] input position
    ids = torch.tensor(result.token_ids)
    with torch.no_grad():
        full = torch.cat([embeds[0], model.embed_tokens(ids)])[None]
        hidden = model.decoder_for(None)(inputs_embeds=full).last_hidden_state[0]
    position = embeds.shape[1] + 2
    torch.testing.assert_close(result.seg_states[0], hidden[position], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("use_cache", [True, False])
def test_seg_as_last_token_at_the_limit_still_gets_its_state(setup, use_cache):
    model, tokenizer, embeds = setup
    seg = model.config.seg_token_id
    result = generate(
        model,
        tokenizer,
        embeds,
        max_new_tokens=5,
        use_cache=use_cache,
        logits_processor=LogitsProcessorList([ForceTokens({4: seg})]),
    )
    assert result.finish_reason == "length" and result.token_ids[-1] == seg
    assert result.seg_states.shape[0] == 1


def test_streamed_text_adds_up_to_the_final_text(setup):
    model, tokenizer, embeds = setup
    pieces: list[str] = []
    result = generate(model, tokenizer, embeds, max_new_tokens=12, on_text=pieces.append)
    assert pieces and "".join(pieces) == result.text
    assert result.text == tokenizer.decode(result.token_ids, skip_special_tokens=False)


def test_cancellation_stops_early(setup):
    model, tokenizer, embeds = setup
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 3

    result = generate(model, tokenizer, embeds, max_new_tokens=50, should_stop=stop)
    assert result.finish_reason == "cancelled"
    assert len(result.token_ids) == 3


def test_sampling_is_reproducible_with_a_seed_and_differs_from_greedy(setup):
    model, tokenizer, embeds = setup
    first = generate(model, tokenizer, embeds, max_new_tokens=20, do_sample=True, temperature=1.5, seed=7)
    again = generate(model, tokenizer, embeds, max_new_tokens=20, do_sample=True, temperature=1.5, seed=7)
    other = generate(model, tokenizer, embeds, max_new_tokens=20, do_sample=True, temperature=1.5, seed=8)
    greedy = generate(model, tokenizer, embeds, max_new_tokens=20)
    assert first.token_ids == again.token_ids
    assert first.token_ids != other.token_ids or first.token_ids != greedy.token_ids
    assert len(greedy.token_ids) <= 20


def test_rejects_a_zero_token_limit(setup):
    model, tokenizer, embeds = setup
    with pytest.raises(ValueError, match="max_new_tokens"):
        generate(model, tokenizer, embeds, max_new_tokens=0)


class EndOnRepeat(LogitsProcessor):
    """Per row: [SEG] at steps 1 and ``last``, end of turn once a row repeats its previous token (from step 3 on).

    What ends a row depends only on that row's own tokens, so a row decoded alone or in a batch is steered alike.
    """

    def __init__(self, seg: int, eos: int, last: int) -> None:
        self.seg, self.eos, self.last = seg, eos, last

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        scores = scores.clone()
        step = input_ids.shape[1]
        for row in range(scores.shape[0]):
            if step in (1, self.last):
                scores[row, self.seg] = scores[row].max() + 100.0
            elif step >= 3 and int(input_ids[row, -1]) == int(input_ids[row, -2]):
                scores[row, self.eos] = scores[row].max() + 100.0
        return scores


def test_a_batch_decodes_each_row_as_it_would_be_decoded_alone(setup):
    from engine.model.generation import generate_batch

    model, tokenizer, _ = setup
    config = model.config
    rows = []
    with torch.no_grad():
        ids, _ = encode(tokenizer, [Turn("user", "Segment all ships.")])
        text = model.embed_tokens(torch.tensor(ids))
        for seed in range(5):
            image = np.random.default_rng(10 + seed).integers(0, 256, (120, 120, 3), dtype=np.uint8)
            rows.append(torch.cat([model.encode_image(image).tokens, text]))
    steer = LogitsProcessorList([EndOnRepeat(config.seg_token_id, config.eos_token_id, last=11)])
    batch = generate_batch(model, tokenizer, torch.stack(rows), max_new_tokens=12, logits_processor=steer)
    alone = [generate(model, tokenizer, row[None], max_new_tokens=12, logits_processor=steer) for row in rows]
    # the scenario covers rows ending early (end of turn) and rows running to the limit on a final [SEG]
    assert {r.finish_reason for r in batch} == {"eos", "length"}
    assert len({len(r.token_ids) for r in batch}) > 1
    for together, single in zip(batch, alone, strict=True):
        assert together.token_ids == single.token_ids and together.finish_reason == single.finish_reason
        assert together.text == single.text
        assert together.seg_states.shape[0] == single.token_ids.count(config.seg_token_id)
        torch.testing.assert_close(together.seg_states, single.seg_states, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="one sequence"):
        generate(model, tokenizer, torch.stack(rows[:2]), max_new_tokens=2)


def _geopixel_like_tiny(max_positions: int) -> GeoGroundModel:
    """The tiny preset with GeoPixel's LLM traits: image-only (Partial) LoRA and dynamically scaled RoPE."""
    from engine.model.geoground.presets import tiny

    llm = tiny()["llm"] | {
        "max_position_embeddings": max_positions,
        "rope_parameters": {"rope_type": "dynamic", "factor": 2.0, "rope_theta": 10000.0},
    }
    torch.manual_seed(3)
    model = GeoGroundModel(preset_config("tiny", llm=llm, partial_lora={"rank": 4, "alpha": 8})).eval()
    with torch.no_grad():  # a visible image-only update
        for name, param in model.llm.named_parameters():
            if "Plora_B" in name:
                param.normal_(std=0.5)
    return model


def _batch_prompts(model, tokenizer) -> tuple[torch.Tensor, list]:
    ids, _ = encode(tokenizer, [Turn("user", "Segment all ships.")])
    rows, features = [], []
    with torch.no_grad():
        text = model.embed_tokens(torch.tensor(ids))
        for seed in range(3):
            image = np.random.default_rng(20 + seed).integers(0, 256, (120, 120, 3), dtype=np.uint8)
            features.append(model.encode_image(image))
            rows.append(torch.cat([features[-1].tokens, text]))
    return torch.stack(rows), features


@pytest.mark.parametrize("variant", ["tiny", "partial-lora-dynamic-rope"])
def test_the_static_cache_decodes_exactly_like_the_dynamic_cache(setup, variant, monkeypatch):
    from engine.model import generation

    model = setup[0] if variant == "tiny" else _geopixel_like_tiny(max_positions=4096)
    tokenizer = setup[1]
    embeds, features = _batch_prompts(model, tokenizer)
    config = model.config
    steer = LogitsProcessorList([EndOnRepeat(config.seg_token_id, config.eos_token_id, last=11)])
    steps = []
    static_step = generation._StaticStepper._step
    monkeypatch.setattr(generation._StaticStepper, "_step", lambda self, x: steps.append(1) or static_step(self, x))
    decoder = model.decoder_for(features)
    dynamic = generation.generate_batch(
        model, tokenizer, embeds, max_new_tokens=12, logits_processor=steer, static_cache=False, decoder=decoder
    )
    assert not steps
    static = generation.generate_batch(
        model, tokenizer, embeds, max_new_tokens=12, logits_processor=steer, static_cache=True, decoder=decoder
    )
    # the static path decoded every step after the prefill
    assert len(steps) >= max(len(r.token_ids) for r in static) - 1 > 0
    assert all(r.seg_states.shape[0] >= 1 for r in static)
    for a, b in zip(dynamic, static, strict=True):
        assert a.token_ids == b.token_ids and a.finish_reason == b.finish_reason
        torch.testing.assert_close(b.seg_states, a.seg_states, rtol=1e-4, atol=1e-5)


def test_static_decoding_is_refused_where_dynamic_rope_would_rescale():
    from engine.model.generation import static_decoding_supported

    model = _geopixel_like_tiny(max_positions=64)
    assert static_decoding_supported(model, 64)
    assert not static_decoding_supported(model, 65)  # past the original range the frequencies depend on the length
    assert not static_decoding_supported(object(), 10)  # no Llama-style text stack


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a CUDA device")
def test_cuda_graph_decoding_matches_eager_decoding_on_the_gpu():
    from engine.model.generation import generate_batch

    model = _geopixel_like_tiny(max_positions=4096)
    tokenizer = build_tokenizer(model.config)
    embeds, features = _batch_prompts(model, tokenizer)
    model = model.cuda()
    config = model.config
    steer = LogitsProcessorList([EndOnRepeat(config.seg_token_id, config.eos_token_id, last=11)])
    decoder = model.decoder_for(features)
    runs = [
        generate_batch(
            model,
            tokenizer,
            embeds.cuda(),
            max_new_tokens=12,
            logits_processor=steer,
            static_cache=static,
            decoder=decoder,
        )
        for static in (False, None)  # None: the default on CUDA, a static cache replayed as a CUDA graph
    ]
    for a, b in zip(*runs, strict=True):
        assert a.token_ids == b.token_ids
        torch.testing.assert_close(b.seg_states, a.seg_states, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize(("length", "span"), [(1, 11), (3, 11), (1, 512), (2, 768)])
def test_grouped_decode_attention_is_eager_attention_without_copying_keys(length, span):
    from types import SimpleNamespace

    from transformers.models.llama.modeling_llama import eager_attention_forward

    from engine.model.generation import grouped_decode_attention

    generator = torch.Generator().manual_seed(length)
    query = torch.randn(2, 6, length, 8, generator=generator)
    key, value = (torch.randn(2, 2, span, 8, generator=generator) for _ in range(2))  # 512, 768: in pieces
    mask = torch.where(torch.rand(2, 1, length, span, generator=generator) < 0.3, torch.finfo(torch.float32).min, 0.0)
    module = SimpleNamespace(num_key_value_groups=3, training=False)
    expected, _ = eager_attention_forward(module, query, key, value, mask, scaling=0.35)
    got, _ = grouped_decode_attention(module, query, key, value, mask, scaling=0.35)
    assert got.shape == (2, length, 6, 8)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
