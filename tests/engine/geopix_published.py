"""A tiny random GeoPix model and the published GeoPix folder layout written from it (for the converter and chat
tests): a top config.json, sub-folders vlm/ (LLaVA with the pre-4.52 transformers names), seg/, pec/ and clm/ (with
the original SAM / memory key names) and the loose .pth files."""

from __future__ import annotations

import json
import re

import torch
from safetensors.torch import save_file
from transformers import CLIPVisionConfig, LlamaConfig

from engine.model.geopix.model import GeoPixConfig, GeoPixModel

SEG_IDS = list(range(90, 96))
DIM = 32


def tiny_config(memory: str = "released") -> GeoPixConfig:
    vision = CLIPVisionConfig(
        image_size=28, patch_size=14, hidden_size=16, intermediate_size=32, num_hidden_layers=3, num_attention_heads=2
    )
    text = LlamaConfig(vocab_size=100, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4)
    llava = {"vision_config": vision.to_dict(), "text_config": text.to_dict(), "image_token_index": 99}
    return GeoPixConfig(
        llava=llava,
        seg_token_ids=SEG_IDS,
        mask_dim=DIM,
        neck_channels=8,
        feature_size=4,
        feature_layers=(-2, -3),
        decoder_heads=2,
        decoder_mlp_dim=64,
        memory=memory,
    )


def tiny_model(memory: str = "released") -> GeoPixModel:
    torch.manual_seed(0)
    model = GeoPixModel(tiny_config(memory))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn_like(parameter) * 0.3)
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.normal_(std=0.1)
                module.running_var.uniform_(0.5, 1.5)
    return model.eval()


def _published_seg_name(name: str) -> str:
    name = name[len("decoder.") :]
    name = re.sub(r"\.layer_norm([1-4])\.", r".norm\1.", name).replace("layer_norm_final_attn", "norm_final_attn")
    name = name.replace("pe1.positional_embedding", "pe1.positional_encoding_gaussian_matrix")
    if re.match(r"^(output_hypernetworks_mlps\.\d+|iou_prediction_head)\.", name):
        name = name.replace(".layers.0.", ".layers.1.").replace(".proj_in.", ".layers.0.")
        name = name.replace(".proj_out.", ".layers.2.")
    return "mask_decoder." + name


def write_published(folder, model: GeoPixModel) -> None:
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    llava = model.config.llava
    vlm, seg = {}, {}
    for key in [k for k in state if k.startswith("vlm.")]:
        rest = key[len("vlm.") :]
        value = state.pop(key)
        if rest.startswith("model.vision_tower."):
            vlm["vision_tower.vision_model." + rest[len("model.vision_tower.") :]] = value
        elif rest.startswith("model.multi_modal_projector."):
            vlm["multi_modal_projector." + rest[len("model.multi_modal_projector.") :]] = value
        elif rest.startswith("model.language_model."):
            vlm["language_model.model." + rest[len("model.language_model.") :]] = value
        else:
            assert rest == "lm_head.weight"
            vlm["language_model.lm_head.weight"] = value
    for key in [k for k in state if k.startswith("decoder.")]:
        seg[_published_seg_name(key)] = state.pop(key)
    pec = {
        "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix": state.pop("prompt_pe.positional_embedding"),
        "prompt_encoder.no_mask_embed.weight": state.pop("no_mask_embed.weight"),
        "prompt_encoder.not_a_point_embed.weight": torch.randn(1, DIM),
        "prompt_encoder.mask_downscaling.0.weight": torch.randn(4, 1, 2, 2),
    }
    pec.update({f"prompt_encoder.point_embeddings.{i}.weight": torch.randn(1, DIM) for i in range(4)})
    clm = {
        "memory_attention.layers.0.scale": state.pop("memory.scale"),
        "memory_attention.norm.weight": state.pop("memory.norm.weight"),
        "memory_attention.norm.bias": state.pop("memory.norm.bias"),
        "memory_attention.layers.0.self_attn.in_proj_weight": torch.randn(3 * DIM, DIM),
        "memory_attention.layers.0.linear1.weight": torch.randn(16, DIM),
        "learnable_memory.memory": torch.randn(2, 2, 4, 4, 1, 1),
        "memory_encoder.pix_feat_proj.weight": torch.randn(4, DIM, 1, 1),
    }
    for sub, weights in (("vlm", vlm), ("seg", seg), ("pec", pec), ("clm", clm)):
        (folder / sub).mkdir(parents=True)
        save_file(weights, str(folder / sub / "model.safetensors"))
    (folder / "vlm" / "config.json").write_text(json.dumps({"model_type": "llava", "image_token_index": 99}))
    for sub in ("vision", "text"):
        (folder / "vlm" / sub).mkdir()
        (folder / "vlm" / sub / "config.json").write_text(json.dumps(llava[f"{sub}_config"]))
    seg_config = {"prompt_embed_dim": DIM, "mask_decoder_transformer_depth": 2, "image_feature_scale_num": 2}
    (folder / "seg" / "config.json").write_text(json.dumps(seg_config))
    loose = (("image_neck_rough", "neck_rough."), ("image_neck_detail", "neck_detail."))
    for name, prefix in loose + (("text_hidden_fcs", "text_hidden_fcs."),):
        part = {k[len(prefix) :]: state.pop(k) for k in list(state) if k.startswith(prefix)}
        torch.save(part, folder / f"{name}.pth")
    torch.save(list(state.pop("seg_scalars").unbind()), folder / "multiseg_scalar.pth")
    torch.save(list(state.pop("scale_scalars").unbind()), folder / "multiscale_scalar.pth")
    assert not state, f"the fixture left {list(state)} unwritten"
    (folder / "config.json").write_text(json.dumps({"seg_token_num": 3, "image_feature_scale_num": 2}))
    (folder / "tokenizer_config.json").write_text("{}")


def write_tokenizer(folder) -> None:
    """A character-level tokenizer over the tiny vocabulary: <unk> 0, <s> 1, </s> 2, characters, [SEG0..5] at
    SEG_IDS and <image> at 99 (the tiny config's image token), saved as the published folder's top tokenizer."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    characters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,?!:;'-()[]\n/"
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2} | {c: 3 + i for i, c in enumerate(characters)}
    assert len(vocab) <= SEG_IDS[0]
    vocab |= {f"[SEG{i}]": token for i, token in enumerate(SEG_IDS)} | {"<image>": 99}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    core.decoder = decoders.Fuse()
    core.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    tokenizer.add_special_tokens({"additional_special_tokens": [f"[SEG{i}]" for i in range(6)] + ["<image>"]})
    tokenizer.save_pretrained(folder)
