"""The GeoGround family (and GeoPixel's layout, which it carries): InternLM-XComposer-style tiling into a Llama-shaped
LLM, one [SEG] token per mask, a SAM2-shaped mask predictor with a class memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..chat import encode, template_for
from ..family import ExamplesNotSupportedError, Grounding, ModelFamily, load_pretrained, load_tokenizer, positive_int
from ..generation import generate_batch
from ..grounded_text import parse_grounded


class GeoGroundFamily(ModelFamily):
    model_type = "geoground"

    @classmethod
    def from_folder(
        cls, folder: Path, dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu"
    ) -> GeoGroundFamily:
        from .modeling import GeoGroundModel

        tokenizer = cls.tokenizer_from(folder)
        model = load_pretrained(GeoGroundModel, folder, dtype, device)
        return cls(model, tokenizer, folder)

    @classmethod
    def tokenizer_from(cls, folder: Path):
        from transformers import PreTrainedTokenizerFast  # AutoTokenizer would look for a "geoground" class

        return load_tokenizer(PreTrainedTokenizerFast.from_pretrained, folder)  # nosec B615 - a local folder

    @staticmethod
    def context_in(config: dict) -> int | None:
        return positive_int((config.get("llm") or {}).get("max_position_embeddings"))

    @classmethod
    def from_preset(cls, preset: str, seed: int) -> GeoGroundFamily:
        """A preset with random weights drawn from ``seed`` (tests and smoke runs)."""
        from .modeling import GeoGroundModel
        from .presets import preset_config
        from .tokenizer import build_tokenizer

        config = preset_config(preset)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = GeoGroundModel(config)
        return cls(model.eval(), build_tokenizer(config))

    @property
    def view_size(self) -> int:
        return int(self.model.config.grounding_image_size)

    def encode_image(self, image: np.ndarray):
        return self.model.encode_image(image)

    def prompt(self, conversation) -> torch.Tensor:
        model = self.model
        ids, _ = encode(self.tokenizer, conversation.turns, conversation.system, True, template_for(model.config))
        text_embeds = model.embed_tokens(torch.tensor(ids, device=conversation.features.tokens.device))
        return torch.cat([conversation.features.tokens, text_embeds])

    def decode(self, conversations, embeds: torch.Tensor, options: dict) -> list:
        decoder = self.model.decoder_for([c.features for c in conversations])  # image-only LoRA (GeoPixel)
        return generate_batch(self.model, self.tokenizer, embeds, decoder=decoder, **options)

    def ground(self, conversation, result) -> Grounding:
        grounded = parse_grounded(result.text)
        states = result.seg_states
        if states.shape[0] == 0:
            return Grounding(grounded.text, grounded.phrases, [], [])
        index = torch.zeros(states.shape[0], dtype=torch.long, device=states.device)
        prediction = self.model.seg_masks([conversation.features], states, index)
        names = self.model.config.class_names
        labels = [names[i] for i in prediction.class_logits.argmax(-1).tolist()]
        logits = [prediction.logits_at(n, conversation.size) for n in range(states.shape[0])]
        return Grounding(grounded.text, grounded.phrases, logits, labels)

    @property
    def takes_examples(self) -> bool:
        return self.model.example_encoder is not None

    def example_prototypes(self, image: np.ndarray, masks: torch.Tensor):
        self._check_examples()
        return self.model.example_prototypes(self.model.grounding_features(image), masks)

    def find_like(self, images: list[np.ndarray], prototypes) -> list[torch.Tensor]:
        self._check_examples()
        features = [self.model.grounding_features(image) for image in images]
        prediction = self.model.example_masks(features, prototypes)
        return [prediction.logits_at(n, f.size) for n, f in enumerate(features)]

    def _check_examples(self) -> None:
        if not self.takes_examples:
            raise ExamplesNotSupportedError(
                f"the model {self.folder.name if self.folder else ''} has no example encoder: it takes text prompts "
                "only (a model trained with python -m engine.train.examples takes examples)".replace("  ", " ")
            )
