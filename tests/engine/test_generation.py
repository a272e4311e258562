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
        hidden = model.decoder(inputs_embeds=full).last_hidden_state[0]
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
