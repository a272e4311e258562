"""One configuration for the whole model family, so a single ``config.json`` describes every part.

Sub-models keep their own transformers configuration classes (CLIP vision, a causal LLM, SAM2 vision and mask
decoder); they are stored here as plain dicts so the file stays readable and any part can be resized alone.
"""

from __future__ import annotations

from typing import Any

from transformers import (
    AutoConfig,
    CLIPVisionConfig,
    PretrainedConfig,
    Sam2MaskDecoderConfig,
    Sam2PromptEncoderConfig,
    Sam2VisionConfig,
)

# Markup the LLM writes around grounded phrases, and the token whose hidden state prompts a mask.
SEG_TOKEN = "[SEG]"  # noqa: S105 (a vocabulary entry, not a secret)
PHRASE_START = "<p>"
PHRASE_END = "</p>"
# Chat role markers and the end-of-turn token (also the generation stop token).
SYSTEM_TOKEN = "<|system|>"  # noqa: S105 (a vocabulary entry, not a secret)
USER_TOKEN = "<|user|>"  # noqa: S105 (a vocabulary entry, not a secret)
ASSISTANT_TOKEN = "<|assistant|>"  # noqa: S105 (a vocabulary entry, not a secret)
END_TOKEN = "<|end|>"  # noqa: S105 (a vocabulary entry, not a secret)
PAD_TOKEN = "<pad>"  # noqa: S105 (a vocabulary entry, not a secret)
SPECIAL_TOKENS = (SEG_TOKEN, PHRASE_START, PHRASE_END, SYSTEM_TOKEN, USER_TOKEN, ASSISTANT_TOKEN, END_TOKEN, PAD_TOKEN)


class GeoGroundConfig(PretrainedConfig):
    """Sizes and switches of a GeoGround model.

    ``vision``: CLIPVisionConfig kwargs (its ``image_size`` is the tile size); ``llm``: kwargs of a causal-LM config
    with its ``model_type`` (Llama family); ``grounding``: Sam2VisionConfig kwargs (``backbone_config`` nested);
    ``mask_decoder``: Sam2MaskDecoderConfig kwargs; ``memory``: ``num_classes``, ``memory_len``, ``num_heads`` of the
    class-wise memory; ``tokenizer``: how to build the tokenizer (see ``tokenizer.build_tokenizer``).

    Switches for checkpoints converted from GeoPixel (see ``engine/convert``): ``partial_lora`` (``rank``, ``alpha``)
    adds InternLM-XComposer's image-only LoRA to every LLM projection; ``bos_before_image`` puts the BOS embedding
    before the image tokens; ``bf16_grounding_embedding`` rounds the lowest-resolution grounding map to bfloat16
    before the mask decoder, as the published code does even in float32; ``chat_template`` names the template
    (``"geoground"`` or ``"internlm2"``).

    ``mask_refiner``: ``MaskRefiner`` kwargs (``channels``, ``dilations``) to refine masks at the grounding input
    resolution instead of a quarter of it; None (the published models) keeps the decoder's masks.

    ``min_region_score``: at inference, each connected region of a mask whose mean pixel probability is below this
    is dropped (0 keeps every region); a model's value is chosen on validation data.

    ``backbone``: ``"efficientnet_lite0"`` replaces the CLIP vision encoder and the Hiera trunk by one pretrained
    convolutional backbone that feeds both (``backbone.py``); ``vision`` then holds only the tile ``image_size``
    and ``patch_size`` 16, ``grounding`` the input size, feature sizes and FPN width. None: CLIP and Hiera.

    ``example_prompts``: ``ExampleEncoder`` kwargs (``hidden``) for "find all like these" prompts made from example
    masks (``examples.py``); None: the model takes text prompts only.

    ``max_gsd``: the coarsest ground sample distance, in metres per pixel, at which the model's masks hold up;
    georeferenced imagery coarser than this is upsampled to it (and so tiled) before the model sees it (see
    ``engine.geo.pipeline``). None: imagery is read at its own resolution. Chosen on validation data.
    """

    model_type = "geoground"

    def __init__(
        self,
        vision: dict[str, Any] | None = None,
        llm: dict[str, Any] | None = None,
        grounding: dict[str, Any] | None = None,
        mask_decoder: dict[str, Any] | None = None,
        memory: dict[str, Any] | None = None,
        tokenizer: dict[str, Any] | None = None,
        class_names: list[str] | None = None,
        use_class_memory: bool = True,
        hd_num: int = 9,
        max_tiles: int = 9,
        merge_size: int = 2,
        seg_token_id: int | None = None,
        phrase_start_token_id: int | None = None,
        phrase_end_token_id: int | None = None,
        ce_loss_weight: float = 1.0,
        bce_loss_weight: float = 2.0,
        dice_loss_weight: float = 0.5,
        class_loss_weight: float = 0.5,
        preset: str | None = None,
        partial_lora: dict[str, Any] | None = None,
        bos_before_image: bool = False,
        bf16_grounding_embedding: bool = False,
        chat_template: str = "geoground",
        min_region_score: float = 0.0,
        mask_refiner: dict[str, Any] | None = None,
        max_gsd: float | None = None,
        backbone: str | None = None,
        example_prompts: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if backbone not in (None, "efficientnet_lite0"):
            raise ValueError(f"unknown backbone {backbone!r}; known: efficientnet_lite0")
        self.backbone = backbone
        self.vision = dict(vision or {})
        self.llm = dict(llm or {"model_type": "llama"})
        self.grounding = dict(grounding or {})
        self.mask_decoder = dict(mask_decoder or {})
        self.memory = dict(memory or {"num_classes": 1, "memory_len": 8, "num_heads": 1})
        self.tokenizer = dict(tokenizer or {"kind": "byte"})
        self.class_names = list(class_names or ["object"])
        if not 0.0 <= min_region_score < 1.0:
            raise ValueError(f"min_region_score must be within [0, 1), got {min_region_score}")
        self.min_region_score = float(min_region_score)
        if max_gsd is not None and not max_gsd > 0:
            raise ValueError(f"max_gsd must be positive metres per pixel or None, got {max_gsd}")
        self.max_gsd = None if max_gsd is None else float(max_gsd)
        self.use_class_memory = use_class_memory
        self.mask_refiner = dict(mask_refiner) if mask_refiner else None
        self.example_prompts = dict(example_prompts) if example_prompts else None
        self.hd_num = hd_num
        self.max_tiles = max_tiles
        self.merge_size = merge_size
        self.seg_token_id = seg_token_id
        self.phrase_start_token_id = phrase_start_token_id
        self.phrase_end_token_id = phrase_end_token_id
        self.ce_loss_weight = ce_loss_weight
        self.bce_loss_weight = bce_loss_weight
        self.dice_loss_weight = dice_loss_weight
        self.class_loss_weight = class_loss_weight
        self.preset = preset
        self.partial_lora = dict(partial_lora) if partial_lora else None
        self.bos_before_image = bos_before_image
        self.bf16_grounding_embedding = bf16_grounding_embedding
        self.chat_template = chat_template
        if bos_before_image and kwargs.get("bos_token_id") is None and "bos_token_id" in self.llm:
            kwargs["bos_token_id"] = self.llm["bos_token_id"]  # the image prefix starts with the LLM's own bos
        super().__init__(**kwargs)

    # Typed views of the sub-configs, built on demand so the stored dicts stay the single source of truth.
    def vision_config(self) -> CLIPVisionConfig:
        return CLIPVisionConfig(**self.vision)

    def llm_config(self) -> PretrainedConfig:
        kwargs = dict(self.llm)
        model_type = kwargs.pop("model_type", "llama")
        return AutoConfig.for_model(model_type, **kwargs)

    def grounding_config(self) -> Sam2VisionConfig:
        return Sam2VisionConfig(**self.grounding)

    def mask_decoder_config(self) -> Sam2MaskDecoderConfig:
        config = Sam2MaskDecoderConfig(**self.mask_decoder)
        config._attn_implementation = "sdpa"
        return config

    def prompt_encoder_config(self) -> Sam2PromptEncoderConfig:
        size = self.grounding_image_size
        low_res = self.grounding_feature_sizes[-1][0]
        return Sam2PromptEncoderConfig(
            hidden_size=self.mask_decoder.get("hidden_size", 256), image_size=size, patch_size=size // low_res
        )

    @property
    def tile_size(self) -> int:
        return int(self.vision.get("image_size", 224))

    @property
    def patch_size(self) -> int:
        return int(self.vision.get("patch_size", 14))

    @property
    def grounding_image_size(self) -> int:
        size = self.grounding.get("backbone_config", {}).get("image_size", [1024, 1024])
        return int(size[0] if isinstance(size, (list, tuple)) else size)

    @property
    def grounding_feature_sizes(self) -> list[list[int]]:
        return self.grounding.get("backbone_feature_sizes", [[256, 256], [128, 128], [64, 64]])

    @property
    def llm_hidden_size(self) -> int:
        return int(self.llm["hidden_size"])

    @property
    def mask_dim(self) -> int:
        return int(self.mask_decoder.get("hidden_size", 256))
