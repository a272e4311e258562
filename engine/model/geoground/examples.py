"""Example prompts: "find every object like these" from the pixels of a few examples, decoded by the mask side.

An example is a mask on an image (the same image or another one of similar imagery). Its prototype is the mean of
the grounding maps under the mask, at each of the three scales. The encoder turns the prototypes into what the
mask decoder reads in place of a [SEG] state:

* sparse prompt tokens: one per example and one for their mean, each a small MLP of the prototype;
* a dense prompt: the cosine similarity of every cell of the target's maps to the examples, at the three scales
  brought to the decoder's grid, mapped by 1x1 convolutions onto the decoder's width and added to its "no mask"
  embedding;
* a similarity head: the same similarities per pixel of the finest map (a stride of 4), with that map's features,
  through three small convolutions to mask logits added to the decoder's (it starts at zero). The finest map
  separates objects the coarse grid blurs, and this is where the decoder's frozen weights, trained on text
  prompts, need help.

The decoder, the class memory and the mask refiner are the ones the text path uses; the encoder is trained on its
own (``engine/train/examples.py``) with that side frozen, and adding it to a model leaves every text answer as it
was.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

# Similarity channels per scale: to the mean prototype, and the best over the examples, each as the cell's mean and
# its maximum over the decoder grid cell (the high and middle maps are finer than that grid), each as it is and
# standardised over the image (cosine similarities sit in other ranges on other imagery; their order does not).
SIMILARITY_CHANNELS = 3 * 2 * 2 * 2
# The similarity head: per scale, to the mean and the best, each as it is and standardised, on the finest grid.
PIXEL_CHANNELS = 3 * 2 * 2
HEAD_FEATURES = 8
HEAD_WIDTH = 32


@dataclass
class ExamplePrototypes:
    """Pooled grounding features of ``K`` examples, per scale (high to low resolution): ``(K, D)`` each."""

    levels: list[torch.Tensor]

    def __post_init__(self) -> None:
        if not self.levels or self.levels[0].shape[0] == 0:
            raise ValueError("at least one example is needed")

    @property
    def count(self) -> int:
        return int(self.levels[0].shape[0])

    def to(self, device: torch.device, dtype: torch.dtype) -> ExamplePrototypes:
        return ExamplePrototypes([level.to(device, dtype) for level in self.levels])

    @staticmethod
    def concat(parts: list[ExamplePrototypes]) -> ExamplePrototypes:
        """The examples of several prototypes together (examples taken from several images)."""
        return ExamplePrototypes([torch.cat(level) for level in zip(*(p.levels for p in parts), strict=True)])


def pool_examples(levels: list[torch.Tensor], masks: torch.Tensor) -> ExamplePrototypes:
    """Mean features under each mask: ``levels`` the maps of one image ``(1, D, h, w)``, ``masks`` ``(K, H, W)``
    on that image's grounding input grid (any size; resized by area, so a mask smaller than a cell still weighs in
    proportion to what it covers). Empty masks are refused: an example must have pixels."""
    masks = masks.float()
    if masks.ndim != 3 or masks.shape[0] == 0:
        raise ValueError(f"example masks must be (K, H, W) with K >= 1, got {tuple(masks.shape)}")
    if bool((masks.flatten(1).sum(1) == 0).any()):
        raise ValueError("an example mask is empty")
    pooled = []
    for level in levels:
        weights = F.interpolate(masks[:, None].to(level.device, level.dtype), size=level.shape[-2:], mode="area")
        weights = weights[:, 0].flatten(1)  # (K, h*w)
        weights = weights / weights.sum(1, keepdim=True).clamp_min(1e-6)
        pooled.append(weights @ level[0].flatten(1).transpose(0, 1))  # (K, D)
    return ExamplePrototypes(pooled)


class ExampleEncoder(nn.Module):
    """Prototypes and the target's grounding maps -> sparse prompt tokens and a dense prompt for the mask decoder."""

    def __init__(self, feature_dim: int, prompt_dim: int, hidden: int = 128) -> None:
        super().__init__()
        self.tokens = nn.Sequential(
            nn.Linear(3 * feature_dim, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU(),
            nn.Linear(hidden, prompt_dim),
        )  # fmt: skip
        self.mean_token = nn.Parameter(torch.zeros(prompt_dim))  # marks the token made from the examples' mean
        self.dense = nn.Sequential(
            nn.Conv2d(SIMILARITY_CHANNELS, hidden, 1), nn.GELU(), nn.Conv2d(hidden, prompt_dim, 1)
        )
        # Sharpens cosine similarities (which sit in a narrow band) before the convolutions; learned.
        self.temperature = nn.Parameter(torch.tensor(10.0))
        self.features = nn.Conv2d(feature_dim, HEAD_FEATURES, 1)
        self.head = nn.Sequential(
            nn.Conv2d(PIXEL_CHANNELS + HEAD_FEATURES, HEAD_WIDTH, 3, padding=1), nn.GELU(),
            nn.Conv2d(HEAD_WIDTH, HEAD_WIDTH, 3, padding=2, dilation=2), nn.GELU(),
            nn.Conv2d(HEAD_WIDTH, 1, 1),
        )  # fmt: skip
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)

    def sparse(self, prototypes: ExamplePrototypes) -> torch.Tensor:
        """``(K + 1, prompt_dim)``: a token per example, then the token of their mean."""
        features = torch.cat(prototypes.levels, dim=-1)  # (K, 3D)
        per_example = self.tokens(features)
        mean = self.tokens(features.mean(0, keepdim=True)) + self.mean_token
        return torch.cat([per_example, mean])

    def similarity(self, levels: list[torch.Tensor], prototypes: ExamplePrototypes) -> torch.Tensor:
        """``(N, SIMILARITY_CHANNELS, h, w)`` on the lowest map's grid, for ``levels`` of N images."""
        grid = levels[-1].shape[-2:]
        channels = []
        for level, proto in zip(levels, prototypes.levels, strict=True):
            cells = F.normalize(level.float(), dim=1)  # (N, D, h, w)
            examples = F.normalize(proto.float(), dim=-1)  # (K, D)
            per_example = torch.einsum("ndhw,kd->nkhw", cells, examples)
            to_mean = torch.einsum("ndhw,d->nhw", cells, F.normalize(examples.mean(0), dim=0))[:, None]
            best = per_example.max(1, keepdim=True).values
            for sim in (to_mean, best):
                channels.append(F.adaptive_avg_pool2d(sim, grid))
                channels.append(F.adaptive_max_pool2d(sim, grid))
        raw = torch.cat(channels, dim=1)
        mean = raw.mean(dim=(2, 3), keepdim=True)
        spread = raw.std(dim=(2, 3), keepdim=True).clamp_min(1e-3)
        return torch.cat([raw, (raw - mean) / spread], dim=1)

    def pixel_logits(self, levels: list[torch.Tensor], prototypes: ExamplePrototypes) -> torch.Tensor:
        """``(N, h, w)`` mask logits on the finest map's grid from per-pixel similarities and its features."""
        grid = levels[0].shape[-2:]
        channels = []
        for level, proto in zip(levels, prototypes.levels, strict=True):
            cells = F.normalize(level.float(), dim=1)
            examples = F.normalize(proto.float(), dim=-1)
            to_mean = torch.einsum("ndhw,d->nhw", cells, F.normalize(examples.mean(0), dim=0))[:, None]
            best = torch.einsum("ndhw,kd->nkhw", cells, examples).max(1, keepdim=True).values
            for sim in (to_mean, best):
                sim = F.interpolate(sim, size=grid, mode="bilinear", align_corners=False)
                mean, spread = sim.mean(dim=(2, 3), keepdim=True), sim.std(dim=(2, 3), keepdim=True).clamp_min(1e-3)
                channels += [sim * self.temperature, (sim - mean) / spread]
        inputs = torch.cat([*channels, self.features(levels[0].float())], dim=1).to(levels[0].dtype)
        return self.head(inputs)[:, 0]

    def forward(self, levels: list[torch.Tensor], prototypes: ExamplePrototypes) -> tuple[torch.Tensor, torch.Tensor]:
        """Sparse tokens ``(N, K + 1, prompt_dim)`` and a dense prompt ``(N, prompt_dim, h, w)`` for N images."""
        n = levels[-1].shape[0]
        dtype = levels[-1].dtype
        sparse = self.sparse(prototypes).to(dtype)
        similarity = self.similarity(levels, prototypes)
        half = similarity.shape[1] // 2  # the raw similarities are sharpened, the standardised ones are not
        similarity = torch.cat([similarity[:, :half] * self.temperature, similarity[:, half:]], dim=1)
        dense = self.dense(similarity.to(dtype))
        return sparse[None].expand(n, -1, -1), dense
