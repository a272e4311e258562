"""Class-wise learnable memory: per-class context vectors that image features attend to before mask decoding.

Each class owns ``memory_len`` learnable vectors. Training reads the memory of the instance's ground-truth class,
so backpropagation writes only that class's slots; at inference the class is unknown and the read is the mixture of
class memories weighted by the predicted class probabilities. Image features attend to the read memory
(cross-attention), with a residual connection and a LayerNorm.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ClassMemory(nn.Module):
    def __init__(self, num_classes: int, memory_len: int, dim: int, num_heads: int) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"memory width {dim} is not divisible by {num_heads} heads")
        self.num_heads = num_heads
        self.bank = nn.Parameter(torch.randn(num_classes, memory_len, dim))
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)
        self.norm = nn.LayerNorm(dim)

    def read(self, class_probs: torch.Tensor, class_ids: torch.Tensor | None = None) -> torch.Tensor:
        """``(N, L, D)`` memory per instance: its known class's slots, else the probability-weighted mixture."""
        mixture = torch.einsum("nc,cld->nld", class_probs.to(self.bank.dtype), self.bank)
        if class_ids is None:
            return mixture
        known = class_ids >= 0
        if known.all():
            return self.bank[class_ids]
        picked = self.bank[class_ids.clamp(min=0)]
        return torch.where(known.view(-1, 1, 1), picked, mixture)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(x.shape[0], x.shape[1], self.num_heads, -1).transpose(1, 2)

    def forward(self, features: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        """``features (N, D, h, w)`` attend to ``memory (N, L, D)``; same shape out."""
        n, d, h, w = features.shape
        tokens = features.flatten(2).transpose(1, 2)
        attended = F.scaled_dot_product_attention(
            self._heads(self.query(tokens)), self._heads(self.key(memory)), self._heads(self.value(memory))
        )
        attended = attended.transpose(1, 2).reshape(n, h * w, d)
        tokens = self.norm(tokens + self.out(attended))
        return tokens.transpose(1, 2).reshape(n, d, h, w)
