"""InternLM2 (the LLM of InternLM-XComposer-2.5 and GeoPixel) expressed with transformers' Llama classes.

InternLM2 is a Llama decoder with different names and one fused projection: ``wqkv`` holds, for each key/value
head, its ``q_per_kv`` query heads followed by one key head and one value head. Splitting it into ``q_proj`` /
``k_proj`` / ``v_proj`` in that order gives Llama's head layout (query head ``i`` reads key/value head
``i // q_per_kv``), and RMSNorm, rotary embedding (rotate-half), SiLU-gated MLP (``w2(silu(w1 x) * w3 x)``) and
grouped-query attention are the same computations, so a Llama model with these weights is the same network.
Its dynamic NTK RoPE rescales only past ``max_position_embeddings``; generation refuses to decode that far, where
InternLM2's own cached and uncached decoding already disagree (``engine/model/generation.py`` explains).

Also here: GeoPixel's chat template and prompts, which use InternLM2's turn markers.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import torch

from .. import chat
from ..chat import INTERNLM2_TEMPLATE

IM_START = "[UNUSED_TOKEN_146]"  # noqa: S105 - InternLM2's turn markers (vocabulary entries, not secrets)
IM_END = INTERNLM2_TEMPLATE.end
# Prompts the published GeoPixel checkpoints were trained with: the first asks GeoPixel-7B for a grounded
# description (one mask per <p>phrase</p> [SEG]); the second asks GeoPixel-7B-RES for one referred object.
GROUNDED_DESCRIPTION_PROMPT = (
    "Can you provide a thorough description of this image? "
    "Please output with interleaved segmentation masks for the corresponding phrases."
)
REFERRING_PROMPT = "Could you provide a segmentation mask for {} in this image?"


def referring_prompt(expression: str) -> str:
    """The referring-segmentation question for ``expression`` (e.g. ``"the red car"``)."""
    if not expression.strip():
        raise ValueError("the referring expression is empty")
    return REFERRING_PROMPT.format(expression.strip())


render = partial(chat.render, template=INTERNLM2_TEMPLATE)
encode = partial(chat.encode, template=INTERNLM2_TEMPLATE)


def split_wqkv(weight: torch.Tensor, num_kv_heads: int, head_dim: int) -> tuple[torch.Tensor, ...]:
    """Fused ``wqkv`` rows ``(kv_heads * (q_per_kv + 2) * head_dim, ...)`` -> q, k, v rows (any trailing dims).

    Works for the weight, a bias and ``Plora_B`` alike: all of them index output features along dim 0.
    """
    rows = weight.shape[0]
    group = rows // (num_kv_heads * head_dim)
    if group < 3 or group * num_kv_heads * head_dim != rows:
        raise ValueError(f"wqkv has {rows} rows, not a multiple of {num_kv_heads} kv heads x {head_dim} x (q+2)")
    grouped = weight.reshape(num_kv_heads, group, head_dim, *weight.shape[1:])
    q = grouped[:, : group - 2].reshape(-1, *weight.shape[1:])
    k = grouped[:, group - 2].reshape(-1, *weight.shape[1:])
    v = grouped[:, group - 1].reshape(-1, *weight.shape[1:])
    return q.contiguous(), k.contiguous(), v.contiguous()


def llama_kwargs(config: dict[str, Any], vocab_size: int) -> dict[str, Any]:
    """Llama config kwargs equivalent to an InternLM2 / InternLM-XComposer ``config.json``.

    ``vocab_size`` comes from the embedding matrix (the checkpoint's vocabulary was resized after the config was
    written). Rotary scaling keeps InternLM2's dynamic-NTK setting, which transformers implements as ``dynamic``
    with the same base formula (they differ in how a scaled table is kept between calls: ``generation.py``).
    """
    heads = int(config["num_attention_heads"])
    kwargs: dict[str, Any] = {
        "model_type": "llama",
        "vocab_size": vocab_size,
        "hidden_size": int(config["hidden_size"]),
        "intermediate_size": int(config["intermediate_size"]),
        "num_hidden_layers": int(config["num_hidden_layers"]),
        "num_attention_heads": heads,
        "num_key_value_heads": int(config.get("num_key_value_heads") or heads),
        "max_position_embeddings": int(config.get("max_position_embeddings", 2048)),
        "rms_norm_eps": float(config.get("rms_norm_eps", 1e-6)),
        "hidden_act": config.get("hidden_act", "silu"),
        "attention_bias": bool(config.get("bias", True)),
        "mlp_bias": False,
        "tie_word_embeddings": bool(config.get("tie_word_embeddings", False)),
        "bos_token_id": config.get("bos_token_id", 1),
        "eos_token_id": config.get("eos_token_id", 2),
        "pad_token_id": config.get("pad_token_id", 0),
    }
    rope: dict[str, Any] = {"rope_type": "default", "rope_theta": float(config.get("rope_theta", 10000.0))}
    scaling = config.get("rope_scaling")
    if scaling:
        kind = scaling.get("type") or scaling.get("rope_type")
        if kind not in ("dynamic", "linear"):
            raise ValueError(f"unsupported InternLM2 rope scaling {kind!r} (expected 'dynamic' or 'linear')")
        rope = {**rope, "rope_type": kind, "factor": float(scaling["factor"])}
    kwargs["rope_parameters"] = rope
    return kwargs
