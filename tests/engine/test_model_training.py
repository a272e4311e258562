"""Training forward: all losses, gradients everywhere they should go, the class-wise memory and its switch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine.model import GeoGroundModel, build_tokenizer, encode, preset_config
from engine.model.chat import IGNORE_INDEX
from engine.model.geoground.modeling import dice_loss
from engine.types import Turn

ANSWER = "The <p> tank </p> [SEG] is next to the <p> ship </p> [SEG]."


def _sample(tokenizer, shape=(97, 131)):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    ids, labels = encode(tokenizer, [Turn("user", "Segment tanks and ships."), Turn("assistant", ANSWER)], None, False)
    masks = torch.zeros(2, *shape)
    masks[0, 10:40, 20:60] = 1
    masks[1, 50:90, 70:120] = 1
    return image, torch.tensor(ids), torch.tensor(labels), masks


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    config = preset_config("tiny")
    return GeoGroundModel(config), build_tokenizer(config)


def test_forward_backward_with_all_losses(tiny):
    model, tokenizer = tiny
    model.train()
    model.zero_grad()
    image, ids, labels, masks = _sample(tokenizer)
    out = model(
        images=[image, image[:60]],
        input_ids=[ids, ids],
        labels=[labels, labels],
        masks=[masks, masks[:, :60]],
        class_ids=[torch.tensor([0, 3]), torch.tensor([0, -1])],
    )
    for name in ("ce_loss", "bce_loss", "dice_loss", "class_loss"):
        value = getattr(out, name)
        assert torch.isfinite(value) and value > 0, name
    config = model.config
    expected = (
        config.ce_loss_weight * out.ce_loss
        + config.bce_loss_weight * out.bce_loss
        + config.dice_loss_weight * out.dice_loss
        + config.class_loss_weight * out.class_loss
    )
    torch.testing.assert_close(out.loss, expected)
    assert out.seg_states.shape == (4, config.llm_hidden_size)
    out.loss.backward()
    for part in (
        "visual.projector",
        "visual.encoder",
        "llm",
        "grounding",
        "mask_predictor.decoder",
        "mask_predictor.text_hidden_fcs",
        "mask_predictor.class_head",
        "mask_predictor.memory",
    ):
        grads = [p.grad for n, p in model.named_parameters() if n.startswith(part) and p.grad is not None]
        assert grads and any(g.abs().sum() > 0 for g in grads), part


def test_an_empty_target_mask_is_learned_through_bce_and_left_out_of_dice(tiny):
    model, tokenizer = tiny
    image, ids, labels, masks = _sample(tokenizer)
    empty_second = masks.clone()
    empty_second[1] = 0
    kwargs = {"images": [image], "input_ids": [ids], "labels": [labels]}
    both = model(**kwargs, masks=[masks])
    one = model(**kwargs, masks=[empty_second])
    first_only = model(**kwargs, masks=[masks[:1].repeat(2, 1, 1)])
    # Dice averages over the non-empty target only; BCE still sees the empty one (and differs from the full case).
    torch.testing.assert_close(one.dice_loss, dice_loss(both.masks.logits_at(0, masks.shape[1:]), masks[0]))
    torch.testing.assert_close(first_only.dice_loss, one.dice_loss)
    size = masks.shape[1:]
    expected_bce = torch.stack(
        [F.binary_cross_entropy_with_logits(one.masks.logits_at(n, size), empty_second[n]) for n in range(2)]
    ).mean()
    torch.testing.assert_close(one.bce_loss, expected_bce)
    none = model(**kwargs, masks=[torch.zeros_like(masks)])
    assert float(none.dice_loss) == 0.0 and float(none.bce_loss) > 0
    model.zero_grad()
    none.loss.backward()
    decoder_grads = [p.grad for n, p in model.named_parameters() if n.startswith("mask_predictor.decoder")]
    assert any(g is not None and bool(g.abs().sum() > 0) for g in decoder_grads)


def test_labels_cover_only_the_answer(tiny):
    _, tokenizer = tiny
    _, ids, labels, _ = _sample(tokenizer)
    learned = tokenizer.decode([int(i) for i, label in zip(ids, labels) if label != IGNORE_INDEX])
    assert learned == ANSWER + "<|end|>"


def test_seg_count_must_match_masks(tiny):
    model, tokenizer = tiny
    image, ids, labels, masks = _sample(tokenizer)
    with pytest.raises(ValueError, match="2 \\[SEG\\] tokens but 1 ground-truth masks"):
        model(images=[image], input_ids=[ids], labels=[labels], masks=[masks[:1]])


def test_training_writes_only_the_ground_truth_class_memory(tiny):
    model, tokenizer = tiny
    model.train()
    model.zero_grad()
    image, ids, labels, masks = _sample(tokenizer)
    out = model(images=[image], input_ids=[ids], labels=[labels], masks=[masks], class_ids=[torch.tensor([2, 5])])
    out.loss.backward()
    per_class = model.mask_predictor.memory.bank.grad.abs().sum(dim=(1, 2))
    touched = set(torch.nonzero(per_class).flatten().tolist())
    assert touched == {2, 5}


@pytest.mark.parametrize("shape", [(97, 131), (33, 257), (1, 5)])
def test_mask_logits_come_back_at_the_input_size(tiny, shape):
    model, tokenizer = tiny
    model.eval()
    image = np.random.default_rng(3).integers(0, 256, (*shape, 3), dtype=np.uint8)
    with torch.no_grad():
        features = model.encode_image(image)
        states = torch.randn(2, model.config.llm_hidden_size)
        prediction = model.seg_masks([features], states, torch.zeros(2, dtype=torch.long))
    assert prediction.logits_at(1, features.size).shape == shape
    assert prediction.iou.shape == (2,) and prediction.class_logits.shape == (2, len(model.config.class_names))


def _decode(model, features, states):
    with torch.no_grad():
        return model.seg_masks([features], states, torch.zeros(len(states), dtype=torch.long)).low_res_logits


def test_memory_switch_and_bank_change_the_masks(tiny):
    model, _ = tiny
    model.eval()
    image = np.random.default_rng(4).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    states = torch.randn(2, model.config.llm_hidden_size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        features = model.encode_image(image)
    bank = model.mask_predictor.memory.bank
    original = bank.detach().clone()
    try:
        with_memory = _decode(model, features, states)
        with torch.no_grad():
            bank.mul_(-1.0)
        changed_bank = _decode(model, features, states)
        model.config.use_class_memory = False
        without_memory = _decode(model, features, states)
        with torch.no_grad():
            bank.copy_(original)
        without_memory_again = _decode(model, features, states)
    finally:
        model.config.use_class_memory = True
        with torch.no_grad():
            bank.copy_(original)

    # an untrained decoder's logits are tiny (about 1e-4), so differences are measured relative to their size
    def relative_change(a, b):
        return float((a - b).norm() / a.norm())

    assert relative_change(with_memory, without_memory) > 0.05
    assert relative_change(with_memory, changed_bank) > 0.05  # the memory content matters
    torch.testing.assert_close(without_memory, without_memory_again, rtol=0, atol=0)  # switched off: bank ignored


def test_memory_can_be_left_out_of_the_model():
    config = preset_config("tiny", use_class_memory=False)
    model = GeoGroundModel(config)
    assert model.mask_predictor.memory is None
    assert not any("memory.bank" in name for name in model.state_dict())


def test_tiny_is_a_few_million_parameters(tiny):
    model, _ = tiny
    assert 1e6 < sum(p.numel() for p in model.parameters()) < 5e6
