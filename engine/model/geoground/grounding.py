"""Grounding encoder: the multi-scale features the mask predictor decodes.

Either SAM2's Hiera trunk + FPN neck (the published layouts), or, with ``config.backbone``, a feature pyramid over
the model's shared pretrained backbone (``backbone.py``), which then also feeds the LLM's image tokens.

The image is resized (not padded) to the encoder's square input, so a mask predicted on that square maps back to the
original image by a plain resize, whatever its aspect ratio.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch import nn
from transformers import Sam2VisionModel

from .backbone import EfficientNetLite0, FeaturePyramid
from .configuration import GeoGroundConfig

# SAM2 normalises its input with the ImageNet statistics.
SAM_MEAN = (0.485, 0.456, 0.406)
SAM_STD = (0.229, 0.224, 0.225)


class GroundingEncoder(nn.Module):
    """``uint8 (H, W, 3)`` image -> feature maps at strides 4, 8 and 16 of the encoder input (high to low)."""

    def __init__(self, config: GeoGroundConfig) -> None:
        super().__init__()
        self.image_size = config.grounding_image_size
        self.shared_backbone = bool(config.backbone)
        fpn = config.grounding["fpn_hidden_size"]
        if self.shared_backbone:
            self.encoder = None
            self.neck = FeaturePyramid(EfficientNetLite0.channels, fpn)
        else:
            self.encoder = Sam2VisionModel(config.grounding_config())
        # SAM2 adds this to the lowest-resolution map when there is no video memory (a single image).
        self.no_memory_embedding = nn.Parameter(torch.zeros(fpn))

    def preprocess(self, image: np.ndarray) -> torch.Tensor:
        """Resize to the square input size; ``uint8 (1, 3, S, S)``."""
        size = (self.image_size, self.image_size)
        resized = np.asarray(Image.fromarray(np.ascontiguousarray(image)).resize(size, Image.Resampling.BILINEAR))
        return torch.from_numpy(resized.transpose(2, 0, 1).copy())[None]

    def normalise(self, pixels: torch.Tensor) -> torch.Tensor:
        """``uint8 (B, 3, S, S)`` -> the encoder's normalised float input, in its dtype and device."""
        weight = self.no_memory_embedding
        if self.shared_backbone:
            return EfficientNetLite0.normalise(pixels, weight)
        mean = torch.tensor(SAM_MEAN, device=weight.device).view(1, 3, 1, 1)
        std = torch.tensor(SAM_STD, device=weight.device).view(1, 3, 1, 1)
        return ((pixels.to(weight.device, torch.float32) / 255.0 - mean) / std).to(weight.dtype)

    def forward(self, pixels: torch.Tensor, backbone: nn.Module | None = None) -> list[torch.Tensor]:
        """Maps at strides 4, 8 and 16; ``backbone``: the model's shared backbone, when the config has one."""
        weight = self.no_memory_embedding
        if self.shared_backbone:
            if backbone is None:
                raise ValueError("this grounding encoder reads the model's shared backbone: pass it")
            maps = self.neck(backbone(self.normalise(pixels)))
        else:
            maps = list(self.encoder(pixel_values=self.normalise(pixels)).fpn_hidden_states)
        maps[-1] = maps[-1] + weight.view(1, -1, 1, 1)
        return maps
