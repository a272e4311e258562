"""Full-resolution mask refinement: the decoder's quarter-resolution logits snapped to the image's own edges.

SAM2's decoder predicts a mask at a quarter of its input size, so on a 256 px input one mask cell covers 4 x 4
pixels: thin parts (a plane's wings) and objects a few pixels wide at coarse ground sample distances fall between
cells. The refiner upsamples the logits to the grounding input size and adds a correction computed by a few dilated
convolutions over the upsampled logits, their probabilities and the normalised pixels.

Its last convolution starts at zero, so a refiner that has not trained changes no mask of an image at the grounding
input size (other sizes get one more bilinear resampling on the way back); and it is built with its own random
generator, so adding it to a config leaves the initial weights of every other part exactly as they were without it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class MaskRefiner(nn.Module):
    """``(N, h, w)`` mask logits + ``(N, 3, S, S)`` normalised pixels -> ``(N, S, S)`` refined logits."""

    def __init__(self, channels: int = 16, dilations: Sequence[int] = (1, 2, 4, 1), seed: int = 0) -> None:
        super().__init__()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            layers: list[nn.Module] = []
            width = 5  # the logit, its probability and three colour channels
            for dilation in dilations:
                layers += [nn.Conv2d(width, channels, 3, padding=dilation, dilation=dilation), nn.ReLU()]
                width = channels
            self.body = nn.Sequential(*layers)
            self.out = nn.Conv2d(channels, 1, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        for module in self.modules():  # initialised here: the model's post_init must not redraw them
            module._is_hf_initialized = True

    def forward(self, logits: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
        size = tuple(pixels.shape[-2:])
        up = logits[:, None]
        if tuple(up.shape[-2:]) != size:
            up = F.interpolate(up, size=size, mode="bilinear", align_corners=False)
        x = torch.cat([up, torch.sigmoid(up), pixels.to(up.dtype)], dim=1)
        return (up + self.out(self.body(x)))[:, 0]
