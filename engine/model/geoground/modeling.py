"""GeoGroundModel: tiles -> CLIP -> projector -> causal LLM; [SEG] states + SAM2 features -> masks.

``forward`` is the training step (CE on answer tokens, BCE + Dice on masks, CE on instance classes);
generation lives in ``generation.py`` and uses the same parts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoModelForCausalLM, PreTrainedModel
from transformers import initialization as init
from transformers.utils import ModelOutput

from ..chat import IGNORE_INDEX
from .backbone import EfficientNetLite0
from .configuration import GeoGroundConfig
from .examples import ExampleEncoder, ExamplePrototypes, pool_examples
from .grounding import GroundingEncoder
from .mask_predictor import MaskPrediction, MaskPredictor
from .mask_refiner import MaskRefiner
from .memory import ClassMemory
from .plora import apply_partial_lora
from .tiling import tile_image
from .vision import VisualEmbedder


@dataclass
class ImageFeatures:
    """Everything the model needs from one image, computed once per conversation."""

    tokens: torch.Tensor  # (L, hidden) LLM input embeddings of the image
    grounding: list[torch.Tensor]  # SAM2 maps (1, D, h, w), high to low resolution
    size: tuple[int, int]  # (H, W) of the original image
    lora_mask: torch.Tensor | None = None  # bool (L,): rows of ``tokens`` that are image tokens (Partial LoRA)
    pixels: torch.Tensor | None = None  # (1, 3, S, S) normalised grounding input, kept when a mask refiner uses it


@dataclass
class GeoGroundOutput(ModelOutput):
    loss: torch.Tensor | None = None
    ce_loss: torch.Tensor | None = None
    bce_loss: torch.Tensor | None = None
    dice_loss: torch.Tensor | None = None
    class_loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    seg_states: torch.Tensor | None = None
    masks: MaskPrediction | None = None


def dice_loss(logits: torch.Tensor, target: torch.Tensor, scale: float = 1000.0, eps: float = 1e-6) -> torch.Tensor:
    """1 - soft Dice of one mask; the scale keeps the sums small on large images (GeoPixel's formulation)."""
    prob, target = logits.sigmoid().flatten(), target.flatten()
    intersection = (prob * target).sum() / scale
    total = (prob.sum() + target.sum()) / scale
    return 1 - (2 * intersection + eps) / (total + eps)


class GeoGroundModel(PreTrainedModel):
    config_class = GeoGroundConfig
    base_model_prefix = "geoground"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = True
    _supports_sdpa = True

    def __init__(self, config: GeoGroundConfig) -> None:
        super().__init__(config)
        # One pretrained backbone for both image paths when the config names one (``backbone.py``).
        self.backbone = EfficientNetLite0() if config.backbone else None
        self.visual = VisualEmbedder(config)
        self.llm = AutoModelForCausalLM.from_config(config.llm_config())
        self.grounding = GroundingEncoder(config)
        self.mask_predictor = MaskPredictor(config)
        lora = config.partial_lora
        self.image_token_mask = apply_partial_lora(self.llm, lora["rank"], lora["alpha"]) if lora else None
        # Last, and from its own generator: the other parts initialise as they would without it.
        self.mask_refiner = MaskRefiner(**config.mask_refiner) if config.mask_refiner else None
        self.example_encoder = self._example_encoder(config) if config.example_prompts else None
        self.post_init()

    @staticmethod
    def _example_encoder(config: GeoGroundConfig) -> ExampleEncoder:
        return ExampleEncoder(config.grounding["fpn_hidden_size"], config.mask_dim, **config.example_prompts)

    def add_example_encoder(self, hidden: int = 128, seed: int = 0) -> ExampleEncoder:
        """Give a trained model a fresh example encoder (drawn from ``seed``), recorded in its config so that
        ``save_pretrained``/``from_pretrained`` keep it."""
        self.config.example_prompts = {"hidden": hidden}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            encoder = self._example_encoder(self.config)
        weight = self.mask_predictor.class_head.weight
        self.example_encoder = encoder.to(weight.device, weight.dtype)
        return self.example_encoder

    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        if isinstance(module, VisualEmbedder):
            init.normal_(module.global_separator, std=0.02)
            init.normal_(module.row_separator, std=0.02)
        elif isinstance(module, ClassMemory):
            init.normal_(module.bank, std=1.0)
        elif isinstance(module, GroundingEncoder):
            init.zeros_(module.no_memory_embedding)

    def parameter_counts(self) -> dict[str, int]:
        """Parameters per part and in total (works on the meta device, so 7B-class layouts can be counted)."""
        parts = {
            "vision_encoder": self.visual.encoder if self.backbone is None else self.backbone,
            "projector": self.visual.projector,
            "llm": self.llm,
            "grounding_encoder": self.grounding,
            "mask_predictor": self.mask_predictor,
        }
        if self.mask_refiner is not None:
            parts["mask_refiner"] = self.mask_refiner
        if self.example_encoder is not None:
            parts["example_encoder"] = self.example_encoder
        counts = {name: sum(p.numel() for p in part.parameters()) for name, part in parts.items()}
        counts["separators"] = self.visual.global_separator.numel() + self.visual.row_separator.numel()
        counts["total"] = sum(p.numel() for p in self.parameters())
        return counts

    # --- parts -------------------------------------------------------------------------------------------------
    def decoder_for(self, image_prefix: ImageFeatures | list[ImageFeatures] | torch.Tensor | None):
        """The LLM's transformer stack (its last hidden state final-normed) for inputs that start with these image
        prefixes: the features whose ``tokens`` begin the sequences, a ``bool (batch, length)`` mask of image
        positions, or None for text only.

        With Partial LoRA the returned callable tells the layers which positions are image tokens for the duration of
        each call, shifted by the KV cache length so cached decoding steps are seen as text. The mask lives in the
        callable, not in the model: concurrent calls with different images do not see each other's.
        """
        if self.image_token_mask is None:
            return self.llm.model
        if isinstance(image_prefix, ImageFeatures):
            image_prefix = [image_prefix]
        if isinstance(image_prefix, list):
            rows = [f.lora_mask if f.lora_mask is not None else torch.ones(f.tokens.shape[0]) for f in image_prefix]
            length = max(row.shape[0] for row in rows)
            mask = torch.zeros(len(rows), length, dtype=torch.bool)
            for i, row in enumerate(rows):
                mask[i, : row.shape[0]] = row.bool().cpu()
            image_prefix = mask
        return _PartialLoRADecoder(self, image_prefix)

    @property
    def text_model(self) -> nn.Module:
        """The LLM's transformer stack itself (layers, rotary table, final norm), for decoding steps past the image."""
        return self.llm.model

    def embed_tokens(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.llm.get_input_embeddings()(input_ids)

    def encode_image(self, image: np.ndarray, training: bool = False) -> ImageFeatures:
        """``uint8 (H, W, 3)`` -> image tokens for the LLM and multi-scale grounding features."""
        config = self.config
        tiled = tile_image(image, config.tile_size, config.hd_num, config.max_tiles, training)
        tokens = self.visual(tiled, self.backbone)
        lora_mask = torch.ones(tokens.shape[0], dtype=torch.bool, device=tokens.device)
        if config.bos_before_image:
            bos = self.embed_tokens(torch.tensor([config.bos_token_id], device=tokens.device)).to(tokens.dtype)
            tokens = torch.cat([bos, tokens])
            lora_mask = torch.cat([lora_mask.new_zeros(1), lora_mask])
        square = self.grounding.preprocess(image)
        grounding = self.grounding(square, self.backbone)
        pixels = self.grounding.normalise(square) if self.mask_refiner is not None else None
        return ImageFeatures(tokens, grounding, (int(image.shape[0]), int(image.shape[1])), lora_mask, pixels)

    def grounding_features(self, image: np.ndarray) -> ImageFeatures:
        """The mask side's features of an image only (no image tokens: example prompts need no language model)."""
        square = self.grounding.preprocess(image)
        grounding = self.grounding(square, self.backbone)
        pixels = self.grounding.normalise(square) if self.mask_refiner is not None else None
        empty = grounding[-1].new_zeros(0, self.config.llm_hidden_size)
        return ImageFeatures(empty, grounding, (int(image.shape[0]), int(image.shape[1])), None, pixels)

    def example_prototypes(self, features: ImageFeatures, masks: torch.Tensor) -> ExamplePrototypes:
        """Prototypes of examples given as bool masks ``(K, H, W)`` on the image ``features`` were made from."""
        return pool_examples(features.grounding, masks)

    def example_masks(self, features: list[ImageFeatures], prototypes: ExamplePrototypes) -> MaskPrediction:
        """One mask per image: everything in it like the examples."""
        if self.example_encoder is None:
            raise ValueError("this model has no example encoder: it takes text prompts only")
        levels = [torch.cat([f.grounding[i] for f in features]) for i in range(len(features[0].grounding))]
        prototypes = prototypes.to(levels[-1].device, levels[-1].dtype)
        sparse, dense = self.example_encoder(levels, prototypes)
        class_logits = self.mask_predictor.class_head(sparse[:, -1])
        prediction = self.mask_predictor.decode(levels, sparse, class_logits, dense=dense)
        head = self.example_encoder.pixel_logits(levels, prototypes)
        if head.shape[-2:] != prediction.low_res_logits.shape[-2:]:
            head = F.interpolate(head[:, None], size=prediction.low_res_logits.shape[-2:], mode="bilinear")[:, 0]
        prediction.low_res_logits = prediction.low_res_logits + head.to(prediction.low_res_logits.dtype)
        if self.mask_refiner is not None:
            pixels = torch.cat([f.pixels for f in features])
            prediction.low_res_logits = self.mask_refiner(prediction.low_res_logits, pixels)
        return prediction

    def seg_masks(
        self, features: list[ImageFeatures], seg_states: torch.Tensor, image_index: torch.Tensor, class_ids=None
    ) -> MaskPrediction:
        levels = [torch.cat([f.grounding[i] for f in features]) for i in range(len(features[0].grounding))]
        if self.config.bf16_grounding_embedding:
            levels[-1] = levels[-1].to(torch.bfloat16).to(levels[-1].dtype)
        prediction = self.mask_predictor(levels, seg_states, image_index, class_ids)
        if self.mask_refiner is not None:
            pixels = torch.cat([f.pixels for f in features])[image_index]
            prediction.low_res_logits = self.mask_refiner(prediction.low_res_logits, pixels)
        return prediction

    # --- training forward --------------------------------------------------------------------------------------
    def build_inputs(
        self, features: list[ImageFeatures], input_ids: list[torch.Tensor], labels: list[torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Right-padded ``inputs_embeds``, attention mask, labels and input ids (image positions get -100 / pad)."""
        pad = self.config.pad_token_id
        device = features[0].tokens.device
        rows_embeds, rows_ids, rows_labels = [], [], []
        for i, (feature, ids) in enumerate(zip(features, input_ids)):
            ids = ids.to(device)
            image_len = feature.tokens.shape[0]
            rows_embeds.append(torch.cat([feature.tokens, self.embed_tokens(ids)]))
            rows_ids.append(torch.cat([torch.full((image_len,), pad, device=device), ids]))
            row_labels = labels[i].to(device) if labels is not None else torch.full_like(ids, IGNORE_INDEX)
            rows_labels.append(torch.cat([torch.full((image_len,), IGNORE_INDEX, device=device), row_labels]))
        length = max(row.shape[0] for row in rows_embeds)
        width = rows_embeds[0].shape[-1]
        embeds = rows_embeds[0].new_zeros(len(features), length, width)
        mask = torch.zeros(len(features), length, dtype=torch.long, device=device)
        all_ids = torch.full((len(features), length), pad, dtype=torch.long, device=device)
        all_labels = torch.full((len(features), length), IGNORE_INDEX, dtype=torch.long, device=device)
        for i, row in enumerate(rows_embeds):
            n = row.shape[0]
            embeds[i, :n], mask[i, :n], all_ids[i, :n], all_labels[i, :n] = row, 1, rows_ids[i], rows_labels[i]
        return embeds, mask, all_labels, all_ids

    def forward(
        self,
        images: list[np.ndarray] | None = None,
        input_ids: list[torch.Tensor] | None = None,
        labels: list[torch.Tensor] | None = None,
        masks: list[torch.Tensor] | None = None,
        class_ids: list[torch.Tensor] | None = None,
        image_features: list[ImageFeatures] | None = None,
    ) -> GeoGroundOutput:
        """One step on a batch of conversations, one image each.

        ``input_ids[b]``/``labels[b]``: 1-D ids of the rendered conversation (``chat.encode``); ``masks[b]``:
        ``(n_b, H_b, W_b)`` ground-truth masks, one per [SEG] in ``input_ids[b]``; ``class_ids[b]``: ``(n_b,)``
        class indices into ``config.class_names`` (-1 unknown). Losses are weighted as in the config.
        """
        if image_features is None:
            if images is None:
                raise ValueError("give images or image_features")
            image_features = [self.encode_image(image, training=self.training) for image in images]
        embeds, attention, all_labels, all_ids = self.build_inputs(image_features, input_ids, labels)
        decoder = self.decoder_for(image_features)
        hidden = decoder(inputs_embeds=embeds, attention_mask=attention, use_cache=False).last_hidden_state
        logits = self.llm.lm_head(hidden)
        zero = hidden.new_zeros(())
        ce = zero
        if labels is not None:
            ce = F.cross_entropy(
                logits[:, :-1].flatten(0, 1).float(), all_labels[:, 1:].flatten(), ignore_index=IGNORE_INDEX
            )
        # [SEG] state: the final hidden state at positions whose input token is [SEG].
        is_seg = (all_ids == self.config.seg_token_id) & attention.bool()
        image_index, _ = is_seg.nonzero(as_tuple=True)
        seg_states = hidden[is_seg]
        bce = dice = cls = zero
        prediction = None
        if seg_states.shape[0]:
            known = None
            if class_ids is not None:
                known = torch.cat([c.to(hidden.device).long().view(-1) for c in class_ids])
            prediction = self.seg_masks(image_features, seg_states, image_index, known)
            if masks is not None:
                bce, dice = self._mask_losses(prediction, masks)
            if known is not None and (known >= 0).any():
                cls = F.cross_entropy(prediction.class_logits.float(), known, ignore_index=-1)
        config = self.config
        loss = (
            config.ce_loss_weight * ce
            + config.bce_loss_weight * bce
            + config.dice_loss_weight * dice
            + config.class_loss_weight * cls
        )
        return GeoGroundOutput(loss, ce, bce, dice, cls, logits, seg_states, prediction)

    def _mask_losses(self, prediction: MaskPrediction, masks: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """BCE (mean over pixels) and Dice per mask at the original resolution, averaged over masks.

        An empty target (a class asked for but absent) takes BCE only: its Dice is 1 whatever the prediction, a
        constant that would only hide the Dice of the real masks in the logs.
        """
        expected = sum(int(m.shape[0]) for m in masks)
        if expected != prediction.iou.shape[0]:
            raise ValueError(f"{prediction.iou.shape[0]} [SEG] tokens but {expected} ground-truth masks")
        targets = [m for sample in masks for m in sample]
        bce_terms, dice_terms = [], []
        for n, target in enumerate(targets):
            target = target.to(prediction.low_res_logits.device, torch.float32)
            logits = prediction.logits_at(n, tuple(target.shape))
            bce_terms.append(F.binary_cross_entropy_with_logits(logits, target))
            if bool(target.any()):
                dice_terms.append(dice_loss(logits, target))
        bce = torch.stack(bce_terms).mean()
        return bce, torch.stack(dice_terms).mean() if dice_terms else bce * 0.0


class _PartialLoRADecoder:
    """Calls the LLM stack with an image-token mask (``(batch, length)`` from position 0, or None) set on its layers."""

    def __init__(self, model: GeoGroundModel, mask: torch.Tensor | None) -> None:
        self.model = model
        self.mask = mask

    def __call__(self, *args, **kwargs):
        cache = kwargs.get("past_key_values")
        offset = int(cache.get_seq_length()) if cache is not None else 0
        mask = self.mask
        embeds = kwargs.get("inputs_embeds")
        if mask is not None and embeds is not None:
            # the rows of this call, on the input's device, checked once for all layers
            window = mask[:, offset : offset + embeds.shape[1]].to(embeds.device)
            mask = window if window.numel() and bool(window.any()) else None
            offset = 0
        with self.model.image_token_mask.active(mask, offset):
            return self.model.llm.model(*args, **kwargs)
