"""Token-by-token generation that streams text and collects the [SEG] hidden states as they are produced.

Our own loop (instead of ``generate()``) because the [SEG] state is a particular final hidden state. GeoGround and
GeoPixel use the state at the step whose INPUT is [SEG] (``seg_state="input"``): when the model emits [SEG] it is fed
back on the next step and that step's state is kept. GeoPix uses the state that PREDICTS each [SEGk]
(``seg_state="output"``): the one the token was chosen from. With a KV cache
each step costs one token; without it (``use_cache=False``) every step re-runs the whole sequence, which gives the
same tokens and states and is kept as a reference and for benchmarks.

On CUDA the cache is static (one buffer sized for the whole answer) and a decoding step reads its position from the
device, so the step is captured once as a CUDA graph and replayed for every token: a 7B model at batch 1 otherwise
spends more time launching its kernels (about 1,300 per token, docs/BENCHMARKS.md) from Python than the GPU spends
reading the weights.

Every model family decodes through this loop by offering the same four things: ``config.eos_token_id`` (and
``config.seg_token_id`` unless ``seg_token_ids`` is given), ``llm`` (input embeddings, ``lm_head``), ``text_model``
(the transformer stack) and ``decoder_for(image_prefix)`` (the stack to run a prompt that starts with that image).

Models whose RoPE is dynamically NTK-scaled (GeoPixel's InternLM2) decode only within ``max_position_embeddings``:
a request whose prompt plus ``max_new_tokens`` would go past it raises :class:`ContextLengthError` before anything
runs. Past that length the rotary base depends on the current length, so no cached decoding is exact, and the
published InternLM2 code has no single behaviour to match there: with its KV cache the keys keep the base they were
cached with, without it every position is re-rotated with the current base (and, since a new base changes every
layer's keys and values, re-rotating cached keys would not reproduce that either), and its rotary table only grows,
so a later shorter call is rotated with the base of the longest earlier one. GeoPixel's inference code truncates
its prompt to 16,384 embeddings, inside GeoPixel-7B's 24,576, and our largest GeoPixel image (49 tiles, about
21,000 tokens) leaves over 3,000 positions for the question and answer, so refusing loses no request the model was
used for, where exact decoding past the limit would re-run the whole sequence for every token. Within the limit
the frequencies are the unscaled ones whatever the length. transformers keeps a table scaled by an earlier long
pass (training, a direct call) until a shorter one resets it, so every decoding call first puts the unscaled table
back; being within the limit, it then leaves the table as it found it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Literal

import torch
from transformers import AttentionInterface, DynamicCache, PreTrainedTokenizerBase, StaticCache
from transformers.cache_utils import StaticLayer
from transformers.generation.logits_process import LogitsProcessorList, TemperatureLogitsWarper, TopPLogitsWarper

LOG = logging.getLogger(__name__)
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

    def __init__(self, model, decoder, prefix: torch.Tensor | None, use_cache: bool) -> None:
        self.decoder = decoder
        self.use_cache = use_cache
        self.cache = DynamicCache(config=model.llm.config) if use_cache else None
        self.sequence = prefix

    def run(self, embeds: torch.Tensor) -> torch.Tensor:
        if self.use_cache:
            out = self.decoder(inputs_embeds=embeds, past_key_values=self.cache, use_cache=True)
        else:
            self.sequence = embeds if self.sequence is None else torch.cat([self.sequence, embeds], dim=1)
            out = self.decoder(inputs_embeds=self.sequence, use_cache=False)
        return out.last_hidden_state[:, -1]


DECODE_ATTENTION = "geoground_grouped_decode"
DECODE_CHUNK = 256  # static caches are sized in multiples of this, so decoding attention splits them evenly


def grouped_decode_attention(module, query, key, value, attention_mask, scaling, dropout=0.0, **kwargs):
    """Eager attention for a few new positions over a long cache, each key/value head serving its query group.

    transformers' eager and SDPA paths copy every cached key and value once per query head of a group whenever a
    mask is given, and a masked kernel spreads one new position over few GPU blocks. Here the keys and values are
    read once, in ``DECODE_CHUNK``-long pieces that the GPU works on side by side; the softmax runs in float32 over
    the whole span, as in eager attention. Returns ``(B, length, heads, dim)``.
    """
    batch, heads, length, dim = query.shape
    kv_heads, span = key.shape[1], key.shape[2]
    rows = heads // kv_heads * length
    chunk = DECODE_CHUNK if span % DECODE_CHUNK == 0 else span
    pieces = span // chunk
    grouped = query.reshape(batch, kv_heads, 1, rows, dim)
    keys = key.reshape(batch, kv_heads, pieces, chunk, dim)
    scores = torch.matmul(grouped, keys.transpose(3, 4)) * scaling  # (B, kv heads, pieces, rows, chunk)
    scores = scores.transpose(2, 3).reshape(batch, kv_heads, rows, span)
    if attention_mask is not None:
        scores = scores.view(batch, kv_heads, rows // length, length, span) + attention_mask[:, None, :, :, :span]
    probs = torch.softmax(scores.view(batch, kv_heads, rows, span), dim=-1, dtype=torch.float32).to(query.dtype)
    probs = probs.view(batch, kv_heads, rows, pieces, chunk).transpose(2, 3)
    partial = torch.matmul(probs, value.reshape(batch, kv_heads, pieces, chunk, dim))  # (B, kv, pieces, rows, dim)
    out = partial.sum(2, dtype=torch.float32).to(query.dtype).view(batch, heads, length, dim)
    return out.transpose(1, 2).contiguous(), None


AttentionInterface.register(DECODE_ATTENTION, grouped_decode_attention)


class ContextLengthError(ValueError):
    """A request that would decode past the range in which a dynamically scaled RoPE is not rescaled."""

    def __init__(self, limit: int, prompt_length: int, max_new_tokens: int) -> None:
        self.limit, self.prompt_length, self.max_new_tokens = limit, prompt_length, max_new_tokens
        self.requested = prompt_length + max_new_tokens
        if prompt_length < limit:
            advice = f"lower max_new_tokens to at most {limit - prompt_length}, or shorten the prompt"
        else:
            advice = "shorten the prompt"
        super().__init__(
            f"the prompt ({prompt_length} tokens) plus max_new_tokens ({max_new_tokens}) needs {self.requested} "
            f"positions, past this model's limit of {limit} (max_position_embeddings), beyond which its dynamically "
            f"scaled RoPE would change with the length; {advice} (fewer image tiles: a smaller max_tiles)"
        )


def _dynamic_rope(model) -> torch.nn.Module | None:
    """The text stack's rotary table if its frequencies depend on the sequence length (dynamic NTK), else None."""
    rotary = getattr(getattr(model, "text_model", None), "rotary_emb", None)
    return rotary if "dynamic" in str(getattr(rotary, "rope_type", "")) else None


def check_context_length(model, prompt_length: int, max_new_tokens: int) -> None:
    """Raise :class:`ContextLengthError` if decoding would feed a position at or past a dynamic RoPE's limit.

    The last position fed is ``prompt_length + max_new_tokens - 1`` (a final [SEG] is fed back), so the longest
    sequence the rotary table sees is ``prompt_length + max_new_tokens``; up to the limit it is not rescaled.
    """
    rotary = _dynamic_rope(model)
    if rotary is not None and prompt_length + max_new_tokens > int(rotary.original_max_seq_len):
        raise ContextLengthError(int(rotary.original_max_seq_len), prompt_length, max_new_tokens)


def _restore_unscaled(rotary: torch.nn.Module) -> None:
    """Put back the unscaled frequencies that transformers swaps in past the limit and keeps afterwards."""
    original = rotary.original_inv_freq
    if int(rotary.max_seq_len_cached) != int(rotary.original_max_seq_len) or not torch.equal(rotary.inv_freq, original):
        rotary.register_buffer("inv_freq", original, persistent=False)  # as transformers' own reset does
        rotary.max_seq_len_cached = rotary.original_max_seq_len


def static_decoding_supported(model, capacity: int) -> bool:
    """Whether :class:`_StaticStepper` reproduces cached decoding for ``capacity`` positions.

    Needs a Llama-style stack (layers, final norm, one rotary table) and transformers' device-side cache counter;
    a dynamically scaled RoPE must stay in its original range, where its frequencies do not depend on the length.
    """
    text_model = getattr(model, "text_model", None)
    if text_model is None or not all(hasattr(text_model, part) for part in ("layers", "norm", "rotary_emb")):
        return False
    if not hasattr(StaticLayer(max_cache_len=1), "cumulative_length"):
        return False
    rotary = text_model.rotary_emb
    if "dynamic" in str(getattr(rotary, "rope_type", "")):
        return capacity <= rotary.original_max_seq_len
    return True


class _StaticStepper:
    """A KV cache of ``capacity`` positions whose decoding steps take their position from a device tensor.

    The prefix is prefilled through the given decoder (which applies image-only LoRA); each later step runs the
    text stack's layers directly with an additive mask over the cache, the rotary table row of the current
    position, and a position counter that the step itself advances. Nothing in a step reads a value back to the
    host, so with ``graph=True`` (CUDA) the step is captured once and replayed for every token.
    """

    def __init__(self, model, decoder, capacity: int, graph: bool) -> None:
        self.model = model
        self.decoder = decoder
        self.text_model = model.text_model
        self.capacity = capacity
        self.cache = StaticCache(config=self.text_model.config, max_cache_len=capacity)
        self.graph_wanted = graph
        self.graph: torch.cuda.CUDAGraph | None = None
        self.prefilled = False

    def run(self, embeds: torch.Tensor) -> torch.Tensor:
        if not self.prefilled:
            return self._prefill(embeds)
        if self.graph_wanted and self.graph is None:
            self._capture(embeds)
        if self.graph is None:
            return self._step(embeds)
        self.inputs.copy_(embeds)
        self.graph.replay()
        return self.outputs.clone()  # the graph rewrites its output buffer on the next replay

    def _prefill(self, embeds: torch.Tensor) -> torch.Tensor:
        rows, length, _ = embeds.shape
        out = self.decoder(inputs_embeds=embeds, past_key_values=self.cache, use_cache=True)
        device, dtype = embeds.device, embeds.dtype
        self.position = torch.tensor([length], dtype=torch.long, device=device)
        self.mask = torch.full((rows, 1, 1, self.capacity), torch.finfo(dtype).min, dtype=dtype, device=device)
        self.mask[..., :length] = 0
        cos, sin = self.text_model.rotary_emb(embeds, torch.arange(self.capacity, device=device)[None])
        self.cos, self.sin = cos[0], sin[0]
        self.prefilled = True
        return out.last_hidden_state[:, -1]

    def _step(self, embeds: torch.Tensor) -> torch.Tensor:
        rows = embeds.shape[0]
        self.mask.index_fill_(-1, self.position, 0.0)
        position_ids = self.position.view(1, 1).expand(rows, 1)
        rotary = tuple(
            table.index_select(0, self.position)[None].expand(rows, -1, -1) for table in (self.cos, self.sin)
        )
        hidden = embeds
        text_model = self.text_model
        config = text_model.config
        attention, config._attn_implementation = config._attn_implementation, DECODE_ATTENTION
        try:
            for layer in text_model.layers[: config.num_hidden_layers]:
                hidden = layer(
                    hidden,
                    attention_mask=self.mask,
                    position_ids=position_ids,
                    past_key_values=self.cache,
                    use_cache=True,
                    position_embeddings=rotary,
                )
        finally:
            config._attn_implementation = attention
        self.position.add_(1)
        return text_model.norm(hidden)[:, -1]

    def _counters(self) -> list[torch.Tensor]:
        return [self.position] + [layer.cumulative_length for layer in self.cache.layers]

    def _capture(self, embeds: torch.Tensor) -> None:
        """Warm one step up on a side stream (kernel choice, workspaces), undo its counters, then capture it."""
        self.graph_wanted = False
        saved = [counter.clone() for counter in self._counters()]
        self.inputs = embeds.clone()
        main = torch.cuda.current_stream(embeds.device)
        side = torch.cuda.Stream(device=embeds.device)
        side.wait_stream(main)
        with torch.cuda.stream(side):
            self._step(self.inputs)
        main.wait_stream(side)
        for counter, value in zip(self._counters(), saved, strict=True):
            counter.copy_(value)
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph):
                self.outputs = self._step(self.inputs)
        except RuntimeError as exc:  # an operation that cannot be captured: the same steps, launched one by one
            LOG.warning("decoding without a CUDA graph: the capture failed (%s)", exc)
            torch.cuda.synchronize(embeds.device)
            for counter, value in zip(self._counters(), saved, strict=True):
                counter.copy_(value)
            return
        self.graph = graph


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
    static_cache: bool | None = None,
    decoder: Callable | None = None,
) -> list[GenerationResult]:
    """Continue a batch of equally long prefixes ``(B, T, hidden)`` together, one decoding step for all rows.

    Equal lengths need no padding or attention mask, so every row gets exactly the tokens and [SEG] states it would
    get alone (tiles of one raster have the same shape and prompt, hence the same length). A row that has finished
    is fed its end-of-turn token until the others finish; its result ignores those steps. ``on_text`` streams the
    text of a single-row batch only. ``seg_token_ids``: the tokens whose states are kept (default: the model's
    [SEG]); ``seg_state``: which state a [SEG] token gets (module docstring). ``static_cache`` (default: on CUDA)
    decodes with a static cache, replayed as a CUDA graph on CUDA; same tokens and states as the dynamic cache.
    ``decoder``: the LLM stack to run, ``model.decoder_for(features)`` for prefixes that start with image tokens
    (image-only LoRA; default: text only).
    """
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be at least 1, got {max_new_tokens}")
    if seg_state not in ("input", "output"):
        raise ValueError(f"seg_state must be 'input' or 'output', got {seg_state!r}")
    check_context_length(model, inputs_embeds.shape[1], max_new_tokens)
    rotary = _dynamic_rope(model)
    if rotary is not None:  # within the limit nothing rescales it, so this call also leaves it unscaled
        _restore_unscaled(rotary)
    config = model.config
    decoder = decoder if decoder is not None else model.decoder_for(None)
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

    capacity = -(-(inputs_embeds.shape[1] + max_new_tokens) // DECODE_CHUNK) * DECODE_CHUNK
    static = static_cache if static_cache is not None else device.type == "cuda"
    if use_cache and static and static_decoding_supported(model, capacity):
        stepper = _StaticStepper(model, decoder, capacity, graph=device.type == "cuda")
    else:
        stepper = _Stepper(model, decoder, None, use_cache)
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
