"""GeoPix (arXiv 2501.06828) as published: LLaVA-1.5 + two image necks + multi-scale mask decoder + memory block.

The LLM side is transformers' ``LlavaForConditionalGeneration`` unchanged. Six tokens ``[SEG0]..[SEG5]`` ask for a
mask: three per feature scale. Their states (the hidden states that PREDICT each token) go through
``text_hidden_fcs`` to 256 channels, the three of each scale are mixed by learned scalars, and the two resulting
prompts drive the two decoder levels. The features come from CLIP hidden states -2 (rough neck, level 0) and -11
(detail neck, level 1). Each level is decoded after the memory block; the final 128x128 logits are the
scalar-weighted sum of both levels.

``memory``: ``"released"`` reproduces the published checkpoint (see ``geopix_decoder.ReleasedMemory``); ``"none"``
skips the block (for ablations).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from transformers import LlavaConfig, LlavaForConditionalGeneration, PretrainedConfig, PreTrainedModel, SamVisionConfig
from transformers.models.sam.modeling_sam import SamPositionalEmbedding

from .decoder import ImageNeck, MultiScaleMaskDecoder, ReleasedMemory, at_least_fp32, grid_positional_encoding

MEMORY_KINDS = ("released", "none")


class GeoPixConfig(PretrainedConfig):
    """``llava``: LlavaConfig kwargs; sizes of the mask side; ``seg_token_ids`` of [SEG0]..[SEG5]."""

    model_type = "geopix"

    def __init__(
        self,
        llava: dict[str, Any] | None = None,
        seg_token_ids: list[int] | None = None,
        seg_token_num: int = 3,
        scale_num: int = 2,
        mask_dim: int = 256,
        neck_channels: int = 512,
        feature_size: int = 32,
        feature_layers: tuple[int, int] = (-2, -11),
        decoder_depth: int = 2,
        decoder_heads: int = 8,
        decoder_mlp_dim: int = 2048,
        memory: str = "released",
        channel_order: str = "bgr",
        **kwargs: Any,
    ) -> None:
        if channel_order not in ("rgb", "bgr"):
            raise ValueError(f"channel_order must be 'rgb' or 'bgr', got {channel_order!r}")
        if memory not in MEMORY_KINDS:
            raise ValueError(f"unknown GeoPix memory {memory!r}; choose one of {', '.join(MEMORY_KINDS)}")
        self.llava = dict(llava or {})
        self.seg_token_ids = list(seg_token_ids or range(32002, 32008))
        self.seg_token_num = seg_token_num
        self.scale_num = scale_num
        self.mask_dim = mask_dim
        self.neck_channels = neck_channels
        self.feature_size = feature_size
        self.feature_layers = list(feature_layers)
        self.decoder_depth = decoder_depth
        self.decoder_heads = decoder_heads
        self.decoder_mlp_dim = decoder_mlp_dim
        self.memory = memory
        # The released inference reads images with cv2.imread and hands them to the CLIP processor as they come:
        # the channels the published weights see are blue, green, red.
        self.channel_order = channel_order
        if kwargs.get("eos_token_id") is None:  # folders converted before it was stored: Llama's </s>
            kwargs["eos_token_id"] = self.llava_config().text_config.eos_token_id
        super().__init__(**kwargs)

    def llava_config(self) -> LlavaConfig:
        return LlavaConfig(**self.llava)


class GeoPixModel(PreTrainedModel):
    config_class = GeoPixConfig
    base_model_prefix = "geopix"
    main_input_name = "input_ids"

    def __init__(self, config: GeoPixConfig) -> None:
        super().__init__(config)
        llava = config.llava_config()
        self.vlm = LlavaForConditionalGeneration(llava)
        vision_width = llava.vision_config.hidden_size
        hidden = llava.text_config.hidden_size
        dim = config.mask_dim
        self.text_hidden_fcs = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, dim))
        self.seg_scalars = nn.Parameter(torch.full((config.seg_token_num,), 1.0 / config.seg_token_num))
        self.scale_scalars = nn.Parameter(torch.full((config.scale_num,), 1.0 / config.scale_num))
        self.neck_rough = ImageNeck(vision_width, config.neck_channels, dim, config.feature_size)
        self.neck_detail = ImageNeck(vision_width, config.neck_channels, dim, config.feature_size)
        self.prompt_pe = SamPositionalEmbedding(SamVisionConfig(num_pos_feats=dim // 2))
        self.no_mask_embed = nn.Embedding(1, dim)
        self.decoder = MultiScaleMaskDecoder(
            dim, config.scale_num, config.decoder_depth, config.decoder_heads, config.decoder_mlp_dim
        )
        self.memory = ReleasedMemory(dim) if config.memory == "released" else None
        self.post_init()

    # --- what the shared decoding loop (``engine.model.generation``) reads of every family -----------------------
    @property
    def llm(self) -> LlavaForConditionalGeneration:
        """The causal LM: its input embeddings, ``lm_head`` and config."""
        return self.vlm

    @property
    def text_model(self) -> nn.Module:
        """The language model's transformer stack (layers, rotary table, final norm)."""
        return self.vlm.model.language_model

    def decoder_for(self, image_prefix: object = None) -> nn.Module:
        """The stack that runs a prompt; GeoPix's image rows need no special treatment, so any prefix gets the same."""
        return self.text_model

    def encode_image(self, pixel_values: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """One CLIP pass for both uses: the LLM's image rows ``(B, P, hidden)`` (LLaVA's feature layer and
        selection, then the projector) and the mask side's neck features (:meth:`image_features`)."""
        hidden = self.vlm.model.vision_tower(pixel_values, output_hidden_states=True).hidden_states
        llava = self.vlm.config
        layer = llava.vision_feature_layer
        chosen = hidden[layer] if isinstance(layer, int) else torch.cat([hidden[i] for i in layer], dim=-1)
        if llava.vision_feature_select_strategy == "default":
            chosen = chosen[:, 1:]
        return self.vlm.model.multi_modal_projector(chosen), self._necks(hidden)

    def image_features(self, pixel_values: torch.Tensor) -> list[torch.Tensor]:
        """Neck outputs per level ``(1, C, S, S)``: rough (CLIP layer -2) then detail (CLIP layer -11)."""
        return self._necks(self.vlm.model.vision_tower(pixel_values, output_hidden_states=True).hidden_states)

    def _necks(self, hidden: tuple[torch.Tensor, ...]) -> list[torch.Tensor]:
        maps = []
        for layer, neck in zip(self.config.feature_layers, (self.neck_rough, self.neck_detail)):
            patches = hidden[layer][:, 1:]
            side = int(round(patches.shape[1] ** 0.5))
            maps.append(neck(patches.transpose(1, 2).reshape(patches.shape[0], -1, side, side)))
        return maps

    def seg_prompts(self, seg_states: torch.Tensor) -> torch.Tensor:
        """``(N, 6, hidden)`` states of [SEG0]..[SEG5] -> ``(N, scales, C)`` prompts (tokens are scale-major)."""
        n = seg_states.shape[0]
        projected = self.text_hidden_fcs(seg_states).view(n, self.config.scale_num, self.config.seg_token_num, -1)
        fused = projected[:, :, 0] * 0
        for i in range(self.config.seg_token_num):
            fused = fused + self.seg_scalars[i] * projected[:, :, i]
        return fused

    def predict_masks(self, features: list[torch.Tensor], seg_states: torch.Tensor) -> torch.Tensor:
        """Mask logits ``(N, 4S, 4S)`` (128x128 for the published sizes) for ``N`` groups of [SEG] states."""
        prompts = self.seg_prompts(seg_states)
        size = features[0].shape[-1]
        dense = self.no_mask_embed.weight.view(1, -1, 1, 1).expand(1, -1, size, size)
        image_pe = grid_positional_encoding(self.prompt_pe, size, size)
        out_size = 4 * size
        total = prompts.new_zeros(prompts.shape[0], 1, out_size, out_size)
        previous = None
        for level, image in enumerate(features):
            # The released code also decodes once before the memory block, to feed the memory encoder; that
            # result never reaches the output, so it is skipped here.
            enhanced = self.memory(image) if self.memory is not None else image
            sparse = prompts[:, level : level + 1]
            previous, _ = self.decoder(enhanced, image_pe, sparse, dense, level, previous)
            resized = F.interpolate(at_least_fp32(previous), (out_size, out_size), mode="bilinear", align_corners=False)
            total = total + self.scale_scalars[level] * resized.to(total.dtype)
        return total[:, 0]

    @staticmethod
    def seg_groups(generated: torch.Tensor, seg_token_ids: list[int]) -> list[int]:
        """Start indices in ``generated`` of each complete run [SEG0]..[SEG5]."""
        ids = generated.tolist()
        width = len(seg_token_ids)
        return [i for i in range(len(ids) - width + 1) if ids[i : i + width] == list(seg_token_ids)]


def geopix_7b_config(vocab_size: int = 32064) -> GeoPixConfig:
    """The published GeoPix sizes (LLaVA-1.5-7B with CLIP ViT-L/14 at 448 px), for counting on the meta device.

    ``vocab_size``: LLaVA-1.5's padded vocabulary; the converter reads the real one from the checkpoint.
    """
    vision = {
        "model_type": "clip_vision_model",
        "image_size": 448,
        "patch_size": 14,
        "hidden_size": 1024,
        "intermediate_size": 4096,
        "num_hidden_layers": 24,
        "num_attention_heads": 16,
        "projection_dim": 768,
    }
    text = {
        "model_type": "llama",
        "vocab_size": vocab_size,
        "hidden_size": 4096,
        "intermediate_size": 11008,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 32,
        "max_position_embeddings": 4096,
    }
    return GeoPixConfig(llava={"vision_config": vision, "text_config": text, "image_token_index": 32000})
