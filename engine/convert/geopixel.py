"""Convert a published GeoPixel checkpoint (``MBZUAI/GeoPixel-7B``, ``MBZUAI/GeoPixel-7B-RES``) to our format.

Input: the folder as published (``pytorch_model-0000x-of-0000N.bin`` pickles + ``pytorch_model.bin.index.json``,
``config.json``, ``added_tokens.json``, and InternLM2's ``tokenizer.model`` with its side files, or a separate
folder holding that ``tokenizer.model``). Output: a GeoGround model folder (``config.json`` + sharded safetensors
+ ``tokenizer.json`` + ``conversion_report.json``) that ``Engine.load`` runs.

Every source key goes through one explicit rule (see ``map_key``). Keys are dropped only for two documented
reasons: InternLM-XComposer's extra LoRA branches (``lora_sft``, ``lora_dpo``, ``lora_web``; GeoPixel runs in the
base mode, which never reads them) and SAM2's video-tracking memory (never run on single images). Everything else
must map, and every weight of our model must be produced; otherwise nothing is written.

Three of our weights are computed rather than copied: the separators (GeoPixel inserts ``plora_glb_GN`` /
``plora_sub_GN`` before ``vision_proj``, we insert them after our projector, so we store ``vision_proj(GN)``), the
stacked SAM2 point embeddings, and the single-class head (GeoPixel has no classes; zero weights give the constant
label "object").
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ..model.geoground.configuration import GeoGroundConfig
from ..model.geoground.internlm2 import llama_kwargs, split_wqkv
from ..model.geoground.presets import geopixel_7b
from .checkpoint_io import ShardWriter, iter_shards, pickle_shards
from .report import ConversionError, ConversionReport
from .sam2_keys import UnknownKeyError, map_sam2_key
from .tokenizer import TOKENIZER_MODEL, WHERE_TO_GET, load_sentencepiece_tokenizer, read_side_files, save_tokenizer

UNUSED_LORA = "unused LoRA branch (lora_sft/lora_dpo/lora_web)"
VIDEO_MEMORY = "SAM2 video-tracking memory (unused on single images)"
CLIP_HEAD_DIM = 64  # CLIP ViT-B/L use 64-wide heads; the head count is not recorded in the weights
REPORT_FILE = "conversion_report.json"

_LORA_BRANCH = re.compile(r"\.lora_(sft|dpo|web)_[AB]\.weight$")
_LAYER = re.compile(r"^model\.layers\.(\d+)\.(attention|feed_forward)\.(wqkv|wo|w1|w2|w3)\.(.+)$")
_NORM = re.compile(r"^model\.layers\.(\d+)\.(attention_norm|ffn_norm)\.weight$")
_PROJECTIONS = {"wo": "self_attn.o_proj", "w1": "mlp.gate_proj", "w3": "mlp.up_proj", "w2": "mlp.down_proj"}
_NORMS = {"attention_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm"}
_TAILS = ("weight", "bias", "Plora_A.weight", "Plora_B.weight")
_CLIP = "vit.vision_tower.vision_model."
_SAM2 = "model.visual_model."
_SAM2_PARTS = {
    "grounding": "grounding.",
    "prompt": "mask_predictor.prompt_encoder.",
    "decoder": "mask_predictor.decoder.",
}
# Source tensors kept aside because derived weights need them.
_KEEP = ("vision_proj.0.weight", "vision_proj.0.bias", "vision_proj.2.weight", "vision_proj.2.bias")
_SEPARATORS = {"plora_glb_GN": "visual.global_separator", "plora_sub_GN": "visual.row_separator"}
# Tokens GeoPixel's prompts and answers rely on being single ids: InternLM2's turn markers and the added tokens.
_WHOLE_TOKENS = ("[UNUSED_TOKEN_146]", "[UNUSED_TOKEN_145]", "[SEG]", "<p>", "</p>")


def map_key(key: str, tensor: torch.Tensor, llm: dict[str, Any]) -> list[tuple[str, torch.Tensor]] | str | None:
    """One source tensor -> ``[(our key, tensor), ...]``, a drop reason (str), or None when no rule applies.

    ``llm`` is our Llama config dict (for the ``wqkv`` split). Separators and point embeddings return ``[]``: they
    are assembled later from several tensors.
    """
    if _LORA_BRANCH.search(key):
        return UNUSED_LORA
    heads, kv_heads = llm["num_attention_heads"], llm["num_key_value_heads"]
    head_dim = llm["hidden_size"] // heads
    match = _LAYER.match(key)
    if match:
        layer, _, name, tail = match.groups()
        if tail not in _TAILS:
            return None
        prefix = f"llm.model.layers.{layer}."
        if name != "wqkv":
            return [(f"{prefix}{_PROJECTIONS[name]}.{tail}", tensor)]
        if tail == "Plora_A.weight":  # one A for q, k and v: q owns it, k and v borrow it
            return [(f"{prefix}self_attn.q_proj.Plora_A.weight", tensor)]
        parts = split_wqkv(tensor, kv_heads, head_dim)
        return [(f"{prefix}self_attn.{p}_proj.{tail}", part) for p, part in zip("qkv", parts)]
    match = _NORM.match(key)
    if match:
        return [(f"llm.model.layers.{match[1]}.{_NORMS[match[2]]}.weight", tensor)]
    fixed = {
        "model.tok_embeddings.weight": "llm.model.embed_tokens.weight",
        "model.norm.weight": "llm.model.norm.weight",
        "output.weight": "llm.lm_head.weight",
    }
    if key in fixed:
        return [(fixed[key], tensor)]
    if key.startswith(_CLIP):
        rest = key[len(_CLIP) :]
        if rest == "embeddings.position_ids":
            return "CLIP position ids (a buffer rebuilt at load)"
        return [("visual.encoder." + rest, tensor)]
    match = re.match(r"^vision_proj\.([02])\.(weight|bias)$", key)
    if match:
        return [(f"visual.projector.mlp.{match[1]}.{match[2]}", tensor)]
    if key in _SEPARATORS:
        return []
    match = re.match(r"^model\.text_hidden_fcs\.0\.([02])\.(weight|bias)$", key)
    if match:
        return [(f"mask_predictor.text_hidden_fcs.{match[1]}.{match[2]}", tensor)]
    if key.startswith(_SAM2):
        try:
            target = map_sam2_key(key[len(_SAM2) :])
        except UnknownKeyError:
            return None
        if target is None:
            return VIDEO_MEMORY
        part, name = target
        if "#" in name:
            return []
        if name == "no_memory_embedding":
            tensor = tensor.reshape(-1)
        return [(_SAM2_PARTS[part] + name, tensor)]
    return None


def _derive(kept: dict[str, torch.Tensor], dim: int, report: ConversionReport) -> dict[str, torch.Tensor]:
    """Separators through the projector, stacked point embeddings, and the constant single-class head."""
    out: dict[str, torch.Tensor] = {}
    projector = [kept.get(name) for name in _KEEP]
    for source, target in _SEPARATORS.items():
        if source not in kept:
            continue
        if any(p is None for p in projector):
            raise ConversionError("vision_proj weights are missing, so the separators cannot be projected")
        w0, b0, w2, b2 = (p.float() for p in projector)
        value = F.linear(F.gelu(F.linear(kept[source].float().reshape(1, -1), w0, b0)), w2, b2).reshape(-1)
        out[target] = value.to(kept[source].dtype)
        report.derived[target] = f"vision_proj({source})"
    rows = sorted((int(k.rsplit(".", 2)[-2]), v) for k, v in kept.items() if ".point_embeddings." in k)
    if rows:
        if [i for i, _ in rows] != list(range(len(rows))):
            raise ConversionError("the SAM2 point embeddings are not numbered 0..n-1")
        out["mask_predictor.prompt_encoder.point_embed.weight"] = torch.cat([v.reshape(1, -1) for _, v in rows])
        report.derived["mask_predictor.prompt_encoder.point_embed.weight"] = "stacked point_embeddings.{i}"
    dtype = projector[0].dtype if projector[0] is not None else torch.float32
    out["mask_predictor.class_head.weight"] = torch.zeros(1, dim, dtype=dtype)
    out["mask_predictor.class_head.bias"] = torch.zeros(1, dtype=dtype)
    report.derived["mask_predictor.class_head.*"] = "zeros (one class: the label is always 'object')"
    return out


def _needs_keeping(key: str) -> bool:
    return key in _KEEP or key in _SEPARATORS or (key.startswith(_SAM2) and ".point_embeddings." in key)


def _clip_config(shapes: dict[str, torch.Size]) -> dict[str, Any]:
    """CLIP vision sizes read from the weight shapes (heads assume CLIP's 64-wide heads)."""
    try:
        hidden, _, patch, _ = shapes[_CLIP + "embeddings.patch_embedding.weight"]
        positions = shapes[_CLIP + "embeddings.position_embedding.weight"][0]
        intermediate = shapes[_CLIP + "encoder.layers.0.mlp.fc1.weight"][0]
    except KeyError as error:
        raise ConversionError(f"not a GeoPixel checkpoint: no {error.args[0]}") from None
    side = math.isqrt(positions - 1)
    layers = 1 + max(int(k[len(_CLIP) :].split(".")[2]) for k in shapes if k.startswith(_CLIP + "encoder.layers."))
    return {
        "image_size": side * patch,
        "patch_size": patch,
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": max(1, hidden // CLIP_HEAD_DIM),
        "intermediate_size": intermediate,
    }


def build_config(
    source: Path, shapes: dict[str, torch.Size], overrides: dict[str, Any] | None = None
) -> GeoGroundConfig:
    """Our config for a GeoPixel folder: the LLM from its ``config.json``, CLIP from the weights, SAM2 Hiera-L."""
    path = source / "config.json"
    if not path.is_file():
        raise ConversionError(f"{source} has no config.json")
    published = json.loads(path.read_text(encoding="utf-8"))
    if "model.tok_embeddings.weight" not in shapes:
        raise ConversionError(f"{source} is not a GeoPixel checkpoint (no model.tok_embeddings.weight)")
    kwargs = geopixel_7b()
    kwargs["llm"] = llama_kwargs(published, int(shapes["model.tok_embeddings.weight"][0]))
    kwargs["vision"] = _clip_config(shapes)
    lora_a = shapes.get("model.layers.0.attention.wqkv.Plora_A.weight")
    if lora_a is not None:  # published: r = alpha = 256, i.e. a scaling of 1
        kwargs["partial_lora"] = {"rank": int(lora_a[0]), "alpha": float(lora_a[0])}
    added = source / "added_tokens.json"
    if added.is_file():
        tokens = json.loads(added.read_text(encoding="utf-8"))
        kwargs["seg_token_id"] = tokens.get("[SEG]")
        kwargs["phrase_start_token_id"] = tokens.get("<p>")
        kwargs["phrase_end_token_id"] = tokens.get("</p>")
    kwargs.update(overrides or {})
    llm = kwargs["llm"]
    kwargs.setdefault("bos_token_id", llm.get("bos_token_id", 1))
    kwargs.setdefault("eos_token_id", llm.get("eos_token_id", 2))
    kwargs.setdefault("pad_token_id", 0)  # GeoPixel pads with <unk> (id 0)
    return GeoGroundConfig(**kwargs)


def expected_shapes(config: GeoGroundConfig) -> dict[str, torch.Size]:
    """Every weight of our model for ``config``, built on the meta device (no memory)."""
    from ..model.geoground.modeling import GeoGroundModel

    with torch.device("meta"):
        model = GeoGroundModel(config)
    return {key: value.shape for key, value in model.state_dict().items()}


def _plan(
    source: Path, llm: dict[str, Any], expected: dict[str, torch.Size], report: ConversionReport
) -> dict[str, torch.Tensor]:
    """Dry run on meta tensors: account for every key and check every shape before anything is written."""
    produced: dict[str, torch.Size] = {}
    origin: dict[str, str] = {}  # our key -> the source key it came from
    kept: dict[str, torch.Tensor] = {}
    for _, state in iter_shards(source):
        for key, tensor in state.items():
            report.source_keys += 1
            meta = torch.empty(tensor.shape, dtype=tensor.dtype, device="meta")
            if _needs_keeping(key):
                kept[key] = meta
            mapped = map_key(key, meta, llm)
            if mapped is None:
                report.unexpected.append(key)
            elif isinstance(mapped, str):
                report.drop(mapped, key)
            else:
                produced.update((name, value.shape) for name, value in mapped)
                origin.update((name, key) for name, _ in mapped)
        del state
    try:
        produced.update((k, v.shape) for k, v in _derive(kept, _mask_dim(expected), ConversionReport()).items())
    except ConversionError as error:
        report.shape_errors.append(str(error))
    for key, shape in produced.items():
        if key not in expected:
            report.unexpected.append(origin.get(key, key))
        elif tuple(expected[key]) != tuple(shape):
            report.shape_errors.append(f"{key}: checkpoint {tuple(shape)}, model {tuple(expected[key])}")
    report.missing = sorted(set(expected) - set(produced))
    return kept


def _mask_dim(expected: dict[str, torch.Size]) -> int:
    return int(expected["mask_predictor.text_hidden_fcs.2.weight"][0])


def load_tokenizer(source: Path, tokenizer: str | Path | None = None):
    """InternLM2's tokenizer for the GeoPixel folder ``source``, converted in memory (nothing written).

    ``tokenizer``: a folder holding ``tokenizer.model`` when ``source`` has none (the published weights folder may
    lack it; InternLM-XComposer-2.5's repository has it). The added tokens of ``source`` ([SEG], <p>, </p>) are
    kept in either case.
    """
    folder = Path(tokenizer) if tokenizer is not None else source
    if not (folder / TOKENIZER_MODEL).is_file():
        hint = "" if tokenizer is not None else "; pass --tokenizer FOLDER (tokenizer=...) naming a folder that has it"
        raise ConversionError(f"{folder} has no {TOKENIZER_MODEL}: {WHERE_TO_GET}{hint}")
    extra = read_side_files(source).added if folder.resolve() != source.resolve() else None
    return load_sentencepiece_tokenizer(folder, extra)


def check_tokenizer(tokenizer, config: GeoGroundConfig) -> None:
    """The tokenizer must fit the embedding table, keep GeoPixel's markers whole and agree on the [SEG] ids."""
    vocab = int(config.llm["vocab_size"])
    if len(tokenizer) > vocab:
        raise ConversionError(f"the tokenizer has {len(tokenizer)} tokens but the checkpoint embeds only {vocab}")
    for token in _WHOLE_TOKENS:
        ids = tokenizer(token, add_special_tokens=False)["input_ids"]
        if len(ids) != 1:
            raise ConversionError(f"the tokenizer splits {token} into {len(ids)} tokens; GeoPixel needs it whole")
    for token, name in (("[SEG]", "seg_token_id"), ("<p>", "phrase_start_token_id"), ("</p>", "phrase_end_token_id")):
        wanted = getattr(config, name)
        if wanted is not None and tokenizer.convert_tokens_to_ids(token) != wanted:
            got = tokenizer.convert_tokens_to_ids(token)
            raise ConversionError(f"the tokenizer gives {token} the id {got}, the checkpoint expects {wanted}")
    if tokenizer.eos_token_id != config.eos_token_id:
        raise ConversionError(f"the tokenizer ends text with id {tokenizer.eos_token_id}, not {config.eos_token_id}")


def _tokenizer_summary(tokenizer, folder: Path) -> dict[str, Any]:
    added = {token.content: index for index, token in tokenizer.added_tokens_decoder.items()}
    return {"source": str(folder / TOKENIZER_MODEL), "tokens": len(tokenizer), "added_tokens": added}


def convert_geopixel(
    source: str | Path,
    output: str | Path,
    *,
    dtype: torch.dtype | None = None,
    overrides: dict[str, Any] | None = None,
    tokenizer: str | Path | None = None,
    log: Callable[[str], None] | None = None,
) -> ConversionReport:
    """Convert the GeoPixel folder ``source`` into our model folder ``output``; returns the key report.

    ``dtype``: cast floating weights (default: keep the checkpoint's, bfloat16 for the published ones).
    ``overrides``: GeoGroundConfig kwargs replacing the derived ones (e.g. the SAM2 sizes of a smaller variant).
    ``tokenizer``: folder holding InternLM2's ``tokenizer.model`` when ``source`` has none.
    Raises :class:`ConversionError` (with ``.report`` for key problems) before writing anything when a key is
    missing or unexpected, a shape does not match, or the tokenizer is missing or does not fit the checkpoint.
    """
    source, output = Path(source), Path(output)
    log = log or (lambda message: None)
    shards = pickle_shards(source)
    text_tokenizer = load_tokenizer(source, tokenizer)
    shapes: dict[str, torch.Size] = {}
    for _, state in iter_shards(source):
        shapes.update((key, tensor.shape) for key, tensor in state.items())
        del state
    config = build_config(source, shapes, overrides)
    check_tokenizer(text_tokenizer, config)
    expected = expected_shapes(config)
    report = ConversionReport()
    report.tokenizer = _tokenizer_summary(text_tokenizer, Path(tokenizer) if tokenizer is not None else source)
    _plan(source, config.llm, expected, report)
    if not report.ok:
        raise ConversionError(f"{source} does not match the GeoPixel layout:\n{report.summary()}", report)
    log(f"checked {report.source_keys} keys; writing {len(shards) + 1} shards to {output}")
    writer = ShardWriter(output, len(shards) + 1, dtype)
    kept: dict[str, torch.Tensor] = {}
    for path, state in iter_shards(source):
        tensors: dict[str, torch.Tensor] = {}
        for key, tensor in state.items():
            if _needs_keeping(key):
                kept[key] = tensor.clone()
            mapped = map_key(key, tensor, config.llm)
            if isinstance(mapped, list):
                tensors.update(mapped)
        writer.write(tensors)
        report.written_keys += len(tensors)
        log(f"converted {path.name}")
        del state, tensors
    derived = _derive(kept, _mask_dim(expected), report)
    writer.write(derived)
    report.written_keys += len(derived)
    writer.finish()
    config.save_pretrained(output)
    save_tokenizer(text_tokenizer, output)
    log(f"wrote the tokenizer ({len(text_tokenizer)} tokens) to {output}")
    (output / REPORT_FILE).write_text(json.dumps(report.to_dict(), indent=2), encoding="utf-8")
    return report
