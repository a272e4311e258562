"""Weight-only 8-bit / 4-bit quantization of the LLM, so 7B-class models fit smaller GPUs.

torchao swaps each Linear's ``weight`` for a quantized tensor in place, so our module classes (the Partial LoRA
layers included) and their forward code stay as they are. Only the LLM's projections are quantized: they hold over
90 % of the weights, while the vision encoders, the mask decoder and the small LoRA factors stay in bf16.

8-bit weight-only works on CPU and CUDA. 4-bit uses torchao's int4 kernels, which need a CUDA device and bf16.
"""

from __future__ import annotations

import torch
from torch import nn

from .configuration import GeoGroundConfig


class QuantizationError(ValueError):
    """The requested quantization cannot run here (library missing, wrong device or dtype)."""


# Where the LLM lives: GeoGroundModel.llm, GeoPixModel.vlm (its language model).
_LLM_PREFIXES = ("llm.", "vlm.model.language_model.")


def _llm_projection(module: nn.Module, name: str) -> bool:
    return isinstance(module, nn.Linear) and name.startswith(_LLM_PREFIXES) and "Plora_" not in name


def quantize_llm(model: nn.Module, bits: int = 8) -> nn.Module:
    """Quantize the LLM's Linear weights of ``model`` (GeoGroundModel or GeoPixModel) in place; returns it."""
    if bits not in (4, 8):
        raise QuantizationError(f"bits must be 4 or 8, got {bits}")
    try:
        from torchao.quantization import Int4WeightOnlyConfig, Int8WeightOnlyConfig, quantize_
    except ImportError:
        raise QuantizationError("quantization needs the torchao package: pip install torchao") from None
    if bits == 4:
        weights = [m.weight for name, m in model.named_modules() if _llm_projection(m, name)]
        if not weights:
            raise QuantizationError("the model has no LLM projections to quantize")
        if weights[0].device.type != "cuda" or weights[0].dtype != torch.bfloat16:
            raise QuantizationError("4-bit weights need the model in bfloat16 on a CUDA device (move it first)")
        config = Int4WeightOnlyConfig(group_size=128)
    else:
        config = Int8WeightOnlyConfig()
    quantize_(model, config, filter_fn=_llm_projection)
    return model


def weight_bytes(model: nn.Module) -> int:
    """Bytes held by parameters and buffers (quantized tensors report their packed size)."""
    total = 0
    for tensor in list(model.parameters()) + list(model.buffers()):
        inner = [getattr(tensor, name) for name in getattr(tensor, "__tensor_flatten__", lambda: ([], None))()[0]]
        parts = inner or [tensor]
        total += sum(part.numel() * part.element_size() for part in parts if isinstance(part, torch.Tensor))
    return total


def memory_plan(config: GeoGroundConfig) -> dict[str, float]:
    """Weight memory in GiB of ``config`` in bf16 and with 8-bit / 4-bit LLM projections (counted on meta)."""
    from .modeling import GeoGroundModel

    with torch.device("meta"):
        model = GeoGroundModel(config)
    total = sum(p.numel() for p in model.parameters())
    projections = sum(module.weight.numel() for name, module in model.named_modules() if _llm_projection(module, name))
    gib = 2**30
    return {
        "parameters": float(total),
        "bf16_gib": total * 2 / gib,
        "int8_llm_gib": (total * 2 - projections) / gib,
        "int4_llm_gib": (total * 2 - projections * 1.5) / gib,
    }
