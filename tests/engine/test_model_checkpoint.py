"""safetensors save/load is exact; models load from a folder, from an offline hub cache, or fail clearly."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from engine.hub.registry import ModelNotFoundError, load_model, resolve
from engine.model import GeoGroundModel, encode, generate
from engine.types import Turn


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    model, tokenizer, _ = load_model("tiny")
    folder = tmp_path_factory.mktemp("tiny-model")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return model, tokenizer, folder


def _answer(model, tokenizer):
    image = np.random.default_rng(5).integers(0, 256, (70, 90, 3), dtype=np.uint8)
    with torch.no_grad():
        features = model.encode_image(image)
        ids, _ = encode(tokenizer, [Turn("user", "Where are the ships?")])
        embeds = torch.cat([features.tokens, model.embed_tokens(torch.tensor(ids))])[None]
    return generate(model, tokenizer, embeds, max_new_tokens=8).token_ids


def test_round_trip_is_exact(saved):
    model, tokenizer, folder = saved
    assert (folder / "model.safetensors").is_file()
    assert not list(folder.glob("*.bin"))
    loaded, loaded_tokenizer, source = load_model(str(folder))
    assert source.folder == folder
    original, restored = model.state_dict(), loaded.state_dict()
    assert original.keys() == restored.keys()
    for key in original:
        assert torch.equal(original[key], restored[key]), key
    assert loaded.config.to_dict()["llm"] == model.config.to_dict()["llm"]
    assert loaded.config.seg_token_id == model.config.seg_token_id
    text = "The <p> tank </p> [SEG] é"
    assert loaded_tokenizer(text)["input_ids"] == tokenizer(text)["input_ids"]
    assert _answer(loaded, loaded_tokenizer) == _answer(model, tokenizer)


def test_tiny_is_seeded_deterministically():
    first, _, source = load_model("tiny")
    second, _, _ = load_model("tiny")
    assert "random weights" in source.name
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values()):
        assert torch.equal(a, b), name


def test_loads_a_hub_id_from_an_offline_cache(saved, tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    model, _, folder = saved
    revision = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "models--geo-org--tiny-test"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(revision)
    shutil.copytree(folder, repo / "snapshots" / revision)
    loaded, _, source = load_model("geo-org/tiny-test", cache_dir=tmp_path)
    assert source.name == "geo-org/tiny-test"
    assert torch.equal(loaded.llm.lm_head.weight, model.llm.lm_head.weight)
    pinned, _, _ = load_model(f"geo-org/tiny-test@{revision}", cache_dir=tmp_path)
    assert torch.equal(pinned.llm.lm_head.weight, model.llm.lm_head.weight)
    with pytest.raises(ModelNotFoundError, match="geo-org/missing"):
        resolve("geo-org/missing", cache_dir=tmp_path)
    with pytest.raises(ModelNotFoundError, match="tiny-test"):
        resolve("geo-org/tiny-test@" + "f" * 40, cache_dir=tmp_path)  # a revision the cache does not hold


def test_unknown_names_list_what_is_valid(tmp_path):
    with pytest.raises(ModelNotFoundError, match="valid: presets tiny, demo"):
        resolve("no such model!")
    with pytest.raises(ModelNotFoundError, match="no config.json"):
        resolve(str(tmp_path))
    assert issubclass(ModelNotFoundError, ValueError)


def test_shipped_preset_without_weights_says_so(monkeypatch, tmp_path):
    import engine.hub.registry as registry

    monkeypatch.setattr(registry, "PRETRAINED_DIR", tmp_path)
    with pytest.raises(ModelNotFoundError, match="demo model weights are not installed"):
        resolve("demo")


def test_folder_with_another_model_type_is_refused(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "llama"}')
    with pytest.raises(ModelNotFoundError, match="holds a .llama. model, not a GeoGround or converted GeoPix model"):
        resolve(str(tmp_path))
    assert GeoGroundModel.config_class.model_type == "geoground"
