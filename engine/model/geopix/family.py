"""The GeoPix family: LLaVA-1.5 with CLIP, six [SEGk] tokens per mask, a multi-scale mask decoder. Its prompt, image
handling and [SEG] rule follow the released inference (``chat.py``); its masks name no class."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ...errors import ModelNotFoundError, first_line
from ..family import Grounding, ModelFamily, load_pretrained, load_tokenizer, positive_int
from ..grounded_text import parse_grounded
from .chat import encode_image, generate, image_processor, marked_text, masks, prompt_embeds, seg_runs


class GeoPixFamily(ModelFamily):
    model_type = "geopix"

    def __init__(self, model, tokenizer, folder: Path | None = None) -> None:
        super().__init__(model, tokenizer, folder)
        self.processor = image_processor(folder, self.view_size)

    @classmethod
    def from_folder(
        cls, folder: Path, dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu"
    ) -> GeoPixFamily:
        from .model import GeoPixModel

        tokenizer = cls.tokenizer_from(folder)
        model = load_pretrained(GeoPixModel, folder, dtype, device)
        try:
            return cls(model, tokenizer, folder)
        except (OSError, ValueError) as error:  # an unreadable preprocessor_config.json
            raise ModelNotFoundError(f"{folder} has no usable image processor: {first_line(error)}") from error

    @classmethod
    def tokenizer_from(cls, folder: Path):
        from transformers import AutoTokenizer

        def tokenizer_of(path: Path):
            return AutoTokenizer.from_pretrained(path, trust_remote_code=False)  # nosec B615 - a local folder

        return load_tokenizer(tokenizer_of, folder)

    @staticmethod
    def context_in(config: dict) -> int | None:
        text = (config.get("llava") or {}).get("text_config") or {}
        return positive_int(text.get("max_position_embeddings")) if isinstance(text, dict) else None

    @property
    def view_size(self) -> int:
        """CLIP's input side (448 px for the published model): GeoPix sees one image at that size."""
        return int(self.model.config.llava_config().vision_config.image_size)

    def encode_image(self, image: np.ndarray):
        return encode_image(self.model, self.processor, image)

    def prompt(self, conversation) -> torch.Tensor:
        return prompt_embeds(self.model, self.tokenizer, conversation.features, conversation.turns)

    def decode(self, conversations, embeds: torch.Tensor, options: dict) -> list:
        return generate(self.model, self.tokenizer, embeds, **options)

    def ground(self, conversation, result) -> Grounding:
        seg_ids = self.model.config.seg_token_ids
        grounded = parse_grounded(marked_text(result.text, self.tokenizer, seg_ids))
        runs = seg_runs(result, seg_ids)
        if not runs.shape[0]:
            return Grounding(grounded.text, grounded.phrases, [], [])
        logits = masks(self.model, conversation.features, runs, conversation.size)
        return Grounding(grounded.text, grounded.phrases, list(logits), ["object"] * runs.shape[0])
