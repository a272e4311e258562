"""Named model sizes: ``tiny`` for tests, ``demo`` (the shipped CPU model), 7B-class layouts for planning.

The 7B-class presets copy the published sizes of GeoPixel (InternLM2-7B-like LLM as a Llama stand-in, CLIP ViT-L/14
at 560 px, SAM2 Hiera-L) and GeoPix (LLaVA-1.5-7B). They are meant to be instantiated on the meta device.
"""

from __future__ import annotations

from typing import Any

from .configuration import GeoGroundConfig
from .tokenizer import bind_token_ids, build_tokenizer, byte_vocab_size

# Object classes of the class-wise memory for presets we train ourselves (the synthetic scenes and iSAID-like data).
REMOTE_SENSING_CLASSES = [
    "storage tank",
    "building",
    "road",
    "ship",
    "plane",
    "vehicle",
    "water",
    "bridge",
    "harbor",
    "sports field",
    "vegetation",
    "other",
]


def _hiera(
    image_size: int,
    hidden: int,
    blocks: list[int],
    heads: list[int],
    windows: list[int],
    global_blocks: list[int],
    fpn: int,
    background: list[int] | None = None,
) -> dict[str, Any]:
    """Sam2VisionConfig kwargs for a Hiera trunk whose stage widths double from ``hidden``."""
    dims = [hidden * 2**i for i in range(4)]
    stride = image_size // 4
    return {
        "backbone_config": {
            "model_type": "sam2_hiera_det_model",
            "image_size": [image_size, image_size],
            "hidden_size": hidden,
            "num_attention_heads": heads[0],
            "blocks_per_stage": blocks,
            "embed_dim_per_stage": dims,
            "num_attention_heads_per_stage": heads,
            "window_size_per_stage": windows,
            "global_attention_blocks": global_blocks,
            "window_positional_embedding_background_size": background or [7, 7],
        },
        "backbone_channel_list": dims[::-1],
        "backbone_feature_sizes": [[stride, stride], [stride // 2, stride // 2], [stride // 4, stride // 4]],
        "fpn_hidden_size": fpn,
    }


def _llama(vocab: int, hidden: int, layers: int, heads: int, kv_heads: int, intermediate: int, **extra: Any) -> dict:
    return {
        "model_type": "llama",
        "vocab_size": vocab,
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads,
        "intermediate_size": intermediate,
        **extra,
    }


def _clip(image: int, patch: int, hidden: int, layers: int, heads: int, intermediate: int) -> dict[str, Any]:
    return {
        "image_size": image,
        "patch_size": patch,
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": intermediate,
    }


def _decoder(hidden: int, mlp: int, heads: int, dynamic_multimask: bool = True) -> dict[str, Any]:
    """Sam2MaskDecoderConfig kwargs. ``dynamic_multimask``: SAM2's evaluation-time fallback that swaps an unstable
    single mask for the best of its three multimask outputs; right for SAM2-trained decoders (GeoPixel relies on
    it), wrong for ours, which train only the single-mask output and would fall back to untrained ones."""
    return {
        "hidden_size": hidden,
        "mlp_dim": mlp,
        "num_attention_heads": heads,
        "iou_head_hidden_dim": hidden,
        "dynamic_multimask_via_stability": dynamic_multimask,
    }


def tiny() -> dict[str, Any]:
    return {
        "vision": _clip(56, 14, 64, 2, 2, 128),
        "llm": _llama(byte_vocab_size(), 128, 4, 4, 2, 384, max_position_embeddings=4096),
        "grounding": _hiera(256, 24, [1, 1, 2, 1], [1, 1, 2, 2], [8, 4, 4, 2], [3], 64, [4, 4]),
        "mask_decoder": _decoder(64, 128, 2, dynamic_multimask=False),
        "memory": {"num_classes": len(REMOTE_SENSING_CLASSES), "memory_len": 4, "num_heads": 2},
        "class_names": REMOTE_SENSING_CLASSES,
        "hd_num": 4,
        "max_tiles": 4,
    }


def demo() -> dict[str, Any]:
    # Sized to train from scratch on a 2-core CPU in about an hour and to ship under 20 MB in float16
    # (about 5.9M parameters); docs/MODEL_CARD_demo.md explains the choice. Classes: the synthetic scene classes.
    from ...data.templates import CLASSES

    return {
        "vision": _clip(112, 14, 128, 3, 4, 384),
        "llm": _llama(byte_vocab_size(), 256, 4, 4, 2, 768, max_position_embeddings=2048),
        "grounding": _hiera(256, 32, [1, 1, 2, 1], [1, 1, 2, 4], [8, 4, 4, 2], [3], 96, [4, 4]),
        "mask_decoder": _decoder(96, 384, 4, dynamic_multimask=False),
        "memory": {"num_classes": len(CLASSES), "memory_len": 8, "num_heads": 4},
        "class_names": [c.name for c in CLASSES],
        "hd_num": 4,
        "max_tiles": 4,
        # Both chosen on validation scenes by `python -m engine.eval.model_card --tune 20`
        # (docs/MODEL_CARD_demo.md): drop faint specks, keep objects; show imagery coarser than 1 m per pixel
        # upsampled to 1 m, where small objects such as planes are outlined far better.
        "min_region_score": 0.8,
        "max_gsd": 1.0,
        # Masks at the full 256 px instead of 64 px (thin wings, small objects); trained in the recipe's stages 6-7.
        "mask_refiner": {"channels": 16, "dilations": [1, 2, 4, 1]},
    }


def lite() -> dict[str, Any]:
    """The demo's language model and mask decoder over a pretrained EfficientNet-Lite0 backbone (ImageNet), which
    feeds both the image tokens (its stride-16 map of 128 px tiles) and the mask side's pyramid (256 px input);
    docs/EVALUATION.md has what its recipe (engine/train/recipes/lite.toml) reached so far. About 7.3M parameters,
    15 MB in float16."""
    config = demo()
    config.update(
        backbone="efficientnet_lite0",
        vision={"image_size": 128, "patch_size": 16},
        grounding={
            "backbone_config": {"image_size": [256, 256]},
            "backbone_feature_sizes": [[64, 64], [32, 32], [16, 16]],
            "fpn_hidden_size": 96,
        },
        # chosen on the training side of the real scenes (python -m engine.eval.real_imagery --tune): regions of a
        # lower mean probability are mostly specks; imagery is read at its own resolution
        min_region_score=0.7,
        max_gsd=None,
    )
    return config


def _hiera_large() -> dict[str, Any]:
    return _hiera(1024, 144, [2, 6, 36, 4], [2, 4, 8, 16], [8, 4, 16, 8], [23, 33, 43], 256)


def geopixel_7b_arch() -> dict[str, Any]:
    return {
        "vision": _clip(560, 14, 1024, 24, 16, 4096),
        "llm": _llama(92544, 4096, 32, 32, 8, 14336, max_position_embeddings=16384, rope_theta=1000000.0),
        "grounding": _hiera_large(),
        "mask_decoder": _decoder(256, 2048, 8),
        "memory": {"num_classes": 15, "memory_len": 64, "num_heads": 8},
        "hd_num": 9,
        "max_tiles": 49,
    }


def geopix_7b_arch() -> dict[str, Any]:
    # LLaVA-1.5-7B: Vicuna-7B (MHA, 32000 tokens), CLIP ViT-L/14 at 336 px with a plain 2-layer MLP (no merge).
    return {
        "vision": _clip(336, 14, 1024, 24, 16, 4096),
        "llm": _llama(32000, 4096, 32, 32, 32, 11008, max_position_embeddings=4096),
        "grounding": _hiera_large(),
        "mask_decoder": _decoder(256, 2048, 8),
        "memory": {"num_classes": 75, "memory_len": 64, "num_heads": 8},
        "hd_num": 1,
        "max_tiles": 1,
        "merge_size": 1,
    }


def geopixel_7b() -> dict[str, Any]:
    """The published GeoPixel-7B / GeoPixel-7B-RES network, as ``engine.convert.geopixel`` writes it.

    InternLM2-7B (InternLM-XComposer-2.5 sizes) as a Llama with Partial LoRA r=256, the vocabulary grown by the
    three added tokens, no class-wise memory (GeoPixel has none) and a single-class head (a constant).
    """
    internlm2 = _llama(
        92547,
        4096,
        32,
        32,
        8,
        14336,
        max_position_embeddings=24576,
        rope_parameters={"rope_type": "dynamic", "factor": 2.0, "rope_theta": 1000000.0},
        rms_norm_eps=1e-5,
        attention_bias=False,
        bos_token_id=1,
        eos_token_id=2,
    )
    return {
        **geopixel_7b_arch(),
        "llm": internlm2,
        "class_names": ["object"],
        "use_class_memory": False,
        "max_tiles": 49,
        "partial_lora": {"rank": 256, "alpha": 256},
        "bos_before_image": True,
        "bf16_grounding_embedding": True,
        "chat_template": "internlm2",
    }


PRESETS = {
    "tiny": tiny,
    "demo": demo,
    "lite": lite,
    "geopixel-7b-arch": geopixel_7b_arch,
    "geopix-7b-arch": geopix_7b_arch,
    "geopixel-7b": geopixel_7b,
}


def preset_config(name: str, **overrides: Any) -> GeoGroundConfig:
    """The config of a named preset, with special token ids bound to the tokenizer it builds."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; valid presets: {', '.join(PRESETS)}")
    kwargs = {**PRESETS[name](), "preset": name, **overrides}
    config = GeoGroundConfig(**kwargs)
    bind_token_ids(config, build_tokenizer(config))
    return config
