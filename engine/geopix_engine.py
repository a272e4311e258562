"""The :class:`~engine.api.Engine` for converted GeoPix checkpoints: same calls and replies, GeoPix's own prompt,
image handling and [SEG] rule (``engine.model.geopix_chat``)."""

from __future__ import annotations

import torch

from .api import Engine
from .model.chat import Conversation
from .model.geopix_chat import encode_image, generate, marked_text, masks, prompt_embeds, seg_runs
from .model.grounded_text import parse_grounded
from .types import Reply, Segment, Turn


class GeoPixEngine(Engine):
    """A GeoPix model (LLaVA-1.5 + multi-scale mask decoder) behind the Engine interface.

    Its masks carry the label "object" (GeoPix names no class) and, as score, the mean probability of their pixels.
    """

    def __init__(self, model, tokenizer, plan, name: str, processor) -> None:
        super().__init__(model, tokenizer, plan, name)
        self.processor = processor

    @property
    def view_size(self) -> int:
        """CLIP's input side (448 px for the published model): GeoPix sees one image at that size."""
        return int(self.model.config.llava_config().vision_config.image_size)

    def _prompt(self, conversation: Conversation) -> torch.Tensor:
        if conversation.features is None:
            conversation.features = encode_image(self.model, self.processor, conversation.image)
        return prompt_embeds(self.model, self.tokenizer, conversation.features, conversation.turns)

    def _decode(self, conversations: list[Conversation], embeds: torch.Tensor, options: dict) -> list:
        return generate(self.model, self.tokenizer, embeds, **options)

    def _reply(self, conversation: Conversation, result) -> Reply:
        seg_ids = self.model.config.seg_token_ids
        grounded = parse_grounded(marked_text(result.text, self.tokenizer, seg_ids))
        runs = seg_runs(result, seg_ids)
        segments = []
        if runs.shape[0]:
            logits = masks(self.model, conversation.features, runs, conversation.size)
            for n in range(runs.shape[0]):
                mask = (logits[n] > 0).cpu().numpy() & conversation.valid
                probability = logits[n].sigmoid().cpu().numpy()
                score = float(probability[mask].mean()) if mask.any() else 0.0
                phrase = grounded.phrases[n] if n < len(grounded.phrases) else ""
                segments.append(Segment(phrase, mask, score, "object", probability))
        conversation.turns.append(Turn("assistant", result.text))
        return Reply(grounded.text, segments, result.text)
