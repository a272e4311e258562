"""Token-by-token generation that streams text and collects the [SEG] hidden states as they are produced.

Our own loop (instead of ``generate()``) because the [SEG] state is the final hidden state at the step whose INPUT
is [SEG]: when the model emits [SEG] it is fed back on the next step and that step's state is kept. With a KV cache
each step costs one token; without it (``use_cache=False``) every step re-runs the whole sequence, which gives the
same tokens and states and is kept as a reference and for benchmarks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
from transformers import DynamicCache, PreTrainedTokenizerBase
from transformers.generation.logits_process import LogitsProcessorList, TemperatureLogitsWarper, TopPLogitsWarper

FinishReason = Literal["eos", "length", "cancelled"]


@dataclass
class GenerationResult:
    token_ids: list[int]  # generated ids, without the final end-of-turn token
    text: str  # decoded raw text (markup kept)
    seg_states: torch.Tensor  # (number of [SEG], hidden): final-normed hidden states at [SEG] inputs
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


@torch.inference_mode()
def generate(
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
) -> GenerationResult:
    """Continue ``inputs_embeds`` (1, T, hidden): the image prefix plus the rendered conversation.

    Stops at the end-of-turn token, after ``max_new_tokens``, or when ``should_stop()`` returns True (checked before
    every step; the result then has ``finish_reason == "cancelled"``).
    """
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be at least 1, got {max_new_tokens}")
    config = model.config
    eos, seg = config.eos_token_id, config.seg_token_id
    embed = model.llm.get_input_embeddings()
    head = model.llm.lm_head
    device = inputs_embeds.device
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
    stream = _TextStream(tokenizer, on_text)
    hidden = stepper.run(inputs_embeds)
    generated: list[int] = []
    seg_states: list[torch.Tensor] = []
    reason: FinishReason = "length"

    def feed(token: int) -> torch.Tensor:
        state = stepper.run(embed(torch.tensor([[token]], device=device)))
        if token == seg:
            seg_states.append(state[0])
        return state

    for step in range(max_new_tokens):
        if step:
            hidden = feed(generated[-1])
        if should_stop is not None and should_stop():
            reason = "cancelled"
            break
        scores = head(hidden).float()
        scores = processors(torch.tensor([generated], dtype=torch.long, device=device), scores)
        if do_sample:
            token = int(torch.multinomial(scores.softmax(-1), 1, generator=generator))
        else:
            token = int(scores.argmax(-1))
        if token == eos:
            reason = "eos"
            break
        generated.append(token)
        stream.update(generated)
    if generated and generated[-1] == seg and len(seg_states) < generated.count(seg):
        feed(seg)  # the last token was [SEG] and generation ended before it was fed back
    stream.update(generated, final=True)
    width = inputs_embeds.shape[-1]
    states = torch.stack(seg_states) if seg_states else inputs_embeds.new_zeros(0, width)
    return GenerationResult(generated, stream.decode(generated), states, reason)
