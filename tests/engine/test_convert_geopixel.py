"""The GeoPixel converter on a tiny synthetic checkpoint written in the published layout.

The fixture writes what MBZUAI/GeoPixel-7B ships (sharded ``.bin`` pickles with InternLM-XComposer / SAM2 key names,
``config.json``, ``added_tokens.json``, InternLM2's SentencePiece ``tokenizer.model`` and its side files), including
the unused LoRA branches and the SAM2 video memory, from a tiny random model and a tiny SentencePiece model trained
here with InternLM2's settings. The InternLM2 check below recomputes the fused-``wqkv`` attention with Partial LoRA
from the published tensors, independently of the converter and of transformers.
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors import safe_open

from engine.api import Engine
from engine.convert import ConversionError, convert_geopixel
from engine.convert.cli import add_arguments, run
from engine.convert.geopixel import REPORT_FILE
from engine.model import GeoGroundConfig, GeoGroundModel
from engine.model.geoground.presets import _decoder, geopixel_7b, tiny
from engine.types import Reply

sentencepiece = pytest.importorskip("sentencepiece")

VOCAB, SEG, BOP, EOP = 300, 297, 298, 299
HIDDEN, HEADS, KV_HEADS, LAYERS, RANK = 32, 4, 2, 2, 8
OVERRIDES = {"grounding": tiny()["grounding"], "mask_decoder": _decoder(32, 64, 2), "hd_num": 1, "max_tiles": 1}
INTERNLM2_CONFIG = {
    "architectures": ["GeoPixelForCausalLM"],
    "vocab_size": VOCAB,
    "hidden_size": HIDDEN,
    "intermediate_size": 64,
    "num_hidden_layers": LAYERS,
    "num_attention_heads": HEADS,
    "num_key_value_heads": KV_HEADS,
    "max_position_embeddings": 512,
    "rms_norm_eps": 1e-5,
    "rope_theta": 1000000,
    "rope_scaling": {"type": "dynamic", "factor": 2.0},
    "bias": False,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "pad_token_id": 0,
}


def _source_model() -> GeoGroundModel:
    kwargs = {
        **geopixel_7b(),
        **OVERRIDES,
        "vision": {"image_size": 28, "patch_size": 14, "hidden_size": 16, "num_hidden_layers": 1},
        "llm": {
            "model_type": "llama",
            "vocab_size": VOCAB,
            "hidden_size": HIDDEN,
            "intermediate_size": 64,
            "num_hidden_layers": LAYERS,
            "num_attention_heads": HEADS,
            "num_key_value_heads": KV_HEADS,
        },
        "partial_lora": {"rank": RANK, "alpha": RANK},
    }
    kwargs["vision"].update(num_attention_heads=1, intermediate_size=32)
    torch.manual_seed(0)
    model = GeoGroundModel(GeoGroundConfig(**kwargs))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn_like(parameter) * 0.2)
    return model


def _fuse(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """InternLM2's layout: per kv head, its query heads, then its key head, then its value head."""
    d, per = HIDDEN // HEADS, HEADS // KV_HEADS
    rows = []
    for group in range(KV_HEADS):
        for head in range(group * per, (group + 1) * per):
            rows.append(q[head * d : (head + 1) * d])
        rows.append(k[group * d : (group + 1) * d])
        rows.append(v[group * d : (group + 1) * d])
    return torch.cat(rows)


_SAM_RENAMES = [  # our name piece -> the original SAM2 name piece (specific pieces before generic ones)
    ("mask_embed.conv1", "mask_downscaling.0"),
    ("mask_embed.layer_norm1", "mask_downscaling.1"),
    ("mask_embed.conv2", "mask_downscaling.3"),
    ("mask_embed.layer_norm2", "mask_downscaling.4"),
    ("mask_embed.conv3", "mask_downscaling.6"),
    ("patch_embed.projection", "patch_embed.proj"),
    (".layer_norm1.", ".norm1."),
    (".layer_norm2.", ".norm2."),
    (".layer_norm3.", ".norm3."),
    (".layer_norm4.", ".norm4."),
    ("layer_norm_final_attn", "norm_final_attn"),
    (".o_proj.", ".out_proj."),
    ("upscale_conv1", "output_upscaling.0"),
    ("upscale_layer_norm", "output_upscaling.1"),
    ("upscale_conv2", "output_upscaling.3"),
    ("shared_embedding.positional_embedding", "pe_layer.positional_encoding_gaussian_matrix"),
]


def _sam_name(name: str) -> str:
    for ours, original in _SAM_RENAMES:
        name = name.replace(ours, original)
    deep = re.search(r"(output_hypernetworks_mlps\.\d+|iou_prediction_head|pred_obj_score_head)\.", name)
    if deep:  # three Linear layers: the middle one first, so it is not confused with the renamed first one
        name = name.replace(".layers.0.", ".layers.1.").replace(".proj_in.", ".layers.0.")
        name = name.replace(".proj_out.", ".layers.2.")
    else:  # two Linear layers
        name = name.replace(".mlp.proj_in.", ".mlp.layers.0.").replace(".mlp.proj_out.", ".mlp.layers.1.")
    return name


def to_published(model: GeoGroundModel) -> dict[str, torch.Tensor]:
    """The published GeoPixel state dict of ``model`` (what GeoPixelForCausalLM.state_dict() holds)."""
    ours = {k: v.detach().clone() for k, v in model.state_dict().items()}
    out: dict[str, torch.Tensor] = {
        "model.tok_embeddings.weight": ours.pop("llm.model.embed_tokens.weight"),
        "output.weight": ours.pop("llm.lm_head.weight"),
        "model.norm.weight": ours.pop("llm.model.norm.weight"),
    }
    for i in range(LAYERS):
        a, m, p = f"llm.model.layers.{i}.self_attn.", f"llm.model.layers.{i}.mlp.", f"model.layers.{i}."
        out[p + "attention.wqkv.weight"] = _fuse(*(ours.pop(f"{a}{x}_proj.weight") for x in "qkv"))
        out[p + "attention.wqkv.Plora_A.weight"] = ours.pop(a + "q_proj.Plora_A.weight")
        out[p + "attention.wqkv.Plora_B.weight"] = _fuse(*(ours.pop(f"{a}{x}_proj.Plora_B.weight") for x in "qkv"))
        for source, target in ((a + "o_proj", "attention.wo"), (m + "gate_proj", "feed_forward.w1")):
            for tail in ("weight", "Plora_A.weight", "Plora_B.weight"):
                out[f"{p}{target}.{tail}"] = ours.pop(f"{source}.{tail}")
        for source, target in ((m + "up_proj", "feed_forward.w3"), (m + "down_proj", "feed_forward.w2")):
            for tail in ("weight", "Plora_A.weight", "Plora_B.weight"):
                out[f"{p}{target}.{tail}"] = ours.pop(f"{source}.{tail}")
        for name in ("wqkv", "wo", "w1", "w2", "w3"):  # the branches GeoPixel never uses
            block = "attention" if name in ("wqkv", "wo") else "feed_forward"
            for branch, rank in (("sft", 4), ("dpo", 4), ("web", 6)):
                out[f"{p}{block}.{name}.lora_{branch}_A.weight"] = torch.randn(rank, 8)
                out[f"{p}{block}.{name}.lora_{branch}_B.weight"] = torch.randn(8, rank)
        out[p + "attention_norm.weight"] = ours.pop(f"llm.model.layers.{i}.input_layernorm.weight")
        out[p + "ffn_norm.weight"] = ours.pop(f"llm.model.layers.{i}.post_attention_layernorm.weight")
    width = 4 * model.config.vision["hidden_size"]
    out["plora_glb_GN"] = torch.randn(1, 1, width)
    out["plora_sub_GN"] = torch.randn(1, 1, 1, width)
    ours.pop("visual.global_separator")
    ours.pop("visual.row_separator")
    ours.pop("mask_predictor.class_head.weight")
    ours.pop("mask_predictor.class_head.bias")
    sam = "model.visual_model."
    out[sam + "no_mem_embed"] = ours.pop("grounding.no_memory_embedding").reshape(1, 1, -1)
    points = ours.pop("mask_predictor.prompt_encoder.point_embed.weight")
    for i, row in enumerate(points):
        out[f"{sam}sam_prompt_encoder.point_embeddings.{i}.weight"] = row[None].clone()
    for key in list(ours):
        value = ours.pop(key)
        if key.startswith("visual.encoder."):
            out["vit.vision_tower.vision_model." + key[len("visual.encoder.") :]] = value
        elif key.startswith("visual.projector.mlp."):
            out["vision_proj." + key[len("visual.projector.mlp.") :]] = value
        elif key.startswith("mask_predictor.text_hidden_fcs."):
            out["model.text_hidden_fcs.0." + key[len("mask_predictor.text_hidden_fcs.") :]] = value
        elif key.startswith("grounding.encoder.backbone."):
            out[sam + "image_encoder.trunk." + _sam_name(key[len("grounding.encoder.backbone.") :])] = value
        elif key.startswith("grounding.encoder.neck.convs."):
            index, tail = key[len("grounding.encoder.neck.convs.") :].split(".")
            out[f"{sam}image_encoder.neck.convs.{index}.conv.{tail}"] = value
        elif key.startswith("mask_predictor.prompt_encoder."):
            out[sam + "sam_prompt_encoder." + _sam_name(key[len("mask_predictor.prompt_encoder.") :])] = value
        elif key.startswith("mask_predictor.decoder."):
            out[sam + "sam_mask_decoder." + _sam_name(key[len("mask_predictor.decoder.") :])] = value
        else:
            raise AssertionError(f"the fixture does not know where {key} goes")
    out[sam + "memory_attention.layers.0.self_attn.q_proj.weight"] = torch.randn(4, 4)
    out[sam + "memory_encoder.out_proj.weight"] = torch.randn(4, 4, 1, 1)
    out[sam + "maskmem_tpos_enc"] = torch.randn(7, 1, 1, 4)
    out[sam + "obj_ptr_proj.layers.0.weight"] = torch.randn(4, 4)
    return out


@functools.cache
def _sentencepiece_model(markers: bool = True) -> bytes:
    """An InternLM2-style SentencePiece model (BPE, byte fallback, no dummy prefix, the turn markers as
    user-defined pieces) with exactly SEG pieces, so the added tokens get the ids the checkpoint expects.
    ``markers=False``: the markers are not pieces, so the model splits them."""
    rng = random.Random(0)
    words = "segment all the storage tanks ships near harbour road river".split()
    with tempfile.TemporaryDirectory() as folder:
        corpus = Path(folder) / "corpus.txt"
        corpus.write_text("\n".join(" ".join(rng.choice(words) for _ in range(8)) for _ in range(40)))
        sentencepiece.SentencePieceTrainer.train(
            input=str(corpus),
            model_prefix=str(Path(folder) / "tokenizer"),
            model_type="bpe",
            vocab_size=SEG,
            byte_fallback=True,
            character_coverage=1.0,
            add_dummy_prefix=False,
            remove_extra_whitespaces=False,
            normalization_rule_name="identity",
            user_defined_symbols=["[UNUSED_TOKEN_145]", "[UNUSED_TOKEN_146]"] if markers else [],
            unk_id=0,
            bos_id=1,
            eos_id=2,
            pad_id=-1,
            minloglevel=2,
        )
        return (Path(folder) / "tokenizer.model").read_bytes()


def write_tokenizer(folder, added: bool = True) -> None:
    """InternLM2's tokenizer files as the GeoPixel repositories carry them (the class is remote code we never run)."""
    (folder / "tokenizer.model").write_bytes(_sentencepiece_model())
    config = {
        "auto_map": {"AutoTokenizer": ["tokenization_internlm2.InternLM2Tokenizer", None]},
        "tokenizer_class": "InternLM2Tokenizer",
        "add_bos_token": True,
        "add_eos_token": False,
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "pad_token": "</s>",
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    roles = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<unk>"}
    (folder / "special_tokens_map.json").write_text(json.dumps(roles))
    if added:
        (folder / "added_tokens.json").write_text(json.dumps({"[SEG]": SEG, "<p>": BOP, "</p>": EOP}))


def write_published(folder, state: dict[str, torch.Tensor], tokenizer: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    keys = sorted(state)
    weight_map = {}
    for number, part in enumerate((keys[::2], keys[1::2]), 1):
        name = f"pytorch_model-{number:05d}-of-00002.bin"
        torch.save({k: state[k] for k in part}, folder / name)
        weight_map.update(dict.fromkeys(part, name))
    (folder / "pytorch_model.bin.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    (folder / "config.json").write_text(json.dumps(INTERNLM2_CONFIG))
    (folder / "added_tokens.json").write_text(json.dumps({"[SEG]": SEG, "<p>": BOP, "</p>": EOP}))
    if tokenizer:
        write_tokenizer(folder)


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    model = _source_model()
    state = to_published(model)
    folder = tmp_path_factory.mktemp("geopixel") / "GeoPixel-7B"
    write_published(folder, state)
    return folder, state, model


@pytest.fixture(scope="module")
def converted(published, tmp_path_factory):
    folder, _, _ = published
    output = tmp_path_factory.mktemp("converted") / "geopixel"
    report = convert_geopixel(folder, output, overrides=OVERRIDES)
    return output, report


def test_fixture_uses_the_original_sam2_names(published):
    _, state, _ = published
    for key in (
        "model.visual_model.image_encoder.trunk.blocks.0.mlp.layers.1.weight",
        "model.visual_model.sam_mask_decoder.output_hypernetworks_mlps.0.layers.2.weight",
        "model.visual_model.sam_mask_decoder.iou_prediction_head.layers.1.weight",
        "model.visual_model.sam_mask_decoder.transformer.layers.0.cross_attn_token_to_image.out_proj.weight",
        "model.visual_model.sam_prompt_encoder.mask_downscaling.6.weight",
    ):
        assert key in state


def test_every_weight_is_copied_or_derived(published, converted):
    _, state, model = published
    output, report = converted
    loaded = GeoGroundModel.from_pretrained(output, dtype=torch.float32)
    expected = model.state_dict()
    got = loaded.state_dict()
    assert set(got) == set(expected)
    derived = {"visual.global_separator", "visual.row_separator", "mask_predictor.class_head.weight"}
    derived.add("mask_predictor.class_head.bias")
    for key, value in expected.items():
        if key not in derived:
            torch.testing.assert_close(got[key], value, rtol=0, atol=0, msg=key)
    w0, b0, w2, b2 = (state[f"vision_proj.{i}.{t}"] for i in (0, 2) for t in ("weight", "bias"))
    for source, target in (("plora_glb_GN", "visual.global_separator"), ("plora_sub_GN", "visual.row_separator")):
        projected = F.linear(F.gelu(F.linear(state[source].reshape(-1), w0, b0)), w2, b2)
        torch.testing.assert_close(got[target], projected)
    assert not got["mask_predictor.class_head.weight"].any()
    assert loaded.config.seg_token_id == SEG and loaded.config.phrase_start_token_id == BOP
    assert loaded.config.partial_lora == {"rank": RANK, "alpha": RANK}


def test_report_accounts_for_every_source_key(published, converted):
    _, state, model = published
    output, report = converted
    assert report.ok and not report.missing and not report.unexpected
    assert report.source_keys == len(state)
    assert len(report.dropped["unused LoRA branch (lora_sft/lora_dpo/lora_web)"]) == LAYERS * 5 * 6
    assert len(report.dropped["SAM2 video-tracking memory (unused on single images)"]) == 4
    assert report.written_keys == len(model.state_dict())
    saved = json.loads((output / REPORT_FILE).read_text())
    assert saved["missing"] == [] and saved["unexpected"] == []


def _rms(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return weight * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5)


def _internlm2_hidden(state: dict[str, torch.Tensor], x: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """InternLM2 with Partial LoRA, straight from the published tensors (fused wqkv, no transformers)."""
    d, per = HIDDEN // HEADS, HEADS // KV_HEADS
    positions = torch.arange(x.shape[0], dtype=torch.float32)
    inv = 1.0 / (1000000.0 ** (torch.arange(0, d, 2, dtype=torch.float32) / d))
    angles = torch.cat([positions[:, None] * inv] * 2, dim=-1)
    cos, sin = angles.cos(), angles.sin()

    def rotate(t: torch.Tensor) -> torch.Tensor:
        half = t.shape[-1] // 2
        return t * cos + torch.cat([-t[..., half:], t[..., :half]], -1) * sin

    def plora(prefix: str, h: torch.Tensor) -> torch.Tensor:
        out = h @ state[prefix + ".weight"].T
        low = h[image] @ state[prefix + ".Plora_A.weight"].T @ state[prefix + ".Plora_B.weight"].T
        out[image] += low  # alpha == r: scaling 1
        return out

    causal = torch.ones(x.shape[0], x.shape[0], dtype=torch.bool).tril()
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        h = _rms(x, state[p + "attention_norm.weight"])
        qkv = plora(p + "attention.wqkv", h).reshape(-1, KV_HEADS, per + 2, d)
        q = rotate(qkv[:, :, :per].reshape(-1, HEADS, d).transpose(0, 1))
        k = rotate(qkv[:, :, per].transpose(0, 1)).repeat_interleave(per, 0)
        v = qkv[:, :, per + 1].transpose(0, 1).repeat_interleave(per, 0)
        scores = (q @ k.transpose(1, 2) / d**0.5).masked_fill(~causal, float("-inf"))
        attended = (scores.softmax(-1) @ v).transpose(0, 1).reshape(-1, HIDDEN)
        x = x + plora(p + "attention.wo", attended)
        h = _rms(x, state[p + "ffn_norm.weight"])
        x = x + plora(p + "feed_forward.w2", F.silu(plora(p + "feed_forward.w1", h)) * plora(p + "feed_forward.w3", h))
    return _rms(x, state["model.norm.weight"])


def test_converted_llm_computes_internlm2_with_partial_lora(published, converted):
    _, state, _ = published
    output, _ = converted
    model = GeoGroundModel.from_pretrained(output, dtype=torch.float32).eval()
    torch.manual_seed(1)
    x = torch.randn(12, HIDDEN)
    image = torch.zeros(12, dtype=torch.bool)
    image[1:7] = True
    expected = _internlm2_hidden(state, x, image)
    with torch.no_grad():
        got = model.decoder_for(image[None])(inputs_embeds=x[None], use_cache=False).last_hidden_state[0]
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)
    with torch.no_grad():
        text_only = model.decoder_for(torch.zeros_like(image)[None])(inputs_embeds=x[None], use_cache=False)
    text_only = text_only.last_hidden_state[0]
    assert not torch.allclose(text_only[1:], expected[1:], atol=1e-3)  # the image-only LoRA really matters


def test_unknown_key_stops_before_writing(published, tmp_path):
    _, state, _ = published
    folder = tmp_path / "bad"
    write_published(folder, {**state, "model.visual_model.sam_mask_decoder.new_head.weight": torch.ones(2)})
    with pytest.raises(ConversionError, match="unexpected: 1") as caught:
        convert_geopixel(folder, tmp_path / "out", overrides=OVERRIDES)
    assert caught.value.report.unexpected == ["model.visual_model.sam_mask_decoder.new_head.weight"]
    assert not (tmp_path / "out").exists()


def test_missing_key_is_reported(published, tmp_path):
    _, state, _ = published
    folder = tmp_path / "incomplete"
    write_published(folder, {k: v for k, v in state.items() if k != "model.layers.1.feed_forward.w2.weight"})
    with pytest.raises(ConversionError) as caught:
        convert_geopixel(folder, tmp_path / "out", overrides=OVERRIDES)
    assert caught.value.report.missing == ["llm.model.layers.1.mlp.down_proj.weight"]


class _Payload:
    def __reduce__(self):
        return (print, ("this pickle runs code",))


def test_pickles_with_code_are_refused(published, tmp_path):
    folder = tmp_path / "unsafe"
    write_published(folder, published[1])
    shard = folder / "pytorch_model-00001-of-00002.bin"
    torch.save({"model.norm.weight": _Payload()}, shard)
    with pytest.raises(ConversionError, match="not a plain tensor checkpoint"):
        convert_geopixel(folder, tmp_path / "out", overrides=OVERRIDES)


def test_dtype_option_casts_the_written_weights(published, tmp_path):
    folder, _, _ = published
    convert_geopixel(folder, tmp_path / "bf16", dtype=torch.bfloat16, overrides=OVERRIDES)
    shards = sorted((tmp_path / "bf16").glob("model-*.safetensors"))
    assert len(shards) == 3  # the two input shards plus one of derived weights
    with safe_open(str(shards[0]), "pt") as handle:
        assert {handle.get_tensor(name).dtype for name in handle.keys()} == {torch.bfloat16}


def test_not_a_checkpoint_folder(tmp_path):
    with pytest.raises(ConversionError, match="neither"):
        convert_geopixel(tmp_path, tmp_path / "out")


def test_command_line_converts_and_refuses_a_used_folder(published, tmp_path, capsys):
    folder, _, _ = published
    overrides = tmp_path / "overrides.json"
    overrides.write_text(json.dumps(OVERRIDES))
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    output = tmp_path / "model"
    assert run(parser.parse_args(["geopixel", str(folder), str(output), "--overrides", str(overrides)])) == 0
    assert "missing: 0" in capsys.readouterr().out
    assert (output / "model.safetensors.index.json").is_file()
    assert run(parser.parse_args(["geopixel", str(folder), str(output)])) == 2
    assert "not empty" in capsys.readouterr().err


def test_converted_folder_carries_the_tokenizer(converted):
    from transformers import PreTrainedTokenizerFast

    output, report = converted
    tokenizer = PreTrainedTokenizerFast.from_pretrained(output)
    assert len(tokenizer) == VOCAB
    assert [tokenizer.convert_tokens_to_ids(t) for t in ("[SEG]", "<p>", "</p>")] == [SEG, BOP, EOP]
    start = tokenizer("[UNUSED_TOKEN_146]user\n", add_special_tokens=False)["input_ids"]
    assert start[0] == 4 and len(tokenizer("[UNUSED_TOKEN_146]", add_special_tokens=False)["input_ids"]) == 1
    saved = json.loads((output / REPORT_FILE).read_text())["tokenizer"]
    assert saved["tokens"] == VOCAB and saved["added_tokens"]["[SEG]"] == SEG
    assert f"tokenizer: {VOCAB} tokens" in report.summary()


def test_engine_loads_and_chats_with_the_converted_folder(converted):
    from engine.model.chat import INTERNLM2_TEMPLATE, encode, template_for
    from engine.types import Turn

    output, _ = converted
    engine = Engine.load(str(output), device="cpu")
    assert template_for(engine.model.config) is INTERNLM2_TEMPLATE
    ids, _ = encode(engine.tokenizer, [Turn("user", "segment all ships")], template=INTERNLM2_TEMPLATE)
    assert ids[0] == engine.tokenizer.convert_tokens_to_ids("[UNUSED_TOKEN_146]")
    assert engine.tokenizer.decode(ids) == "[UNUSED_TOKEN_146]user\nsegment all ships[UNUSED_TOKEN_145]\n" + (
        "[UNUSED_TOKEN_146]assistant\n"
    )
    image = np.random.default_rng(0).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    reply = engine.chat(image, "segment all storage tanks", max_new_tokens=3)
    assert isinstance(reply, Reply) and isinstance(reply.raw_text, str)
    for segment in reply.segments:
        assert segment.mask.shape == image.shape[:2]


def test_tokenizer_from_another_folder(published, tmp_path, capsys):
    """The weights folder lacks tokenizer.model: refused before writing, then taken from the base model's folder."""
    _, state, _ = published
    weights = tmp_path / "GeoPixel-7B"
    write_published(weights, state, tokenizer=False)
    with pytest.raises(ConversionError, match=r"no tokenizer\.model.*--tokenizer"):
        convert_geopixel(weights, tmp_path / "refused", overrides=OVERRIDES)
    assert not (tmp_path / "refused").exists()
    base = tmp_path / "internlm-xcomposer2d5-7b"
    base.mkdir()
    write_tokenizer(base, added=False)  # the base model knows nothing of [SEG], <p>, </p>
    overrides = tmp_path / "overrides.json"
    overrides.write_text(json.dumps(OVERRIDES))
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    output = tmp_path / "model"
    args = ["geopixel", str(weights), str(output), "--overrides", str(overrides), "--tokenizer", str(base)]
    assert run(parser.parse_args(args)) == 0
    assert f"tokenizer: {VOCAB} tokens from {base / 'tokenizer.model'}" in capsys.readouterr().out
    engine = Engine.load(str(output), device="cpu")
    assert engine.tokenizer("a[SEG]", add_special_tokens=False)["input_ids"][-1] == SEG


def test_tokenizer_that_does_not_fit_the_checkpoint_is_refused(published, tmp_path):
    _, state, _ = published
    folder = tmp_path / "too-many-tokens"
    write_published(folder, state)
    (folder / "added_tokens.json").write_text(json.dumps({"[SEG]": SEG, "<p>": BOP, "</p>": EOP, "<x>": VOCAB}))
    with pytest.raises(ConversionError, match=f"301 tokens but the checkpoint embeds only {VOCAB}"):
        convert_geopixel(folder, tmp_path / "out", overrides=OVERRIDES)
    assert not (tmp_path / "out").exists()


def test_tokenizer_that_splits_the_turn_markers_is_refused(published, tmp_path):
    _, state, _ = published
    folder = tmp_path / "plain-pieces"
    write_published(folder, state)
    (folder / "tokenizer.model").write_bytes(_sentencepiece_model(markers=False))
    with pytest.raises(ConversionError, match=r"splits \[UNUSED_TOKEN_146\] into \d+ tokens"):
        convert_geopixel(folder, tmp_path / "out", overrides=OVERRIDES)
    assert not (tmp_path / "out").exists()


def test_tokenizer_ids_must_match_the_checkpoint(published, tmp_path):
    folder, _, _ = published
    overrides = {**OVERRIDES, "seg_token_id": SEG - 1}  # a config that expects [SEG] elsewhere
    with pytest.raises(ConversionError, match=f"gives \\[SEG\\] the id {SEG}, the checkpoint expects {SEG - 1}"):
        convert_geopixel(folder, tmp_path / "out", overrides=overrides)
    assert not (tmp_path / "out").exists()
