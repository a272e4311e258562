"""GeoPix: the released-memory behaviour, the mask side, and the converter on a synthetic published checkpoint.

The fixture writes what Norman-ou/GeoPix-ft-sior_rsicap ships: a top config.json, sub-folders vlm/ (LLaVA with the
pre-4.52 transformers names), seg/, pec/ and clm/ (with the original SAM / memory key names) and the loose .pth
files, from a tiny random GeoPixModel.
"""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from engine.convert import ConversionError, convert_geopix
from engine.model.geopix.decoder import ReleasedMemory
from engine.model.geopix.model import GeoPixConfig, GeoPixModel

from .geopix_published import SEG_IDS, tiny_model, write_published


def test_released_memory_is_layernorm_of_scaled_features():
    memory = ReleasedMemory(4)
    with torch.no_grad():
        memory.scale.copy_(torch.tensor([0.5, 1.0, 2.0, -0.5]))
    x = torch.randn(2, 4, 3, 3)
    scaled = x * (1 + memory.scale.view(1, 4, 1, 1))
    expected = torch.nn.functional.layer_norm(scaled.permute(0, 2, 3, 1), (4,), memory.norm.weight, memory.norm.bias)
    torch.testing.assert_close(memory(x), expected.permute(0, 3, 1, 2))


def test_seg_prompts_mix_three_tokens_per_scale():
    model = tiny_model()
    states = torch.randn(2, 6, 32)
    projected = model.text_hidden_fcs(states)  # tokens 0-2: scale 0, tokens 3-5: scale 1
    w = model.seg_scalars
    expected = torch.stack([sum(w[i] * projected[:, 3 * s + i] for i in range(3)) for s in range(2)], dim=1)
    torch.testing.assert_close(model.seg_prompts(states), expected)


def test_masks_come_from_both_levels_and_the_memory_block_matters():
    model = tiny_model()
    pixels = torch.randn(1, 3, 28, 28)
    with torch.no_grad():
        features = model.image_features(pixels)
        states = torch.randn(3, 6, 32)
        masks = model.predict_masks(features, states)
        assert masks.shape == (3, 16, 16)  # 4 x the 4x4 feature grid
        model.scale_scalars.data = torch.tensor([1.0, 0.0])
        level0 = model.predict_masks(features, states)
        model.scale_scalars.data = torch.tensor([0.0, 1.0])
        level1 = model.predict_masks(features, states)
        model.scale_scalars.data = torch.tensor([0.5, 0.5])
        torch.testing.assert_close(model.predict_masks(features, states), 0.5 * level0 + 0.5 * level1)
        without = tiny_model("none").predict_masks(features, states)
    assert not torch.allclose(without, 0.5 * level0 + 0.5 * level1)


def test_seg_groups_find_complete_runs():
    generated = torch.tensor([5, *SEG_IDS, 7, *SEG_IDS[:3], 8, *SEG_IDS])
    assert GeoPixModel.seg_groups(generated, SEG_IDS) == [1, 12]


def test_unknown_memory_kind():
    with pytest.raises(ValueError, match="memory"):
        GeoPixConfig(memory="learned")


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    model = tiny_model()
    folder = tmp_path_factory.mktemp("geopix") / "GeoPix-ft"
    write_published(folder, model)
    return folder, model


def test_converted_model_has_every_weight_and_the_same_masks(published, tmp_path):
    folder, model = published
    overrides = {"seg_token_ids": SEG_IDS, "feature_size": 4, "feature_layers": [-2, -3], "decoder_heads": 2}
    report = convert_geopix(folder, tmp_path / "out", overrides=overrides)
    assert report.ok
    assert len(report.dropped["class-wise memory parts with no effect in the released code"]) == 4
    assert len(report.dropped["prompt encoder point/box/mask embeddings (GeoPix prompts with [SEG] states only)"]) == 6
    loaded = GeoPixModel.from_pretrained(tmp_path / "out", dtype=torch.float32).eval()
    expected = model.state_dict()
    got = loaded.state_dict()
    assert set(got) == set(expected)
    for key, value in expected.items():
        torch.testing.assert_close(got[key], value, rtol=0, atol=0, msg=key)
    pixels = torch.randn(1, 3, 28, 28)
    states = torch.randn(2, 6, 32)
    with torch.no_grad():
        torch.testing.assert_close(
            loaded.predict_masks(loaded.image_features(pixels), states),
            model.predict_masks(model.image_features(pixels), states),
        )
    assert (tmp_path / "out" / "tokenizer_config.json").is_file()


def test_missing_loose_file_and_unknown_key(published, tmp_path):
    folder, model = published
    broken = tmp_path / "broken"
    write_published(broken, model)
    (broken / "multiscale_scalar.pth").unlink()
    with pytest.raises(ConversionError, match="multiscale_scalar.pth is missing"):
        convert_geopix(broken, tmp_path / "out")
    other = tmp_path / "other"
    write_published(other, model)
    save_file({"mask_decoder.extra_head.weight": torch.ones(2)}, str(other / "seg" / "model.safetensors"))
    with pytest.raises(ConversionError) as caught:
        convert_geopix(other, tmp_path / "out2")
    assert "decoder.extra_head.weight" in caught.value.report.unexpected
    assert not (tmp_path / "out2").exists()


def test_published_geopix_sizes_on_meta():
    from engine.model.geopix.model import geopix_7b_config

    with torch.device("meta"):
        model = GeoPixModel(geopix_7b_config())
    count = sum(p.numel() for p in model.vlm.model.vision_tower.parameters())
    assert count == 303_507_456 - 577 * 1024 + 1025 * 1024  # CLIP ViT-L/14: 577 positions at 336 px, 1025 at 448
    language = sum(p.numel() for p in model.vlm.model.language_model.parameters())
    assert language == 32064 * 4096 + 32 * (4 * 4096 * 4096 + 3 * 4096 * 11008 + 2 * 4096) + 4096
    necks = sum(p.numel() for p in model.neck_rough.parameters())
    assert necks == (1024 * 9 * 512 + 512) + 2 * 512 + (512 * 9 * 256 + 256) + 2 * 256


def test_int8_option_quantizes_the_geopix_language_model():
    pytest.importorskip("torchao")
    from engine.model.geoground.quantization import quantize_llm

    model = tiny_model()
    quantize_llm(model, bits=8)
    layer = model.vlm.model.language_model.layers[0].self_attn.q_proj
    assert type(layer.weight) is not torch.nn.Parameter
    assert type(model.vlm.model.vision_tower.encoder.layers[0].mlp.fc1.weight) is torch.nn.Parameter
