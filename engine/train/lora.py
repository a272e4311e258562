"""LoRA on the LLM's attention and MLP projections through peft, and merging it back for export.

The adapters are injected with ``get_peft_model`` on the whole GeoGround model, with a target pattern that only
matches projections inside the LLM's decoder layers, so the vision and mask parts are never adapted.
"""

from __future__ import annotations

import re

from peft import LoraConfig, PeftModel, get_peft_model

from .config import LoraSettings

PEFT_PREFIX = "base_model.model."


def lora_target_pattern(modules: list[str]) -> str:
    """A regex peft matches (full match) against module names: the LLM decoder layers' named projections."""
    names = "|".join(re.escape(m) for m in modules)
    return rf"llm\.model\.layers\.\d+\.(?:self_attn|mlp)\.(?:{names})"


def apply_lora(model, settings: LoraSettings) -> PeftModel:
    """Wrap ``model`` with LoRA adapters (rank, alpha, dropout and targets from the recipe)."""
    config = LoraConfig(
        r=settings.r,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=lora_target_pattern(settings.target_modules),
        bias="none",
    )
    return get_peft_model(model, config)


def merge_lora(model):
    """The plain model with the adapters folded into the base weights (a no-op for a model without LoRA)."""
    return model.merge_and_unload() if isinstance(model, PeftModel) else model


def plain_name(name: str) -> str:
    """A parameter name without the wrappers' prefixes (peft, DDP), as the recipe's ``trainable`` lists use."""
    for prefix in ("module.", PEFT_PREFIX):
        if name.startswith(prefix):
            name = name[len(prefix) :]
    return name.replace(".base_layer.", ".")
