"""GeoPixel in our model family: Partial LoRA, the image prefix, the InternLM2 template and the 7B layout."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import DynamicCache

from engine.model import GeoGroundConfig, GeoGroundModel, preset_config
from engine.model.geoground.internlm2 import (
    GROUNDED_DESCRIPTION_PROMPT,
    IM_END,
    IM_START,
    llama_kwargs,
    referring_prompt,
    render,
    split_wqkv,
)
from engine.model.geoground.plora import ImageTokenMask, PartialLoRALinear, apply_partial_lora
from engine.model.geoground.presets import _decoder, geopixel_7b, tiny
from engine.types import Turn


def tiny_geopixel() -> GeoGroundModel:
    kwargs = {
        **geopixel_7b(),
        "vision": tiny()["vision"],
        "llm": {**tiny()["llm"], "vocab_size": 300, "num_hidden_layers": 2},
        "grounding": tiny()["grounding"],
        "mask_decoder": _decoder(64, 128, 2),
        "partial_lora": {"rank": 4, "alpha": 8},
        "hd_num": 1,
        "max_tiles": 1,
    }
    torch.manual_seed(0)
    model = GeoGroundModel(GeoGroundConfig(**kwargs, bos_token_id=1, eos_token_id=2, pad_token_id=0, seg_token_id=297))
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "Plora_B" in name:  # non-zero so the low-rank update is visible
                parameter.normal_(std=0.05)
    return model.eval()


def test_partial_lora_changes_only_image_rows():
    mask = ImageTokenMask()
    layer = PartialLoRALinear(6, 5, bias=True, rank=3, alpha=6, image_mask=mask)
    torch.nn.init.normal_(layer.Plora_B.weight)
    x = torch.randn(2, 4, 6)
    plain = torch.nn.functional.linear(x, layer.weight, layer.bias)
    rows = torch.tensor([[False, True, True, False], [True, False, False, False]])
    with mask.active(rows):
        out = layer(x)
    torch.testing.assert_close(out[~rows], plain[~rows])
    update = layer.Plora_B(layer.Plora_A(x[rows])) * 2.0  # alpha / rank
    torch.testing.assert_close(out[rows], plain[rows] + update)
    torch.testing.assert_close(layer(x), plain)  # outside the block nothing is an image token


def test_key_and_value_borrow_the_query_lora_a():
    model = tiny_geopixel()
    keys = model.state_dict().keys()
    assert "llm.model.layers.0.self_attn.q_proj.Plora_A.weight" in keys
    assert "llm.model.layers.0.self_attn.k_proj.Plora_B.weight" in keys
    assert not any(key.endswith("k_proj.Plora_A.weight") or key.endswith("v_proj.Plora_A.weight") for key in keys)
    attention = model.llm.model.layers[0].self_attn
    x = torch.randn(1, 3, attention.k_proj.in_features)
    with model.image_token_mask.active(torch.ones(1, 3, dtype=torch.bool)):
        before = attention.k_proj(x)
        with torch.no_grad():
            attention.q_proj.Plora_A.weight.add_(1.0)
        after = attention.k_proj(x)
    assert not torch.allclose(before, after)


def test_apply_rejects_a_zero_rank():
    with pytest.raises(ValueError, match="rank"):
        apply_partial_lora(tiny_geopixel().llm, 0, 1)


def test_image_prefix_starts_with_bos_and_only_image_rows_use_lora():
    model = tiny_geopixel()
    image = np.random.default_rng(0).integers(0, 255, (40, 60, 3), dtype=np.uint8)
    with torch.no_grad():
        features = model.encode_image(image)
        bos = model.embed_tokens(torch.tensor([1]))
    torch.testing.assert_close(features.tokens[:1], bos)
    assert not features.lora_mask[0] and features.lora_mask[1:].all()
    assert features.lora_mask.shape[0] == features.tokens.shape[0]


def test_cached_decoding_sees_new_tokens_as_text():
    model = tiny_geopixel()
    torch.manual_seed(2)
    embeds = torch.randn(1, 10, model.config.llm_hidden_size)
    mask = torch.zeros(1, 10, dtype=torch.bool)
    mask[:, 1:6] = True
    decoder = model.decoder_for(mask)
    with torch.no_grad():
        full = decoder(inputs_embeds=embeds, use_cache=False).last_hidden_state
        cache = DynamicCache(config=model.llm.config)
        decoder(inputs_embeds=embeds[:, :8], past_key_values=cache, use_cache=True)
        steps = decoder(inputs_embeds=embeds[:, 8:], past_key_values=cache, use_cache=True).last_hidden_state
    torch.testing.assert_close(steps, full[:, 8:], rtol=1e-4, atol=1e-5)
    with torch.no_grad():
        unmasked = model.decoder_for(None)(inputs_embeds=embeds, use_cache=False).last_hidden_state
    assert not torch.allclose(unmasked[:, 1:], full[:, 1:], atol=1e-4)


def test_training_forward_applies_lora_to_each_rows_image():
    model = tiny_geopixel()
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 255, (30, 30, 3), dtype=np.uint8) for _ in range(2)]
    ids = [torch.tensor([5, 6, 297, 7]), torch.tensor([8, 297])]
    with torch.no_grad():
        features = [model.encode_image(image) for image in images]
        batched = model(input_ids=ids, image_features=features)
        alone = model(input_ids=ids[1:], image_features=features[1:])
    torch.testing.assert_close(batched.seg_states[1:], alone.seg_states, rtol=1e-4, atol=1e-5)


def test_bf16_grounding_rounds_only_the_lowest_map():
    model = tiny_geopixel()
    rng = np.random.default_rng(3)
    with torch.no_grad():
        features = model.encode_image(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))
        states = torch.randn(2, model.config.llm_hidden_size)
        index = torch.zeros(2, dtype=torch.long)
        rounded = model.seg_masks([features], states, index).low_res_logits
        features.grounding[-1] = features.grounding[-1].to(torch.bfloat16).float()
        model.config.bf16_grounding_embedding = False
        manual = model.seg_masks([features], states, index).low_res_logits
    torch.testing.assert_close(rounded, manual, rtol=0, atol=0)


def test_split_wqkv_groups_queries_with_their_key_value_head():
    d, kv, per = 2, 2, 3
    # row r of the fused weight holds the value r: the layout is [q q q k v] per kv head
    fused = torch.arange(kv * (per + 2) * d, dtype=torch.float32)[:, None]
    q, k, v = split_wqkv(fused, kv, d)
    assert q[:, 0].tolist() == [0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15]
    assert k[:, 0].tolist() == [6, 7, 16, 17]
    assert v[:, 0].tolist() == [8, 9, 18, 19]
    with pytest.raises(ValueError, match="wqkv"):
        split_wqkv(torch.zeros(7, 3), kv, d)


def test_llama_kwargs_keep_internlm2_rope_and_norm():
    kwargs = llama_kwargs(
        {
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "rope_theta": 1000000,
            "rope_scaling": {"type": "dynamic", "factor": 2.0},
            "rms_norm_eps": 1e-5,
            "bias": False,
        },
        vocab_size=320,
    )
    assert kwargs["rope_parameters"] == {"rope_type": "dynamic", "rope_theta": 1000000.0, "factor": 2.0}
    assert kwargs["vocab_size"] == 320 and kwargs["rms_norm_eps"] == 1e-5 and not kwargs["attention_bias"]
    with pytest.raises(ValueError, match="rope scaling"):
        llama_kwargs({**kwargs, "rope_scaling": {"type": "yarn", "factor": 2.0}}, 320)


def test_internlm2_template_and_prompts():
    turns = [Turn("user", GROUNDED_DESCRIPTION_PROMPT)]
    text = render(turns)
    assert text == f"{IM_START}user\n{GROUNDED_DESCRIPTION_PROMPT}{IM_END}\n{IM_START}assistant\n"
    assert referring_prompt(" the red car ") == "Could you provide a segmentation mask for the red car in this image?"
    with pytest.raises(ValueError):
        referring_prompt("  ")


def test_published_layout_parameter_counts_on_meta():
    config = preset_config("geopixel-7b")
    with torch.device("meta"):
        model = GeoGroundModel(config)
    counts = model.parameter_counts()
    vocab, hidden, layers, inter, kv_width, rank = 92547, 4096, 32, 14336, 1024, 256
    base = 2 * hidden * hidden + 2 * hidden * kv_width + 3 * hidden * inter + 2 * hidden
    lora = rank * (hidden + hidden + 2 * kv_width)  # wqkv: one A, B over q, k and v
    lora += rank * 2 * hidden + 2 * rank * (hidden + inter) + rank * (inter + hidden)  # wo, w1, w3, w2
    assert counts["llm"] == 2 * vocab * hidden + hidden + layers * (base + lora)
    assert counts["vision_encoder"] == 303_507_456 + 1024 * 1024  # CLIP ViT-L/14-336 + 1024 more positions at 560
    assert counts["total"] == sum(v for k, v in counts.items() if k != "total")


def test_int8_llm_weights_keep_the_partial_lora_layers():
    pytest.importorskip("torchao")
    from engine.model.geoground.quantization import QuantizationError, quantize_llm, weight_bytes

    model = tiny_geopixel()
    torch.manual_seed(2)
    embeds = torch.randn(1, 10, model.config.llm_hidden_size)
    mask = torch.zeros(1, 10, dtype=torch.bool)
    mask[:, 1:6] = True
    with torch.no_grad():
        before = model.decoder_for(mask)(inputs_embeds=embeds, use_cache=False).last_hidden_state
    size = weight_bytes(model.llm)
    quantize_llm(model, bits=8)
    layer = model.llm.model.layers[0].self_attn.q_proj
    assert isinstance(layer, PartialLoRALinear) and type(layer.weight) is not torch.nn.Parameter
    assert type(layer.Plora_A.weight) is torch.nn.Parameter  # the LoRA factors stay in full precision
    assert weight_bytes(model.llm) < size
    with torch.no_grad():
        after = model.decoder_for(mask)(inputs_embeds=embeds, use_cache=False).last_hidden_state
    assert (after - before).abs().max() < 0.02 * before.abs().max()
    with pytest.raises(QuantizationError, match="CUDA"):
        quantize_llm(tiny_geopixel(), bits=4)
    with pytest.raises(QuantizationError, match="4 or 8"):
        quantize_llm(model, bits=3)


def test_engine_chat_applies_image_lora_and_the_model_s_template():
    """Through the Engine facade a GeoPixel-style model answers as generate() does with decoder_for(image)."""
    import numpy as np

    from engine.api import DevicePlan, Engine
    from engine.model.chat import encode, template_for
    from engine.model.generation import generate
    from engine.model.geoground.tokenizer import byte_tokenizer

    model = tiny_geopixel()
    tokenizer = byte_tokenizer()
    engine = Engine.from_model(model, tokenizer, DevicePlan(torch.device("cpu"), torch.float32), "tiny-geopixel")
    image = np.random.default_rng(0).integers(0, 255, (64, 80, 3), dtype=np.uint8)
    reply = engine.chat(image, "describe", max_new_tokens=6)

    features = model.encode_image(image)
    ids, _ = encode(tokenizer, [Turn("user", "describe")], None, True, template_for(model.config))
    assert template_for(model.config).end == IM_END
    embeds = torch.cat([features.tokens, model.embed_tokens(torch.tensor(ids))])[None]
    with torch.inference_mode():
        expected = generate(model, tokenizer, embeds, max_new_tokens=6, decoder=model.decoder_for(features))
        without = generate(model, tokenizer, embeds, max_new_tokens=6)
    assert reply.raw_text == expected.text
    assert expected.token_ids != without.token_ids  # the image-only LoRA matters, so the test can tell
