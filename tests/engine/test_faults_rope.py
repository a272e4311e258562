"""Dynamic NTK RoPE (GeoPixel's InternLM2) past ``max_position_embeddings``: refused before decoding, table untouched.

A tiny GeoPixel-like model with a 32-position limit and dynamic factor 2: requests whose prompt plus
``max_new_tokens`` fit decode exactly as a fresh model does; longer ones raise :class:`ContextLengthError` before
any layer runs, and no call (refused, long or short) leaves the rotary table scaled for the next one.
"""

from __future__ import annotations

import pytest
import torch
from transformers.generation.logits_process import LogitsProcessor, LogitsProcessorList

from engine.model import GeoGroundModel, build_tokenizer, preset_config
from engine.model.generation import ContextLengthError, check_context_length, generate_batch
from engine.model.geoground.presets import tiny

LIMIT = 32


class Scripted(LogitsProcessor):
    """Never ends the turn, forces [SEG] at the given steps, and records every step's scores (before steering)."""

    def __init__(self, eos: int, seg: int, seg_steps: tuple[int, ...] = ()) -> None:
        self.eos, self.seg, self.seg_steps = eos, seg, seg_steps
        self.seen: list[torch.Tensor] = []

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        self.seen.append(scores.clone())
        scores = scores.clone()
        scores[:, self.eos] = float("-inf")
        if input_ids.shape[1] in self.seg_steps:
            scores[:, self.seg] = scores.max() + 100.0
        return scores


def _model(rope: str = "dynamic") -> GeoGroundModel:
    """The tiny preset with GeoPixel's LLM traits (Partial LoRA, dynamic NTK RoPE) and a 32-position limit."""
    rope_parameters = {"rope_type": rope, "rope_theta": 10000.0} | ({"factor": 2.0} if rope == "dynamic" else {})
    llm = tiny()["llm"] | {"max_position_embeddings": LIMIT, "rope_parameters": rope_parameters}
    torch.manual_seed(5)
    model = GeoGroundModel(preset_config("tiny", llm=llm, partial_lora={"rank": 4, "alpha": 8})).eval()
    with torch.no_grad():  # a visible image-only update, as in a trained checkpoint
        for name, param in model.llm.named_parameters():
            if "Plora_B" in name:
                param.normal_(std=0.5)
    return model


def _prompt(model: GeoGroundModel, length: int) -> torch.Tensor:
    ids = torch.randint(3, 200, (1, length), generator=torch.Generator().manual_seed(length))
    with torch.no_grad():
        return model.embed_tokens(ids)


def _run(model: GeoGroundModel, prompt: torch.Tensor, new: int, **options) -> tuple[list, Scripted]:
    config = model.config
    script = Scripted(config.eos_token_id, config.seg_token_id, options.pop("seg_steps", ()))
    results = generate_batch(
        model,
        build_tokenizer(config),
        prompt,
        max_new_tokens=new,
        logits_processor=LogitsProcessorList([script]),
        static_cache=False,
        **options,
    )
    return results, script


def _assert_unscaled(model: GeoGroundModel, fresh: GeoGroundModel) -> None:
    rotary, reference = model.text_model.rotary_emb, fresh.text_model.rotary_emb
    assert rotary.max_seq_len_cached == reference.max_seq_len_cached == LIMIT
    assert torch.equal(rotary.inv_freq, reference.inv_freq)


@pytest.mark.parametrize("use_cache", [True, False])
def test_a_request_past_the_limit_is_refused_before_decoding_with_a_clear_message(use_cache):
    model, fresh = _model(), _model()
    calls = []
    stack = model.decoder_for(None)

    def decoder(*args, **kwargs):
        calls.append(1)
        return stack(*args, **kwargs)

    with pytest.raises(ContextLengthError) as caught:
        _run(model, _prompt(model, 20), 13, use_cache=use_cache, decoder=decoder)
    assert isinstance(caught.value, ValueError)
    message = str(caught.value)
    for part in ("20 tokens", "max_new_tokens (13)", "33 positions", f"limit of {LIMIT}", "at most 12"):
        assert part in message, (part, message)
    assert not calls  # refused before the first layer ran
    assert (caught.value.limit, caught.value.requested) == (LIMIT, 33)
    _assert_unscaled(model, fresh)


def test_a_prompt_already_past_the_limit_is_told_to_shrink_the_prompt():
    model = _model()
    with pytest.raises(ContextLengthError, match="shorten the prompt") as caught:
        _run(model, _prompt(model, 40), 1)
    assert "41 positions" in str(caught.value) and "max_new_tokens to at most" not in str(caught.value)
    with pytest.raises(ValueError, match=f"limit of {LIMIT}"):
        check_context_length(model, LIMIT, 1)
    check_context_length(model, LIMIT - 1, 1)  # fits: the last position fed is LIMIT - 1


@pytest.mark.parametrize("use_cache", [True, False])
def test_a_request_that_just_fits_decodes_like_the_full_recomputation_without_rescaling(use_cache):
    """Prompt + answer = the limit, ending on a [SEG] that is fed back at the last position (LIMIT - 1)."""
    model, fresh = _model(), _model()
    prompt = _prompt(model, 20)
    (result,), script = _run(model, prompt, LIMIT - 20, use_cache=use_cache, seg_steps=(3, LIMIT - 21))
    assert result.finish_reason == "length" and len(result.token_ids) == LIMIT - 20
    assert result.token_ids[-1] == model.config.seg_token_id and result.seg_states.shape[0] == 2
    _assert_unscaled(model, fresh)
    # reference: every step re-runs the whole sequence from scratch in the untouched model
    sequence = torch.cat([prompt, fresh.embed_tokens(torch.tensor([result.token_ids]))], dim=1)
    stack = fresh.decoder_for(None)
    with torch.no_grad():
        for step, scores in enumerate(script.seen):
            hidden = stack(inputs_embeds=sequence[:, : 20 + step], use_cache=False).last_hidden_state[:, -1]
            torch.testing.assert_close(scores, fresh.llm.lm_head(hidden).float(), rtol=1e-5, atol=1e-5)
        full = stack(inputs_embeds=sequence, use_cache=False).last_hidden_state[0]
    seg_positions = [20 + i for i, t in enumerate(result.token_ids) if t == model.config.seg_token_id]
    torch.testing.assert_close(result.seg_states, full[seg_positions], rtol=1e-5, atol=1e-5)


def test_a_short_call_after_a_long_attempt_equals_a_fresh_models():
    model, fresh = _model(), _model()
    try:
        _run(model, _prompt(model, 20), 24)  # would need 44 positions
    except ContextLengthError:
        pass
    _assert_unscaled(model, fresh)
    # a long pass outside generation (e.g. a training step) scales transformers' table and leaves it scaled
    with torch.no_grad():
        model.decoder_for(None)(inputs_embeds=_prompt(model, 48), use_cache=False)
    assert model.text_model.rotary_emb.max_seq_len_cached == 48
    prompt = _prompt(model, 20)
    (after, *_), seen_after = _run(model, prompt, 8, seg_steps=(2,))
    (alone, *_), seen_alone = _run(fresh, prompt, 8, seg_steps=(2,))
    assert after.token_ids == alone.token_ids
    assert torch.equal(after.seg_states, alone.seg_states)
    assert all(torch.equal(a, b) for a, b in zip(seen_after.seen, seen_alone.seen, strict=True))
    _assert_unscaled(model, fresh)


def test_models_without_length_dependent_rope_are_not_limited():
    model = _model(rope="default")
    (result,), _ = _run(model, _prompt(model, 20), 20)
    assert len(result.token_ids) == 20
    check_context_length(model, 10 * LIMIT, 10 * LIMIT)
