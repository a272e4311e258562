"""Convert a published GeoPix checkpoint (``Norman-ou/GeoPix-ft-sior_rsicap``) to our ``GeoPixModel`` folder.

Input layout: a top ``config.json``; sub-folders ``vlm/`` (LLaVA, with ``vision/`` and ``text/`` configs), ``seg/``
(mask decoder), ``pec/`` (prompt encoder), ``clm/`` (class-wise memory), each with its weights (safetensors or
pickles); loose ``image_neck_rough.pth``, ``image_neck_detail.pth``, ``text_hidden_fcs.pth``,
``multiseg_scalar.pth`` and ``multiscale_scalar.pth``. Pickles are read with ``torch.load(weights_only=True)``.

Keys are dropped for two documented reasons only: the prompt encoder's point/box/mask embeddings (GeoPix prompts
with [SEG] states only) and every part of the class-wise memory except the two weights that reach the output (the
released attention blocks discard their results; see ``engine.model.geopix.decoder.ReleasedMemory``).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from ..model.geopix.model import GeoPixConfig, GeoPixModel
from .checkpoint_io import ShardWriter, load_pickle
from .report import ConversionError, ConversionReport

PROMPT_TYPES = "prompt encoder point/box/mask embeddings (GeoPix prompts with [SEG] states only)"
MEMORY_NO_EFFECT = "class-wise memory parts with no effect in the released code"
REPORT_FILE = "conversion_report.json"
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer.model",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "preprocessor_config.json",  # the CLIP image processor the released inference uses
)
_LOOSE = ("image_neck_rough.pth", "image_neck_detail.pth", "text_hidden_fcs.pth")
_SCALARS = {"multiseg_scalar.pth": "seg_scalars", "multiscale_scalar.pth": "scale_scalars"}
_MLP3 = re.compile(r"^((?:output_hypernetworks_mlps\.\d+|iou_prediction_head))\.layers\.(\d)\.(weight|bias)$")


def folder_weights(folder: Path) -> list[dict[str, torch.Tensor]]:
    """The weight files of one saved ``PreTrainedModel`` folder, one dict per file (safetensors preferred)."""
    files = sorted(folder.glob("*.safetensors"))
    if files:
        return [load_file(str(path)) for path in files]
    files = sorted(folder.glob("pytorch_model*.bin"))
    if files:
        return [load_pickle(path) for path in files]
    raise ConversionError(f"{folder} holds no weights (no .safetensors or pytorch_model*.bin)")


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConversionError(f"{path} is missing; is this a GeoPix checkpoint folder?")
    return json.loads(path.read_text(encoding="utf-8"))


def map_vlm_key(key: str) -> str | None:
    """LLaVA names of transformers before and after 4.52 -> our ``vlm.`` names (transformers 5 layout)."""
    for old, new in (
        ("vision_tower.vision_model.", "vlm.model.vision_tower."),
        ("model.vision_tower.vision_model.", "vlm.model.vision_tower."),
        ("multi_modal_projector.", "vlm.model.multi_modal_projector."),
        ("model.multi_modal_projector.", "vlm.model.multi_modal_projector."),
        ("language_model.model.", "vlm.model.language_model."),
        ("model.language_model.", "vlm.model.language_model."),
    ):
        if key.startswith(old):
            return new + key[len(old) :]
    if key in ("language_model.lm_head.weight", "lm_head.weight"):
        return "vlm.lm_head.weight"
    return None


def map_seg_key(key: str) -> str | None:
    """``seg/`` (PixelLM multi-scale decoder with SAM's two-way transformer) -> ``decoder.`` names."""
    if not key.startswith("mask_decoder."):
        return None
    rest = key[len("mask_decoder.") :]
    if rest == "pe1.positional_encoding_gaussian_matrix":
        return "decoder.pe1.positional_embedding"
    rest = re.sub(r"\.norm([1-4])\.", r".layer_norm\1.", rest)
    rest = rest.replace("norm_final_attn.", "layer_norm_final_attn.")
    match = _MLP3.match(rest)
    if match:
        part = {"0": "proj_in", "1": "layers.0", "2": "proj_out"}[match[2]]
        rest = f"{match[1]}.{part}.{match[3]}"
    return "decoder." + rest


def map_pec_key(key: str) -> str | None:
    if key == "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix":
        return "prompt_pe.positional_embedding"
    if key == "prompt_encoder.no_mask_embed.weight":
        return "no_mask_embed.weight"
    return None


def _clm_key(key: str) -> str | None:
    if key == "memory_attention.layers.0.scale":
        return "memory.scale"
    if key in ("memory_attention.norm.weight", "memory_attention.norm.bias"):
        return "memory." + key[len("memory_attention.") :]
    return None


def _collect(source: Path, report: ConversionReport) -> tuple[list[dict[str, torch.Tensor]], dict[str, torch.Tensor]]:
    """Mapped tensors: the LLaVA files one by one (large), and everything else together (small)."""
    vlm_parts = []
    for state in folder_weights(source / "vlm"):
        part = {}
        for key, tensor in state.items():
            report.source_keys += 1
            target = map_vlm_key(key)
            if target is None:
                report.unexpected.append(f"vlm/{key}")
            else:
                part[target] = tensor
        vlm_parts.append(part)
    rest: dict[str, torch.Tensor] = {}
    rules: dict[str, Callable[[str], str | None]] = {"seg": map_seg_key, "pec": map_pec_key, "clm": _clm_key}
    for sub, rule in rules.items():
        for state in folder_weights(source / sub):
            for key, tensor in state.items():
                report.source_keys += 1
                target = rule(key)
                if target is not None:
                    rest[target] = tensor
                elif sub == "pec" and key.startswith("prompt_encoder."):
                    report.drop(PROMPT_TYPES, f"pec/{key}")
                elif sub == "clm":
                    report.drop(MEMORY_NO_EFFECT, f"clm/{key}")
                else:
                    report.unexpected.append(f"{sub}/{key}")
    for name in _LOOSE:
        prefix = {"image_neck_rough.pth": "neck_rough.", "image_neck_detail.pth": "neck_detail."}.get(name, "")
        prefix = prefix or "text_hidden_fcs."
        path = source / name
        if not path.is_file():
            raise ConversionError(f"{path} is missing")
        for key, tensor in load_pickle(path).items():
            report.source_keys += 1
            rest[prefix + key] = tensor
    for name, target in _SCALARS.items():
        path = source / name
        try:
            values = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise ConversionError(f"{path} is missing") from None
        except Exception as error:
            raise ConversionError(f"{path} is not a plain tensor file: {error}") from None
        report.source_keys += 1
        rest[target] = torch.stack([torch.as_tensor(v).reshape(()) for v in values])
        report.derived[target] = f"stacked list in {name}"
    return vlm_parts, rest


def build_config(source: Path, shapes: dict[str, torch.Size], overrides: dict[str, Any] | None) -> GeoPixConfig:
    top = _read_json(source / "config.json")
    llava = _read_json(source / "vlm" / "config.json")
    for sub in ("vision", "text"):
        path = source / "vlm" / sub / "config.json"
        if path.is_file():  # the published loader takes the sub-configs from these folders
            llava[f"{sub}_config"] = _read_json(path)
    for key in ("architectures", "transformers_version", "_name_or_path", "torch_dtype", "dtype"):
        llava.pop(key, None)
    seg = _read_json(source / "seg" / "config.json")
    kwargs: dict[str, Any] = {
        "llava": llava,
        "seg_token_num": int(top.get("seg_token_num", 3)),
        "scale_num": int(top.get("image_feature_scale_num", 2)),
        "mask_dim": int(seg.get("prompt_embed_dim", 256)),
        "decoder_depth": int(seg.get("mask_decoder_transformer_depth", 2)),
    }
    neck = shapes.get("neck_rough.conv1.0.weight")
    if neck is not None:
        kwargs["neck_channels"] = int(neck[0])
    lin1 = shapes.get("decoder.transformer.0.layers.0.mlp.lin1.weight")
    if lin1 is not None:
        kwargs["decoder_mlp_dim"] = int(lin1[0])
    kwargs.update(overrides or {})
    return GeoPixConfig(**kwargs)


def convert_geopix(
    source: str | Path,
    output: str | Path,
    *,
    dtype: torch.dtype | None = None,
    overrides: dict[str, Any] | None = None,
    log: Callable[[str], None] | None = None,
) -> ConversionReport:
    """Convert the GeoPix folder ``source`` into our model folder ``output``; returns the key report.

    Raises :class:`ConversionError` (with ``.report``) before writing when a key is missing or unexpected or a
    shape does not match our model.
    """
    source, output = Path(source), Path(output)
    log = log or (lambda message: None)
    if not source.is_dir():
        raise ConversionError(f"{source} is not a folder")
    report = ConversionReport()
    vlm_parts, rest = _collect(source, report)
    produced = {k: v.shape for part in vlm_parts for k, v in part.items()} | {k: v.shape for k, v in rest.items()}
    config = build_config(source, produced, overrides)
    with torch.device("meta"):
        model = GeoPixModel(config)
    expected = {key: value.shape for key, value in model.state_dict().items()}
    for key, shape in produced.items():
        if key not in expected:
            report.unexpected.append(key)
        elif tuple(expected[key]) != tuple(shape):
            report.shape_errors.append(f"{key}: checkpoint {tuple(shape)}, model {tuple(expected[key])}")
    report.missing = sorted(set(expected) - set(produced))
    if not report.ok:
        raise ConversionError(f"{source} does not match the GeoPix layout:\n{report.summary()}", report)
    writer = ShardWriter(output, len(vlm_parts) + 1, dtype)
    for part in vlm_parts + [rest]:
        writer.write(part)
        report.written_keys += len(part)
    writer.finish()
    config.save_pretrained(output)
    for folder in (source, source / "vlm"):
        for name in TOKENIZER_FILES:
            if (folder / name).is_file() and not (output / name).exists():
                shutil.copyfile(folder / name, output / name)
    (output / REPORT_FILE).write_text(json.dumps(report.to_dict(), indent=2), encoding="utf-8")
    log(report.summary())
    return report
