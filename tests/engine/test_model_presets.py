"""Presets instantiate: 7B-class layouts on the meta device with their parameter counts, demo at its size."""

from __future__ import annotations

import pytest
import torch

from engine.model import PRESETS, GeoGroundModel, preset_config


@pytest.mark.parametrize(
    ("name", "llm_range"),
    [("geopixel-7b-arch", (7.0e9, 8.5e9)), ("geopix-7b-arch", (6.5e9, 7.0e9)), ("demo", (2.0e6, 5.0e6))],
)
def test_presets_instantiate_on_meta_with_counts(name, llm_range):
    config = preset_config(name)
    with torch.device("meta"):
        model = GeoGroundModel(config)
    counts = model.parameter_counts()
    assert llm_range[0] < counts["llm"] < llm_range[1]
    parts = sum(value for key, value in counts.items() if key != "total")
    assert parts == counts["total"]
    assert all(p.device.type == "meta" for p in model.parameters())


def test_geopixel_layout_matches_the_published_shapes():
    config = preset_config("geopixel-7b-arch")
    with torch.device("meta"):
        model = GeoGroundModel(config)
    assert model.visual.projector.mlp[0].weight.shape == (4096, 4096)  # 2x2 merge of 1024 channels
    assert model.visual.tokens_per_side == 20  # 560 px / 14 px patches / 2
    fcs = model.mask_predictor.text_hidden_fcs
    assert fcs[0].weight.shape == (4096, 4096) and fcs[2].weight.shape == (256, 4096)
    assert model.llm.config.num_key_value_heads == 8 and model.llm.config.num_hidden_layers == 32


def test_unknown_preset_is_a_clear_error():
    with pytest.raises(ValueError, match="valid presets: " + ", ".join(PRESETS)):
        preset_config("huge")


def test_our_decoders_answer_with_their_trained_single_mask_in_eval_mode():
    """SAM2's dynamic multimask fallback is for SAM2-trained decoders (GeoPixel); ours train only the single-mask
    output, so in eval mode they must give exactly what they give in training mode, unstable or not."""
    import numpy as np

    assert preset_config("geopixel-7b-arch").mask_decoder_config().dynamic_multimask_via_stability
    torch.manual_seed(0)
    model = GeoGroundModel(preset_config("tiny"))
    assert not model.mask_predictor.decoder.dynamic_multimask_via_stability
    image = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    states = torch.randn(3, model.config.llm_hidden_size)
    index = torch.zeros(3, dtype=torch.long)
    with torch.no_grad():
        features = model.encode_image(image)
        model.train()
        trained = model.seg_masks([features], states, index).low_res_logits
        model.eval()
        answered = model.seg_masks([features], states, index).low_res_logits
    torch.testing.assert_close(answered, trained)
    model.mask_predictor.decoder.dynamic_multimask_via_stability = True  # the fallback does change these masks
    with torch.no_grad():
        fallback = model.seg_masks([features], states, index).low_res_logits
    assert not torch.allclose(fallback, trained)


def test_presets_that_put_bos_before_the_image_know_its_id():
    for name in PRESETS:
        config = preset_config(name)
        if config.bos_before_image:
            assert config.bos_token_id == config.llm["bos_token_id"], name
