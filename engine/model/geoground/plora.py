"""Partial LoRA: a low-rank update added to a Linear layer only at image-token positions.

InternLM-XComposer (and GeoPixel, built on it) adds ``Plora_B(Plora_A(x)) * alpha / r`` to every projection of the
LLM, but only for the rows of the sequence that hold image embeddings; text rows see the plain Linear. We keep
transformers' Llama modules and swap their projections for these subclasses, so the weights keep Llama names plus
``Plora_A`` / ``Plora_B`` children.

The original fuses q, k and v into one ``wqkv`` with a single ``Plora_A``. After the split, ``q_proj`` owns that
``Plora_A`` and ``k_proj`` / ``v_proj`` only own their slice of ``Plora_B`` and borrow ``q_proj``'s ``Plora_A``, so
no weight is duplicated and the result is exactly the fused computation.

Which positions are image tokens is not visible to a Linear layer, so all the layers of one LLM share an
:class:`ImageTokenMask` that the caller fills for the duration of a forward pass (see ``ImageTokenMask.active``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn


class ImageTokenMask:
    """Which sequence positions are image tokens, shared by every Partial LoRA layer of one LLM.

    ``mask`` is ``bool (batch, length)`` for the whole sequence from position 0; ``offset`` is the number of
    positions already in the KV cache, so a decoding step of length ``T`` reads ``mask[:, offset:offset + T]``
    (positions past the end of ``mask`` are text).
    """

    def __init__(self) -> None:
        self._local = threading.local()  # per thread: two threads' forward passes never see each other's mask

    @property
    def mask(self) -> torch.Tensor | None:
        return getattr(self._local, "mask", None)

    @property
    def offset(self) -> int:
        return getattr(self._local, "offset", 0)

    @contextmanager
    def active(self, mask: torch.Tensor | None, offset: int = 0) -> Iterator[None]:
        """Within this block (one forward pass), ``mask`` marks the image positions of this thread's input."""
        previous = self.mask, self.offset
        self._local.mask, self._local.offset = mask, offset
        try:
            yield
        finally:
            self._local.mask, self._local.offset = previous

    def rows(self, batch: int, length: int, device: torch.device) -> torch.Tensor | None:
        """The mask for an input of ``(batch, length)`` positions (None: no image tokens)."""
        if self.mask is None:
            return None
        window = self.mask[:, self.offset : self.offset + length].to(device=device, dtype=torch.bool)
        if window.shape[1] < length:
            window = F.pad(window, (0, length - window.shape[1]), value=False)
        if window.shape[0] != batch:
            window = window.expand(batch, -1)
        return window


class PartialLoRALinear(nn.Linear):
    """``nn.Linear`` plus ``Plora_B(Plora_A(x)) * scaling`` at image-token rows."""

    def __init__(
        self, in_features: int, out_features: int, bias: bool, rank: int, alpha: float, image_mask: ImageTokenMask
    ) -> None:
        super().__init__(in_features, out_features, bias=bias)
        self.Plora_A = nn.Linear(in_features, rank, bias=False)
        self.Plora_B = nn.Linear(rank, out_features, bias=False)
        self.scaling = alpha / rank
        self.image_mask = image_mask

    def low_rank_input(self, x: torch.Tensor) -> torch.Tensor:
        return self.Plora_A(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.linear(x, self.weight, self.bias)
        rows = self.image_mask.rows(x.shape[0], x.shape[1], x.device) if x.dim() == 3 else None
        if rows is None:
            return out
        update = self.Plora_B(self.low_rank_input(x[rows])) * self.scaling
        return out.index_put((rows,), out[rows] + update)


class SharedAPartialLoRALinear(PartialLoRALinear):
    """A Partial LoRA layer whose ``Plora_A`` belongs to another layer (k and v borrow q's after the wqkv split)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool,
        source: PartialLoRALinear,
        image_mask: ImageTokenMask,
    ) -> None:
        nn.Linear.__init__(self, in_features, out_features, bias=bias)
        rank = source.Plora_A.out_features
        self.Plora_B = nn.Linear(rank, out_features, bias=False)
        self.scaling = source.scaling
        self.image_mask = image_mask
        self._source = [source]  # a plain list: not registered, so the shared weight is saved once

    def low_rank_input(self, x: torch.Tensor) -> torch.Tensor:
        return self._source[0].Plora_A(x)


def _replace(parent: nn.Module, name: str, new: nn.Linear) -> None:
    old = getattr(parent, name)
    new.to(device=old.weight.device, dtype=old.weight.dtype)
    setattr(parent, name, new)


def apply_partial_lora(llm: nn.Module, rank: int, alpha: float) -> ImageTokenMask:
    """Swap every attention and MLP projection of a Llama-family causal LM for a Partial LoRA layer.

    Returns the shared :class:`ImageTokenMask` the layers read. Call before the weights are initialised or loaded.
    """
    if rank < 1:
        raise ValueError(f"the Partial LoRA rank must be at least 1, got {rank}")
    mask = ImageTokenMask()
    for layer in llm.model.layers:
        attention, mlp = layer.self_attn, layer.mlp

        def own(module: nn.Module, name: str) -> PartialLoRALinear:
            old = getattr(module, name)
            new = PartialLoRALinear(old.in_features, old.out_features, old.bias is not None, rank, alpha, mask)
            _replace(module, name, new)
            return new

        query = own(attention, "q_proj")
        for name in ("k_proj", "v_proj"):
            old = getattr(attention, name)
            shared = SharedAPartialLoRALinear(old.in_features, old.out_features, old.bias is not None, query, mask)
            _replace(attention, name, shared)
        own(attention, "o_proj")
        for name in ("gate_proj", "up_proj", "down_proj"):
            own(mlp, name)
    return mask
