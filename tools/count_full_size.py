"""Parameters per part and weight memory of the full-size GeoPixel-7B and GeoPix models, counted on the meta device.

Produces the "Full size" figures of docs/FIDELITY.md: for GeoPixel the parts of the converted model
(``preset_config("geopixel-7b")``, ``GeoGroundModel.parameter_counts()``), the LoRA branches the converter drops,
the bf16 size and ``memory_plan``'s 8-bit / 4-bit figures; for GeoPix the parts of ``geopix_7b_config()`` and the
released memory bank the converter drops. Nothing is allocated, so it runs in seconds on any machine:

    python tools/count_full_size.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GIB = 2**30
# InternLM-XComposer-2.5 carries three LoRA branches GeoPixel never reads, on each of the five projections of every
# layer: lora_sft and lora_dpo of rank 256, lora_web of rank 512.
UNUSED_LORA_RANKS = (256, 256, 512)
# The released GeoPix class-wise memory bank: classes x levels x length x width x 32 x 32.
GEOPIX_MEMORY_BANK = (75, 2, 64, 64, 32, 32)


def geopixel_rows() -> list[tuple[str, int]]:
    import torch

    from engine.model import GeoGroundModel, preset_config

    with torch.device("meta"):
        counts = GeoGroundModel(preset_config("geopixel-7b")).parameter_counts()
    names = {
        "vision_encoder": "CLIP ViT-L/14-560",
        "projector": "projector",
        "llm": "LLM (InternLM2-7B + Partial LoRA)",
        "grounding_encoder": "SAM2 Hiera-L trunk + neck",
        "mask_predictor": "text projection + prompt encoder + mask decoder",
        "separators": "separators",
        "total": "total",
    }
    return [(names.get(part, part), value) for part, value in counts.items()]


def unused_lora(llm: dict) -> int:
    """Parameters of the dropped LoRA branches: per projection, rank x (inputs + outputs) for each branch."""
    hidden, inner, layers = llm["hidden_size"], llm["intermediate_size"], llm["num_hidden_layers"]
    head_dim = hidden // llm["num_attention_heads"]
    qkv = hidden + 2 * llm["num_key_value_heads"] * head_dim
    projections = [(hidden, qkv), (hidden, hidden), (hidden, inner), (hidden, inner), (inner, hidden)]
    return layers * sum(UNUSED_LORA_RANKS) * sum(i + o for i, o in projections)


def geopix_rows() -> list[tuple[str, int]]:
    import torch

    from engine.model.geopix.model import GeoPixModel, geopix_7b_config

    with torch.device("meta"):
        model = GeoPixModel(geopix_7b_config())

    def count(*modules) -> int:
        return sum(p.numel() for module in modules for p in module.parameters())

    vlm = model.vlm
    small = [model.prompt_pe, model.no_mask_embed] + ([model.memory] if model.memory is not None else [])
    scalars = model.seg_scalars.numel() + model.scale_scalars.numel()
    return [
        ("CLIP", count(vlm.model.vision_tower)),
        ("projector", count(vlm.model.multi_modal_projector)),
        ("Llama", count(vlm.model.language_model)),
        ("head", count(vlm.lm_head)),
        ("necks", count(model.neck_rough, model.neck_detail)),
        ("text_hidden_fcs", count(model.text_hidden_fcs)),
        ("mask decoder", count(model.decoder)),
        ("prompt side, scalars and the released memory's norm", count(*small) + scalars),
        ("total", count(model)),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()

    from engine.model import preset_config
    from engine.model.geoground.quantization import memory_plan

    print("GeoPixel-7B, converted (geopixel-7b preset)")
    print("| part | parameters |\n|---|---:|")
    rows = geopixel_rows()
    for name, value in rows:
        print(f"| {name} | {value:,} |")
    total = dict(rows)["total"]
    config = preset_config("geopixel-7b")
    lora = unused_lora(config.llm)
    print(f"dropped LoRA branches (ranks {' + '.join(map(str, UNUSED_LORA_RANKS))}): {lora:,} parameters")
    print(f"converted + dropped LoRA: {(total + lora) / 1e9:.2f} billion parameters, {(total + lora) * 2 / 1e9:.1f} GB")
    print("(plus the SAM2 video memory the converter drops, not counted here)")
    plan = memory_plan(config)
    print(
        f"weights: {plan['bf16_gib']:.1f} GiB in bf16, {plan['int8_llm_gib']:.1f} GiB with 8-bit LLM projections, "
        f"{plan['int4_llm_gib']:.1f} GiB with 4-bit (before group scales)"
    )
    print("\nGeoPix (geopix_7b_config)")
    print("| part | parameters |\n|---|---:|")
    rows = geopix_rows()
    for name, value in rows:
        print(f"| {name} | {value:,} |")
    total = dict(rows)["total"]
    bank = 1
    for size in GEOPIX_MEMORY_BANK:
        bank *= size
    print(f"weights: {total * 2 / GIB:.1f} GiB in bf16")
    print(
        f"released memory bank (dropped): {bank:,} values, {bank * 2 / 1e9:.2f} GB ({bank * 2 / GIB:.2f} GiB) in bf16"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
