"""GeoPix's mask side: image necks, the multi-scale mask decoder (after PixelLM) and the released memory block.

The decoder runs one two-way transformer per feature level (transformers' SAM ``SamTwoWayTransformer``) with shared
output tokens and a learned level embedding. Level 0 decodes the 32x32 neck features into 64x64 masks; level 1
upsamples the features 2x, gates them with the previous level's masks (``(sigmoid(mean mask) + 1) * features``),
uses its own positional encoding and gives 128x128 masks.

``ReleasedMemory`` reproduces what the published checkpoint's class-wise memory actually computes. In the released
code its attention blocks return their input, so the block reduces to ``LayerNorm(x + scale * x)`` over channels:
the memory bank, the memory encoder, the fuser and the class index change nothing. A converted GeoPix model must do
exactly that to give the published masks.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers import SamMaskDecoderConfig, SamVisionConfig
from transformers.models.sam.modeling_sam import (
    SamFeedForward,
    SamLayerNorm,
    SamPositionalEmbedding,
    SamTwoWayTransformer,
)


class ImageNeck(nn.Module):
    """CLIP patch features -> mask features: conv3x3-BN-ReLU, bilinear resize to ``size``, conv3x3-BN-ReLU."""

    def __init__(self, in_channels: int, mid_channels: int, out_channels: int, size: int) -> None:
        super().__init__()
        self.size = size
        self.conv1 = nn.Sequential(
            nn.Conv2d(in_channels, mid_channels, 3, padding=1), nn.BatchNorm2d(mid_channels), nn.ReLU()
        )
        self.conv2 = nn.Sequential(
            nn.Conv2d(mid_channels, out_channels, 3, padding=1), nn.BatchNorm2d(out_channels), nn.ReLU()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(self.conv1(x), size=(self.size, self.size), mode="bilinear", align_corners=False)
        return self.conv2(x)


class ReleasedMemory(nn.Module):
    """The published class-wise memory as it behaves: ``LayerNorm(x + scale * x)`` over channels."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.full((dim,), 1.421))
        self.norm = nn.LayerNorm(dim)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W)`` -> same shape."""
        x = features.flatten(2).transpose(1, 2)
        x = self.norm(x + self.scale * x)
        return x.transpose(1, 2).reshape(features.shape)


def at_least_fp32(x: torch.Tensor) -> torch.Tensor:
    """Half-precision tensors in float32 (resampling in bf16 loses too much); float32/64 unchanged."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def grid_positional_encoding(embedding: SamPositionalEmbedding, height: int, width: int) -> torch.Tensor:
    """SAM's random-Fourier encoding of the pixel centres of an ``height x width`` grid, ``(1, C, h, w)``."""
    table = embedding.positional_embedding
    ys = (torch.arange(height, device=table.device, dtype=table.dtype) + 0.5) / height
    xs = (torch.arange(width, device=table.device, dtype=table.dtype) + 0.5) / width
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)
    return embedding(grid[None, None])[0].permute(0, 3, 1, 2)


class MultiScaleMaskDecoder(nn.Module):
    """PixelLM's multi-scale decoder: one two-way transformer per level, shared tokens and heads."""

    def __init__(self, dim: int, levels: int, depth: int = 2, heads: int = 8, mlp_dim: int = 2048) -> None:
        super().__init__()
        # layer_norm_eps: the original blocks use torch's default LayerNorm (1e-5), not transformers' SAM default
        config = SamMaskDecoderConfig(
            hidden_size=dim, num_hidden_layers=depth, num_attention_heads=heads, mlp_dim=mlp_dim, layer_norm_eps=1e-5
        )
        config._attn_implementation = "eager"
        self.transformer = nn.ModuleList([SamTwoWayTransformer(config) for _ in range(levels)])
        self.iou_token = nn.Embedding(1, dim)
        self.num_mask_tokens = 4
        self.mask_tokens = nn.Embedding(self.num_mask_tokens, dim)
        self.output_upscaling = nn.Sequential(
            nn.ConvTranspose2d(dim, dim // 8, 2, stride=2),
            SamLayerNorm(dim // 8, data_format="channels_first"),
            nn.GELU(),
        )
        self.upsample_2x = nn.Sequential(
            nn.ConvTranspose2d(dim, dim, 2, stride=2), SamLayerNorm(dim, data_format="channels_first"), nn.GELU()
        )
        self.pe1 = SamPositionalEmbedding(SamVisionConfig(num_pos_feats=dim // 2))
        self.output_hypernetworks_mlps = nn.ModuleList(
            [SamFeedForward(dim, dim, dim // 8, 3) for _ in range(self.num_mask_tokens)]
        )
        self.iou_prediction_head = SamFeedForward(dim, 256, self.num_mask_tokens, 3)
        self.level_embed = nn.Embedding(levels, dim)

    def forward(
        self,
        image: torch.Tensor,
        image_pe: torch.Tensor,
        sparse: torch.Tensor,
        dense: torch.Tensor,
        level: int,
        previous_masks: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One level for ``N`` prompts: ``image (1|N, C, h, w)``, ``sparse (N, T, C)`` -> masks ``(N, 1, 2h', 2w')``.

        Level > 0 needs the previous level's masks ``(N, 1, 2h, 2w)``.
        """
        n = sparse.shape[0]
        tokens = torch.cat([self.iou_token.weight, self.mask_tokens.weight]).unsqueeze(0).expand(n, -1, -1)
        tokens = torch.cat([tokens, sparse], dim=1) + self.level_embed.weight[level]
        src = image if image.shape[0] == n else image.repeat_interleave(n, dim=0)
        if level > 0:
            if previous_masks is None:
                raise ValueError(f"level {level} needs the masks of level {level - 1}")
            src = self.upsample_2x(src)
            gate = previous_masks.mean(dim=1, keepdim=True).sigmoid() + 1
            src = gate * src
            image_pe = grid_positional_encoding(self.pe1, src.shape[2], src.shape[3])
            dense = F.interpolate(at_least_fp32(dense), size=src.shape[2:], mode="bilinear", align_corners=False)
            dense = dense.to(src.dtype)
        src = src + dense
        b, c, h, w = src.shape
        queries, keys = self.transformer[level](
            point_embeddings=tokens[:, None],
            image_embeddings=src,
            image_positional_embeddings=image_pe.expand(b, -1, -1, -1),
            attention_similarity=None,
        )
        queries = queries[:, 0]
        src = keys[:, 0].transpose(1, 2).reshape(b, c, h, w)
        upscaled = self.output_upscaling(src)
        hyper = torch.stack([mlp(queries[:, 1 + i]) for i, mlp in enumerate(self.output_hypernetworks_mlps)], dim=1)
        masks = (hyper @ upscaled.flatten(2)).view(b, self.num_mask_tokens, *upscaled.shape[2:])
        iou = self.iou_prediction_head(queries[:, 0])
        return masks[:, :1], iou[:, :1]
