"""Key names of the original SAM2 code (``facebookresearch/sam2``, vendored by GeoPixel) -> transformers' Sam2 names.

Only the single-image parts have a counterpart in our model: the Hiera trunk and FPN neck (our grounding encoder),
the prompt encoder and the mask decoder (our mask predictor), and ``no_mem_embed``. The video-tracking memory
(memory attention / encoder, object pointers, temporal encodings) is never used on single images and is dropped.

The rules are explicit per module; the multi-layer perceptrons are the one systematic rename: the original keeps a
list ``layers.0 .. layers.{n-1}``, transformers names the first ``proj_in``, the last ``proj_out`` and the middle
ones ``layers.0 ..``.
"""

from __future__ import annotations

import re

# Prefixes (after the SAM2 root) of the video-memory parts that single-image inference never runs.
VIDEO_MEMORY_PREFIXES = (
    "memory_attention.",
    "memory_encoder.",
    "maskmem_tpos_enc",
    "no_mem_pos_enc",
    "no_obj_ptr",
    "obj_ptr_proj.",
    "obj_ptr_tpos_proj.",
    "mask_downsample.",
    "no_obj_embed_spatial",
)

# Depth of each original MLP (number of Linear layers), by the module path that holds it.
_MLP_DEPTH = {
    "mlp": 2,  # Hiera blocks and two-way transformer blocks
    "output_hypernetworks_mlps": 3,
    "iou_prediction_head": 3,
    "pred_obj_score_head": 3,
}
_PROMPT_MASK_CONVS = {"0": "conv1", "1": "layer_norm1", "3": "conv2", "4": "layer_norm2", "6": "conv3"}
_UPSCALING = {"0": "upscale_conv1", "1": "upscale_layer_norm", "3": "upscale_conv2"}
_MLP = re.compile(
    r"^(?P<head>.*?(?P<name>mlp|output_hypernetworks_mlps\.\d+|iou_prediction_head|pred_obj_score_head))"
    r"\.layers\.(?P<index>\d+)\.(?P<tail>weight|bias)$"
)


class UnknownKeyError(ValueError):
    """A checkpoint key that no rule maps."""


def _mlp(key: str) -> str:
    match = _MLP.match(key)
    if not match:
        return key
    depth = _MLP_DEPTH[match["name"].split(".")[0]]
    index = int(match["index"])
    if index == 0:
        part = "proj_in"
    elif index == depth - 1:
        part = "proj_out"
    else:
        part = f"layers.{index - 1}"
    return f"{match['head']}.{part}.{match['tail']}"


def _trunk(key: str) -> str:
    key = key.replace("patch_embed.proj.", "patch_embed.projection.")
    key = re.sub(r"^blocks\.(\d+)\.norm([12])\.", r"blocks.\1.layer_norm\2.", key)
    return _mlp(key)


def _transformer(key: str) -> str:
    key = re.sub(r"\.out_proj\.", ".o_proj.", key)
    key = re.sub(r"\.norm([1-4])\.", r".layer_norm\1.", key)
    key = key.replace("norm_final_attn.", "layer_norm_final_attn.")
    return _mlp(key)


def is_video_memory(key: str) -> bool:
    return key.startswith(VIDEO_MEMORY_PREFIXES)


def map_sam2_key(key: str) -> tuple[str, str] | None:
    """``key`` relative to the SAM2 root -> ``(part, name)`` in our model, or None for dropped video-memory keys.

    ``part`` is ``"grounding"`` (trunk/neck/no_mem_embed; names relative to ``grounding.``), ``"prompt"``
    (relative to ``mask_predictor.prompt_encoder.``) or ``"decoder"`` (relative to ``mask_predictor.decoder.``).
    ``point_embeddings.{i}.weight`` maps to ``point_embed.weight#{i}``: row ``i`` of one stacked tensor.
    """
    if is_video_memory(key):
        return None
    if key == "no_mem_embed":
        return "grounding", "no_memory_embedding"
    if key.startswith("image_encoder.trunk."):
        return "grounding", "encoder.backbone." + _trunk(key[len("image_encoder.trunk.") :])
    match = re.match(r"^image_encoder\.neck\.convs\.(\d+)\.conv\.(weight|bias)$", key)
    if match:
        return "grounding", f"encoder.neck.convs.{match[1]}.{match[2]}"
    if key.startswith("sam_prompt_encoder."):
        rest = key[len("sam_prompt_encoder.") :]
        if rest == "pe_layer.positional_encoding_gaussian_matrix":
            return "prompt", "shared_embedding.positional_embedding"
        match = re.match(r"^point_embeddings\.(\d+)\.weight$", rest)
        if match:
            return "prompt", f"point_embed.weight#{match[1]}"
        match = re.match(r"^mask_downscaling\.(\d+)\.(weight|bias)$", rest)
        if match and match[1] in _PROMPT_MASK_CONVS:
            return "prompt", f"mask_embed.{_PROMPT_MASK_CONVS[match[1]]}.{match[2]}"
        if rest in ("no_mask_embed.weight", "not_a_point_embed.weight"):
            return "prompt", rest
    if key.startswith("sam_mask_decoder."):
        rest = key[len("sam_mask_decoder.") :]
        match = re.match(r"^output_upscaling\.(\d+)\.(weight|bias)$", rest)
        if match and match[1] in _UPSCALING:
            return "decoder", f"{_UPSCALING[match[1]]}.{match[2]}"
        if rest.startswith("transformer."):
            return "decoder", _transformer(rest)
        return "decoder", _mlp(rest)
    raise UnknownKeyError(f"no rule maps the SAM2 key {key!r}")
