"""Held-out mIoU of one class with SAM2's dynamic multimask fallback on and then off, on the same model and scenes.

Produces the figure of docs/MODEL_CARD_demo.md, "Earlier runs", item 3 (the intermediate checkpoint of step 1,600:
held-out tank mIoU 0.04 with the fallback and 0.32 without). In eval mode SAM2's decoder swaps a single mask whose
stability score is below its threshold for the best of its three multimask outputs; this script switches that
fallback on the model's decoder (``mask_predictor.decoder.dynamic_multimask_via_stability``) and asks
"Segment all <class>." about the first ``--scenes`` held-out synthetic scenes holding the class (the seed block the
model card's held-out figures use), scoring the union of the answer's masks against the union of the class's
instances (bare masks, no geo pipeline).

    python tools/check_multimask_fallback.py --checkpoint runs/demo/checkpoint-1600 --preset demo --scenes 5
    python tools/check_multimask_fallback.py --model demo --scenes 1     # the smallest run
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

if TYPE_CHECKING:
    from engine.api import Engine


def load_engine(model: str | None, checkpoint: Path | None, preset: str) -> Engine:
    """``Engine.load(model)``, or the weights of a training checkpoint folder on ``preset``'s architecture."""
    from engine.api import Engine, plan_device

    if checkpoint is None:
        return Engine.load(model or "demo", device="cpu")
    from safetensors.torch import load_file

    from engine.model import GeoGroundModel, build_tokenizer, preset_config

    config = preset_config(preset)
    network = GeoGroundModel(config)
    network.load_state_dict(load_file(checkpoint / "model.safetensors"))
    return Engine.from_model(network.eval(), build_tokenizer(config), plan_device("cpu"), str(checkpoint))


def union_miou(engine: Engine, class_name: str, scenes: int) -> float:
    """Mean over scenes of the IoU between the union of the answer's masks and the union of the class's masks."""
    import numpy as np

    from engine.data.templates import CLASS_BY_NAME
    from engine.eval.metrics import mask_iou
    from engine.eval.model_card import held_out_scenes

    instruction = f"Segment all {CLASS_BY_NAME[class_name].plural}."
    ious = []
    for scene in held_out_scenes(class_name, scenes):
        truth = np.logical_or.reduce([instance.mask for instance in scene.of_class(class_name)])
        reply = engine.chat(scene.image, instruction, max_new_tokens=400)
        masks = [segment.mask for segment in reply.segments]
        predicted = np.logical_or.reduce(masks) if masks else np.zeros_like(truth)
        ious.append(mask_iou(predicted, truth))
    return float(np.mean(ious))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model name or folder, as Engine.load takes it (default: demo)")
    parser.add_argument("--checkpoint", type=Path, help="a training checkpoint folder (model.safetensors) instead")
    parser.add_argument("--preset", default="demo", help="the checkpoint's architecture (default: demo)")
    classes = ("storage tank", "building", "ship", "airplane")
    parser.add_argument("--class", dest="class_name", default="storage tank", choices=classes)
    parser.add_argument("--scenes", type=int, default=5, help="held-out scenes that hold the class")
    args = parser.parse_args()
    if args.model and args.checkpoint:
        parser.error("give --model or --checkpoint, not both")

    engine = load_engine(args.model, args.checkpoint, args.preset)
    decoder = engine.model.mask_predictor.decoder
    shipped = decoder.dynamic_multimask_via_stability
    results = {}
    try:
        for fallback in (True, False):
            decoder.dynamic_multimask_via_stability = fallback
            results[fallback] = union_miou(engine, args.class_name, args.scenes)
    finally:
        decoder.dynamic_multimask_via_stability = shipped
    print(
        f"{engine.name}: held-out {args.class_name} mIoU over {args.scenes} scenes, bare masks: "
        f"{results[True]:.2f} with the dynamic multimask fallback, {results[False]:.2f} without "
        f"(the model's own setting: {'on' if shipped else 'off'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
