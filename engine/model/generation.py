"""Token-by-token generation that streams text and collects the [SEG] hidden states as they are produced.

Our own loop (instead of ``generate()``) because the [SEG] state is a particular final hidden state. GeoGround and
GeoPixel use the state at the step whose INPUT is [SEG] (``seg_state="input"``): when the model emits [SEG] it is fed
back on the next step and that step's state is kept. GeoPix uses the state that PREDICTS each [SEGk]
(``seg_state="output"``): the one the token was chosen from. With a KV cache
each step costs one token; without it (``use_cache=False``) every step re-runs the whole sequence, which gives the
same tokens and states and is kept as a reference and for benchmarks.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Literal

import torch
from transformers import DynamicCache, PreTrainedTokenizerBase
from transformers.generation.logits_process import LogitsProcessorList, TemperatureLogitsWarper, TopPLogitsWarper

FinishReason = Literal["eos", "length", "cancelled"]
SegState = Literal["input", "output"]


@dataclass
class GenerationResult:
    token_ids: list[int]  # generated ids, without the final end-of-turn token
    text: str  # decoded raw text (markup kept)
    seg_states: torch.Tensor  # (number of [SEG] tokens, hidden): final-normed hidden states, see ``seg_state``
    finish_reason: FinishReason


class _Stepper:
    """Runs the LLM on new input embeddings, with or without a KV cache, returning the last final hidden state."""

    def __init__(self, model, prefix: torch.Tensor, use_cache: bool) -> None:
        self.model = model
        self.use_cache = use_cache
        self.cache = DynamicCache(config=model.llm.config) if use_cache else None
        self.sequence = prefix

    def run(self, embeds: torch.Tensor) -> torch.Tensor:
        if self.use_cache:
            out = self.model.decoder(inputs_embeds=embeds, past_key_values=self.cache, use_cache=True)
        else:
            self.sequence = embeds if self.sequence is None else torch.cat([self.sequence, embeds], dim=1)
            out = self.model.decoder(inputs_embeds=self.sequence, use_cache=False)
        return out.last_hidden_state[:, -1]


class _TextStream:
    """Decodes the growing token list and reports only the new text, holding back half-decoded characters."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, on_text: Callable[[str], None] | None) -> None:
        self.tokenizer = tokenizer
        self.on_text = on_text
        self.sent = ""

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)

    def update(self, ids: list[int], final: bool = False) -> None:
        if self.on_text is None:
            return
        text = self.decode(ids)
        if not final and text.endswith("\ufffd"):
            return
        if text.startswith(self.sent) and len(text) > len(self.sent):
            self.on_text(text[len(self.sent) :])
            self.sent = text


def generate(model, tokenizer: PreTrainedTokenizerBase, inputs_embeds: torch.Tensor, **options) -> GenerationResult:
    """Continue ``inputs_embeds`` (1, T, hidden): the image prefix plus the rendered conversation.

    Stops at the end-of-turn token, after ``max_new_tokens``, or when ``should_stop()`` returns True (checked before
    every step; the result then has ``finish_reason == "cancelled"``). Options: see :func:`generate_batch`.
    """
    if inputs_embeds.shape[0] != 1:
        raise ValueError(f"generate() continues one sequence, got a batch of {inputs_embeds.shape[0]}")
    return generate_batch(model, tokenizer, inputs_embeds, **options)[0]


@torch.inference_mode()
def generate_batch(
    model,
    tokenizer: PreTrainedTokenizerBase,
    inputs_embeds: torch.Tensor,
    *,
    max_new_tokens: int = 256,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_p: float = 1.0,
    seed: int | None = None,
    generator: torch.Generator | None = None,
    use_cache: bool = True,
    on_text: Callable[[str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    logits_processor: LogitsProcessorList | None = None,
    seg_token_ids: Collection[int] | None = None,
    seg_state: SegState = "input",
) -> list[GenerationResult]:
    """Continue a batch of equally long prefixes ``(B, T, hidden)`` together, one decoding step for all rows.

    Equal lengths need no padding or attention mask, so every row gets exactly the tokens and [SEG] states it would
    get alone (tiles of one raster have the same shape and prompt, hence the same length). A row that has finished
    is fed its end-of-turn token until the others finish; its result ignores those steps. ``on_text`` streams the
    text of a single-row batch only. ``seg_token_ids``: the tokens whose states are kept (default: the model's
    [SEG]); ``seg_state``: which state a [SEG] token gets (module docstring).
    """
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be at least 1, got {max_new_tokens}")
    if seg_state not in ("input", "output"):
        raise ValueError(f"seg_state must be 'input' or 'output', got {seg_state!r}")
    config = model.config
    eos = config.eos_token_id
    segs = frozenset(seg_token_ids if seg_token_ids is not None else (config.seg_token_id,))
    keep_input = seg_state == "input"
    embed = model.llm.get_input_embeddings()
    head = model.llm.lm_head
    device = inputs_embeds.device
    rows = inputs_embeds.shape[0]
    processors = LogitsProcessorList(logits_processor or [])
    if do_sample:
        if temperature <= 0:
            raise ValueError(f"temperature must be positive when sampling, got {temperature}")
        processors.append(TemperatureLogitsWarper(temperature))
        if top_p < 1.0:
            processors.append(TopPLogitsWarper(top_p))
        if generator is None:
            generator = torch.Generator(device=device)
            generator.manual_seed(seed if seed is not None else torch.seed())

    stepper = _Stepper(model, None, use_cache)
    stream = _TextStream(tokenizer, on_text if rows == 1 else None)
    hidden = stepper.run(inputs_embeds)
    generated: list[list[int]] = [[] for _ in range(rows)]
    seg_states: list[list[torch.Tensor]] = [[] for _ in range(rows)]
    reasons: list[FinishReason] = ["length"] * rows
    active = [True] * rows

    def feed(tokens: list[int]) -> torch.Tensor:
        state = stepper.run(embed(torch.tensor(tokens, device=device)[:, None]))
        if keep_input:
            for row, token in enumerate(tokens):
                if token in segs:
                    seg_states[row].append(state[row])
        return state

    for step in range(max_new_tokens):
        if step:
            hidden = feed([generated[r][-1] if active[r] else eos for r in range(rows)])
        if should_stop is not None and should_stop():
            reasons = ["cancelled" if active[r] else reasons[r] for r in range(rows)]
            break
        scores = head(hidden).float()
        if processors:  # the token history is built only for processors that read it
            padded = [ids + [eos] * (step - len(ids)) for ids in generated]
            scores = processors(torch.tensor(padded, dtype=torch.long, device=device), scores)
        if do_sample:
            tokens = torch.multinomial(scores.softmax(-1), 1, generator=generator)[:, 0].tolist()
        else:
            tokens = scores.argmax(-1).tolist()
        for row, token in enumerate(tokens):
            if not active[row]:
                continue
            if token == eos:
                reasons[row], active[row] = "eos", False
            else:
                generated[row].append(token)
                if not keep_input and token in segs:
                    seg_states[row].append(hidden[row])
        stream.update(generated[0])
        if not any(active):
            break
    # A row whose last token is [SEG] and that stopped before feeding it back still needs that step's state.
    unfed = [
        keep_input and bool(ids) and ids[-1] in segs and len(seg_states[r]) < sum(t in segs for t in ids)
        for r, ids in enumerate(generated)
    ]
    if any(unfed):
        feed([generated[r][-1] if unfed[r] else eos for r in range(rows)])
    stream.update(generated[0], final=True)
    width = inputs_embeds.shape[-1]
    results = []
    for row in range(rows):
        states = torch.stack(seg_states[row]) if seg_states[row] else inputs_embeds.new_zeros(0, width)
        results.append(GenerationResult(generated[row], stream.decode(generated[row]), states, reasons[row]))
    return results
