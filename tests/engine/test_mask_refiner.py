"""The mask refiner: no effect until trained, no effect on the other parts' start, and detail the decoder's
quarter-resolution logits cannot hold."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from engine.model import GeoGroundModel, build_tokenizer, encode, preset_config
from engine.model.geoground.mask_refiner import MaskRefiner
from engine.train.recipe import set_trainable
from engine.types import Turn

REFINER = {"channels": 8, "dilations": [1, 2]}


def _models() -> tuple[GeoGroundModel, GeoGroundModel, torch.Tensor, torch.Tensor]:
    """The tiny model built from seed 0 without and with a refiner, and the global RNG's next draw after each."""
    torch.manual_seed(0)
    plain = GeoGroundModel(preset_config("tiny"))
    after_plain = torch.rand(4)
    torch.manual_seed(0)
    refined = GeoGroundModel(preset_config("tiny", mask_refiner=REFINER))
    after_refined = torch.rand(4)
    return plain, refined, after_plain, after_refined


def _step_inputs(tokenizer, size: int):
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    turns = [Turn("user", "Segment all tanks."), Turn("assistant", "Sure, <p> tanks </p> [SEG].")]
    ids, labels = encode(tokenizer, turns, None, False)
    masks = torch.zeros(1, size, size)
    masks[0, 30:90, 40:140] = 1
    return image, torch.tensor(ids), torch.tensor(labels), masks


def test_adding_a_refiner_leaves_every_other_initial_weight_and_the_rng_unchanged():
    plain, refined, after_plain, after_refined = _models()
    plain_state, refined_state = plain.state_dict(), refined.state_dict()
    extra = set(refined_state) - set(plain_state)
    assert extra and all(key.startswith("mask_refiner.") for key in extra)
    assert all(torch.equal(plain_state[key], refined_state[key]) for key in plain_state)
    assert torch.equal(after_plain, after_refined)
    assert refined.parameter_counts()["mask_refiner"] == sum(p.numel() for p in refined.mask_refiner.parameters())


def test_an_untrained_refiner_changes_neither_the_losses_nor_the_gradients():
    plain, refined, _, _ = _models()
    tokenizer = build_tokenizer(plain.config)
    size = plain.config.grounding_image_size
    image, ids, labels, masks = _step_inputs(tokenizer, size)
    results = []
    for model in (plain, refined):
        model.train()
        set_trainable(model, ["grounding", "mask_predictor"])  # the refiner stays frozen, as before its stage
        out = model(images=[image], input_ids=[ids], labels=[labels], masks=[masks])
        out.loss.backward()
        assert out.masks.low_res_logits.shape[-1] == (size if model is refined else size // 4)
        grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
        results.append((out.bce_loss.detach(), out.dice_loss.detach(), grads))
    (bce_a, dice_a, grads_a), (bce_b, dice_b, grads_b) = results
    torch.testing.assert_close(bce_b, bce_a, rtol=0, atol=1e-6)
    torch.testing.assert_close(dice_b, dice_a, rtol=0, atol=1e-6)
    assert set(grads_a) == set(grads_b) and not any(n.startswith("mask_refiner.") for n in grads_b)
    for name, grad in grads_a.items():
        torch.testing.assert_close(grads_b[name], grad, rtol=1e-5, atol=1e-7)


def test_the_refiner_learns_lines_thinner_than_a_mask_cell():
    # A one-pixel grid of bright lines: at a quarter of the resolution the best coarse mask is a blur that no
    # threshold turns into the lines; the refiner sees the pixels and can draw them.
    torch.manual_seed(0)
    size = 32
    target = torch.zeros(1, size, size)
    target[:, 5, :] = target[:, 18, :] = target[:, :, 9] = target[:, :, 26] = 1
    pixels = torch.randn(1, 3, size, size) * 0.2 + 2.0 * target[:, None]
    coarse = torch.logit(F.avg_pool2d(target[:, None], 4)[:, 0].clamp(0.02, 0.98))
    refiner = MaskRefiner(**REFINER)

    def iou(logits: torch.Tensor) -> float:
        pred, truth = logits > 0, target > 0.5
        return float((pred & truth).sum() / (pred | truth).sum().clamp(min=1))

    start = refiner(coarse, pixels)
    torch.testing.assert_close(start, F.interpolate(coarse[:, None], size=(size, size), mode="bilinear")[:, 0])
    assert iou(start) < 0.5
    optimizer = torch.optim.Adam(refiner.parameters(), lr=1e-2)
    for _ in range(150):
        optimizer.zero_grad()
        F.binary_cross_entropy_with_logits(refiner(coarse, pixels), target).backward()
        optimizer.step()
    assert iou(refiner(coarse, pixels).detach()) > 0.9


def test_the_refiner_trains_alone_by_its_prefix_and_survives_save_and_load(tmp_path):
    _, model, _, _ = _models()
    count = set_trainable(model, ["mask_refiner"])
    assert count == sum(p.numel() for p in model.mask_refiner.parameters())
    with torch.no_grad():
        model.mask_refiner.out.weight.normal_()
    model.save_pretrained(tmp_path)
    loaded = GeoGroundModel.from_pretrained(tmp_path)
    assert loaded.config.mask_refiner == REFINER
    assert torch.equal(loaded.mask_refiner.out.weight, model.mask_refiner.out.weight)


def test_the_demo_preset_refines_and_the_published_layouts_do_not():
    assert preset_config("demo").mask_refiner
    assert preset_config("tiny").mask_refiner is None
    assert preset_config("geopixel-7b-arch").mask_refiner is None
