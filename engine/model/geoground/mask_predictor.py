"""[SEG] hidden states -> masks: a projection to prompt tokens, a class head, the class-wise memory, SAM2's decoder.

The decoder is transformers' ``Sam2MaskDecoder``: the projected [SEG] state is its sparse prompt token, the dense
prompt is the "no mask" embedding, and it upsamples the stride-16 map with the stride-8 and stride-4 maps
(multi-scale). The class-wise memory rewrites the stride-16 map per instance before decoding.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers.models.sam2.modeling_sam2 import Sam2MaskDecoder, Sam2PromptEncoder

from .configuration import GeoGroundConfig
from .memory import ClassMemory


@dataclass
class MaskPrediction:
    """Per instance: mask logits ``(N, 4h, 4w)`` (``(N, S, S)``, the grounding input size, after a mask refiner),
    predicted IoU ``(N,)``, class logits ``(N, C)``."""

    low_res_logits: torch.Tensor
    iou: torch.Tensor
    class_logits: torch.Tensor

    def logits_at(self, index: int, size: tuple[int, int]) -> torch.Tensor:
        """Mask logits of instance ``index`` resized bilinearly to ``size`` (H, W)."""
        low = self.low_res_logits[index][None, None].float()
        return F.interpolate(low, size=size, mode="bilinear", align_corners=False)[0, 0]


class MaskPredictor(nn.Module):
    def __init__(self, config: GeoGroundConfig) -> None:
        super().__init__()
        self.config = config
        hidden, dim = config.llm_hidden_size, config.mask_dim
        self.text_hidden_fcs = nn.Sequential(
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, dim), nn.Dropout(0.0)
        )
        self.prompt_encoder = Sam2PromptEncoder(config.prompt_encoder_config())
        self.decoder = Sam2MaskDecoder(config.mask_decoder_config())
        num_classes = len(config.class_names)
        self.class_head = nn.Linear(dim, num_classes)
        memory = config.memory
        self.memory = (
            ClassMemory(num_classes, memory["memory_len"], dim, memory["num_heads"])
            if config.use_class_memory
            else None
        )

    def image_positional_embedding(self, height: int, width: int) -> torch.Tensor:
        """SAM's random-Fourier positional encoding of the low-resolution grid, ``(1, D, h, w)``."""
        table = self.prompt_encoder.shared_embedding.positional_embedding
        ys = (torch.arange(height, device=table.device, dtype=table.dtype) + 0.5) / height
        xs = (torch.arange(width, device=table.device, dtype=table.dtype) + 0.5) / width
        grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)
        return self.prompt_encoder.shared_embedding(grid[None]).permute(0, 3, 1, 2)

    def forward(
        self,
        features: list[torch.Tensor],
        seg_states: torch.Tensor,
        image_index: torch.Tensor,
        class_ids: torch.Tensor | None = None,
    ) -> MaskPrediction:
        """Decode one mask per [SEG] state.

        ``features``: the grounding maps of a batch of images (high to low resolution); ``image_index[n]`` says
        which image state ``n`` belongs to; ``class_ids`` (training) are ground-truth classes, -1 when unknown.
        """
        prompts = self.text_hidden_fcs(seg_states)
        class_logits = self.class_head(prompts)
        levels = [level[image_index] for level in features]
        return self.decode(levels, prompts[:, None], class_logits, class_ids)

    def decode(
        self,
        levels: list[torch.Tensor],
        sparse: torch.Tensor,
        class_logits: torch.Tensor,
        class_ids: torch.Tensor | None = None,
        dense: torch.Tensor | None = None,
    ) -> MaskPrediction:
        """One mask per row: ``levels`` its image's maps (high to low resolution, batch N), ``sparse`` its prompt
        tokens ``(N, T, D)``, ``class_logits`` ``(N, C)`` which read the class memory, and ``dense`` an optional
        ``(N, D, h, w)`` added to the "no mask" embedding (example prompts)."""
        high, mid, low = levels
        if self.memory is not None and self.config.use_class_memory:
            read = self.memory.read(class_logits.softmax(-1), class_ids)
            low = self.memory(low, read)
        n, _, h, w = low.shape
        no_mask = self.prompt_encoder.no_mask_embed.weight.view(1, -1, 1, 1).expand(n, -1, h, w)
        dense = no_mask if dense is None else no_mask + dense
        masks, iou, _, _ = self.decoder(
            image_embeddings=low,
            image_positional_embeddings=self.image_positional_embedding(h, w).expand(n, -1, -1, -1).to(low.dtype),
            sparse_prompt_embeddings=sparse[:, None],
            dense_prompt_embeddings=dense,
            multimask_output=False,
            high_resolution_features=[self.decoder.conv_s0(high), self.decoder.conv_s1(mid)],
        )
        return MaskPrediction(masks[:, 0, 0], iou[:, 0, 0], class_logits)
