"""The small facade the CLI, the Processing provider and the QGIS plugin all use.

    engine = Engine.load("tiny")
    reply = engine.chat(image, "segment all storage tanks")

    conversation = engine.new_conversation(image)
    conversation.ask("describe the harbour")
    first = engine.chat(image, conversation)
    conversation.ask("now outline every ship")
    second = engine.chat(image, conversation)   # the image is not encoded again

Images: ``uint8 (H, W, 3)`` RGB is used as is. Anything else (``(H, W)``, ``(bands, H, W)`` of any dtype, a
channels-last array with 1, 2 or 4 channels, NaN or nodata pixels) goes through ``imagery.to_rgb8``, whose band
mapping and percentile stretch are documented there. Masks come back at the given image's height and width, and
pixels without data are never part of a mask.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .model.chat import Conversation, EmptyPromptError, check_prompt, encode, template_for
from .registry import ModelNotFoundError, load_model
from .types import Cancelled, Reply, Segment, Turn

__all__ = [
    "Cancelled",
    "Conversation",
    "DeviceOutOfMemoryError",
    "EmptyPromptError",
    "Engine",
    "ImageInputError",
    "ModelNotFoundError",
]


class DeviceOutOfMemoryError(RuntimeError):
    """The accelerator ran out of memory; a smaller image or the CPU will work."""


class ImageInputError(ValueError):
    """The image argument is not an array the engine can read."""


@dataclass(frozen=True)
class DevicePlan:
    device: torch.device
    dtype: torch.dtype


_DTYPES = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}
_DTYPES |= {"float16": torch.float16, "fp16": torch.float16}


def plan_device(device: str | torch.device = "auto", dtype: str | torch.dtype = "auto") -> DevicePlan:
    """``auto``: CUDA when present (bf16 where supported, else fp16), otherwise CPU in float32."""
    if str(device) == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("CUDA was requested but no CUDA device is available")
    if isinstance(dtype, torch.dtype):
        return DevicePlan(device, dtype)
    if dtype == "auto":
        if device.type == "cuda":
            return DevicePlan(device, torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)
        return DevicePlan(device, torch.float32)
    if dtype not in _DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; use auto, float32, bfloat16 or float16")
    return DevicePlan(device, _DTYPES[dtype])


def prepare_image(image: np.ndarray, nodata: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``uint8 (H, W, 3)`` RGB and its bool valid-pixel mask."""
    if not isinstance(image, np.ndarray):
        raise ImageInputError(f"the image must be a numpy array, got {type(image).__name__}")
    if image.size == 0:
        raise ImageInputError(f"the image is empty (shape {image.shape})")
    if image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3 and nodata is None:
        return image, np.ones(image.shape[:2], dtype=bool)
    from .imagery import to_rgb8

    if image.ndim == 3 and image.shape[2] <= 4 < image.shape[0]:
        image = np.moveaxis(image, 2, 0)  # channels-last -> the raster layout (bands, H, W)
    return to_rgb8(image, nodata=nodata)


class Engine:
    """A loaded model on one device, answering questions about images."""

    def __init__(self, model, tokenizer, plan: DevicePlan, name: str) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.device = plan.device
        self.dtype = plan.dtype
        self.name = name

    @property
    def view_size(self) -> int:
        """The image side the model sees at full detail (its grounding input): larger views are better tiled."""
        return int(self.model.config.grounding_image_size)

    @property
    def max_gsd(self) -> float | None:
        """Metres per pixel above which georeferenced imagery is upsampled for this model (None: never)."""
        return getattr(self.model.config, "max_gsd", None)

    @classmethod
    def load(
        cls,
        model: str = "tiny",
        device: str | torch.device = "auto",
        dtype: str | torch.dtype = "auto",
        cache_dir: str | None = None,
    ) -> Engine:
        """Load a preset name, local folder or hub id (see ``registry.resolve``) onto ``device``."""
        plan = plan_device(device, dtype)
        network, tokenizer, source = load_model(model, cache_dir)
        with _oom_guard():
            network = network.to(device=plan.device, dtype=plan.dtype)
        if network.config.model_type == "geopix":
            from .geopix_engine import GeoPixEngine
            from .model.geopix_chat import image_processor

            side = network.config.llava_config().vision_config.image_size
            return GeoPixEngine(network, tokenizer, plan, source.name, image_processor(source.folder, side))
        return cls(network, tokenizer, plan, source.name)

    def new_conversation(self, image: np.ndarray, *, nodata: float | None = None, system: str | None = None):
        rgb, valid = prepare_image(image, nodata)
        return Conversation(rgb, valid, system=system, source=image)

    def chat(
        self,
        image: np.ndarray | None,
        conversation: str | Conversation,
        *,
        max_new_tokens: int = 256,
        on_text: Callable[[str], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        do_sample: bool = False,
        temperature: float = 0.7,
        top_p: float = 0.9,
        seed: int | None = None,
        nodata: float | None = None,
    ) -> Reply:
        """Answer the last question of ``conversation`` (or a single question string) about ``image``.

        With a :class:`Conversation`, ``image`` may be None (the conversation holds it); the reply is appended to
        the conversation. Raises :class:`Cancelled` when ``should_stop()`` returns True.
        """
        if isinstance(conversation, str):
            question = check_prompt(conversation)
            if image is None:
                raise ImageInputError("an image is needed to start a conversation")
            conversation = self.new_conversation(image, nodata=nodata)
            conversation.turns.append(Turn("user", question))
        elif image is not None and image is not conversation.source and image is not conversation.image:
            raise ImageInputError("this conversation is about another image: pass image=None or start a new one")
        if not conversation.awaiting_answer:
            raise EmptyPromptError("the conversation has no new question: call conversation.ask(text) first")
        with _oom_guard():
            options = (max_new_tokens, on_text, should_stop, do_sample, temperature, top_p, seed)
            return self._answer([conversation], *options)[0]

    def chat_batch(
        self,
        images: list[np.ndarray],
        question: str,
        *,
        batch_size: int = 4,
        max_new_tokens: int = 256,
        should_stop: Callable[[], bool] | None = None,
        nodata: float | None = None,
    ) -> list[Reply]:
        """The same question about several images (the tiles of one raster), decoded ``batch_size`` at a time.

        Each reply is the one ``chat(image, question)`` gives (greedy decoding; images whose prompts differ in
        length go in separate batches). Raises :class:`Cancelled` when ``should_stop()`` returns True.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        question = check_prompt(question)
        conversations = [self.new_conversation(image, nodata=nodata) for image in images]
        for conversation in conversations:
            conversation.turns.append(Turn("user", question))
        replies: list[Reply] = []
        with _oom_guard():
            for start in range(0, len(conversations), batch_size):
                chunk = conversations[start : start + batch_size]
                replies += self._answer(chunk, max_new_tokens, None, should_stop, False, 1.0, 1.0, None)
        return replies

    @torch.inference_mode()
    def _answer(self, conversations, max_new_tokens, on_text, should_stop, do_sample, temperature, top_p, seed):
        """Replies to the last question of each conversation; rows of equal prompt length are decoded together."""
        embeds = [self._prompt(conversation) for conversation in conversations]
        groups: dict[int, list[int]] = {}
        for index, row in enumerate(embeds):
            groups.setdefault(row.shape[0], []).append(index)
        options = {"max_new_tokens": max_new_tokens, "do_sample": do_sample, "temperature": temperature}
        options |= {"top_p": top_p, "seed": seed, "on_text": on_text, "should_stop": should_stop}
        results: dict[int, object] = {}
        for members in groups.values():
            rows = torch.stack([embeds[i] for i in members])
            outputs = self._decode([conversations[i] for i in members], rows, options)
            results.update(zip(members, outputs, strict=True))
        if any(result.finish_reason == "cancelled" for result in results.values()):
            raise Cancelled("generation was cancelled")
        return [self._reply(conversation, results[index]) for index, conversation in enumerate(conversations)]

    def _prompt(self, conversation: Conversation) -> torch.Tensor:
        """``(T, hidden)`` LLM input: the image prefix (encoded once per conversation), then the rendered turns."""
        model = self.model
        if conversation.features is None:
            conversation.features = model.encode_image(conversation.image)
        ids, _ = encode(self.tokenizer, conversation.turns, conversation.system, True, template_for(model.config))
        text_embeds = model.embed_tokens(torch.tensor(ids, device=self.device))
        return torch.cat([conversation.features.tokens, text_embeds])

    def _decode(self, conversations: list[Conversation], embeds: torch.Tensor, options: dict) -> list:
        """Generation results for equally long prompts ``(B, T, hidden)``."""
        from .model.generation import generate_batch

        with self.model.image_prefix([c.features for c in conversations]):  # image-only LoRA (GeoPixel)
            return generate_batch(self.model, self.tokenizer, embeds, **options)

    def _reply(self, conversation: Conversation, result) -> Reply:
        from .model.grounded_text import parse_grounded

        grounded = parse_grounded(result.text)
        segments = self._segments(conversation, result.seg_states, grounded.phrases)
        conversation.turns.append(Turn("assistant", result.text))
        return Reply(grounded.text, segments, result.text)

    def _segments(self, conversation: Conversation, states: torch.Tensor, phrases: list[str]) -> list[Segment]:
        if states.shape[0] == 0:
            return []
        model = self.model
        index = torch.zeros(states.shape[0], dtype=torch.long, device=states.device)
        prediction = model.seg_masks([conversation.features], states, index)
        names = model.config.class_names
        labels = prediction.class_logits.argmax(-1).tolist()
        segments = []
        min_score = getattr(model.config, "min_region_score", 0.0)
        if min_score > 0:
            from .geo.vectorize import drop_weak_regions
        for n in range(states.shape[0]):
            logits = prediction.logits_at(n, conversation.size).float()
            mask = (logits > 0).cpu().numpy() & conversation.valid
            probability = logits.sigmoid().cpu().numpy()
            if min_score > 0:
                mask = drop_weak_regions(mask, probability, min_score)
            phrase = phrases[n] if n < len(phrases) else ""
            score = float(prediction.iou[n].float().clamp(0, 1))
            segments.append(Segment(phrase, mask, score, names[labels[n]], probability))
        return segments


class _oom_guard:
    """Turn an accelerator out-of-memory error into :class:`DeviceOutOfMemoryError` with a usable message."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> None:
        if kind is not None and issubclass(kind, torch.OutOfMemoryError):
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            raise DeviceOutOfMemoryError(
                "the GPU ran out of memory; try a smaller area, fewer tiles, or the CPU"
            ) from error
