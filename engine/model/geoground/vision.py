"""Image tiles -> LLM input embeddings: CLIP vision encoder, 2x2 patch merge + MLP projector, and separators.

With ``config.backbone`` the tiles go through the model's shared pretrained backbone instead of CLIP, and its
stride-16 map plays the part of the patch grid (``vision.patch_size`` is then 16).

The token layout follows GeoPixel: the global view as rows of tokens each closed by a row separator, one
separator between views, then the local tiles stitched into one large grid, again row by row. Row separators let
the LLM know where an image row ends, which matters because the grid shape changes with the aspect ratio.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import CLIPVisionModel

from .backbone import EfficientNetLite0
from .configuration import GeoGroundConfig
from .tiling import TiledImage

# CLIP's preprocessing statistics (the encoder's inputs are normalised with them).
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class Projector(nn.Module):
    """Merge ``merge x merge`` neighbouring patches into one token, then a 2-layer GELU MLP to the LLM width."""

    def __init__(self, vision_width: int, llm_width: int, merge: int) -> None:
        super().__init__()
        self.merge = merge
        self.mlp = nn.Sequential(
            nn.Linear(vision_width * merge * merge, llm_width), nn.GELU(), nn.Linear(llm_width, llm_width)
        )

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        """``(N, P, P, C)`` patch features -> ``(N, P/m, P/m, llm_width)`` tokens."""
        n, p, _, c = patches.shape
        m, side = self.merge, p // self.merge
        merged = patches.reshape(n, side, m, side, m, c).permute(0, 1, 3, 2, 4, 5).reshape(n, side, side, m * m * c)
        return self.mlp(merged)


class VisualEmbedder(nn.Module):
    """Encodes a :class:`TiledImage` into the image token sequence fed to the LLM."""

    def __init__(self, config: GeoGroundConfig) -> None:
        super().__init__()
        hidden = config.llm_hidden_size
        if config.backbone:
            self.encoder = None
            width = EfficientNetLite0.channels[2]  # the stride-16 map
        else:
            self.encoder = CLIPVisionModel(config.vision_config())
            width = self.encoder.config.hidden_size
        self.projector = Projector(width, hidden, config.merge_size)
        self.global_separator = nn.Parameter(torch.zeros(hidden))
        self.row_separator = nn.Parameter(torch.zeros(hidden))
        patches = config.tile_size // config.patch_size
        if patches % config.merge_size:
            raise ValueError(f"{patches} patches per tile side cannot be merged by {config.merge_size}")
        self.tokens_per_side = patches // config.merge_size

    def encode_tiles(self, pixels: torch.Tensor, backbone: nn.Module | None = None) -> torch.Tensor:
        """``uint8 (N, 3, T, T)`` -> patch features ``(N, P, P, C)`` (CLIP: last hidden state, class token dropped;
        a shared backbone: its stride-16 map)."""
        weight = self.projector.mlp[0].weight
        if self.encoder is None:
            if backbone is None:
                raise ValueError("this vision side reads the model's shared backbone: pass it")
            return backbone(EfficientNetLite0.normalise(pixels, weight))[2].permute(0, 2, 3, 1)
        mean = torch.tensor(CLIP_MEAN, device=weight.device).view(1, 3, 1, 1)
        std = torch.tensor(CLIP_STD, device=weight.device).view(1, 3, 1, 1)
        x = (pixels.to(weight.device, torch.float32) / 255.0 - mean) / std
        hidden = self.encoder(pixel_values=x.to(weight.dtype)).last_hidden_state[:, 1:]
        side = int(round(hidden.shape[1] ** 0.5))
        return hidden.reshape(hidden.shape[0], side, side, hidden.shape[-1])

    def layout(self, tokens: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
        """Arrange projected tiles ``(1 + rows*cols, S, S, D)`` into the separated sequence ``(L, D)``."""
        side, width = tokens.shape[1], tokens.shape[-1]
        glob = tokens[0]
        local = tokens[1:].reshape(rows, cols, side, side, width).permute(0, 2, 1, 3, 4)
        local = local.reshape(rows * side, cols * side, width)
        parts = []
        for grid in (glob, local):
            separators = self.row_separator.to(grid.dtype).expand(grid.shape[0], 1, width)
            parts.append(torch.cat([grid, separators], dim=1).reshape(-1, width))
        return torch.cat([parts[0], self.global_separator.to(glob.dtype).view(1, width), parts[1]], dim=0)

    def forward(self, tiled: TiledImage, backbone: nn.Module | None = None) -> torch.Tensor:
        pixels = torch.from_numpy(tiled.global_view[None])
        pixels = torch.cat([pixels, torch.from_numpy(tiled.tiles)], dim=0)
        tokens = self.projector(self.encode_tiles(pixels, backbone))
        return self.layout(tokens, tiled.grid.rows, tiled.grid.cols)
