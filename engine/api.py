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
from dataclasses import dataclass, replace

import numpy as np
import torch

from .errors import ModelNotFoundError
from .hub.registry import load_family
from .model.chat import Conversation, EmptyPromptError, PromptTooLongError, check_prompt, context_length
from .model.family import ExamplesNotSupportedError, ModelFamily, family_class, make_segment
from .types import Cancelled, InferenceSettings, Reply, Segment, Turn

__all__ = [
    "Cancelled",
    "Conversation",
    "DeviceOutOfMemoryError",
    "EmptyPromptError",
    "Engine",
    "ExampleFinder",
    "ExamplesNotSupportedError",
    "ImageInputError",
    "InferenceSettings",
    "ModelNotFoundError",
    "PromptTooLongError",
    "Reply",
    "Segment",
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

    return to_rgb8(image, nodata=nodata)  # channels-last or (bands, H, W): see imagery.is_channels_last


class Engine:
    """A loaded model on one device, answering questions about images with the given inference settings.

    The model is never changed by a call: per-image state lives in the :class:`Conversation`, and the settings are
    this engine's own (``with_settings`` gives an engine with others over the same model).
    """

    def __init__(
        self, family: ModelFamily, plan: DevicePlan, name: str, settings: InferenceSettings | None = None
    ) -> None:
        self.family = family
        self.model = family.model
        self.tokenizer = family.tokenizer
        self.device = plan.device
        self.dtype = plan.dtype
        self.name = name
        self.settings = settings if settings is not None else family.default_settings()

    @classmethod
    def from_model(cls, model, tokenizer, plan: DevicePlan | None = None, name: str = "model", **settings) -> Engine:
        """An engine over a model already built (its family from ``config.model_type``), e.g. one being trained."""
        family = family_class(model.config.model_type)(model, tokenizer)
        defaults = family.default_settings()
        return cls(family, plan or plan_device("cpu"), name, replace(defaults, **settings))

    @property
    def view_size(self) -> int:
        """The image side the model sees at full detail: larger views are better tiled."""
        return self.family.view_size

    @property
    def max_gsd(self) -> float | None:
        """Metres per pixel above which georeferenced imagery is upsampled for this engine (None: never)."""
        return self.settings.max_gsd

    def with_settings(self, **changes) -> Engine:
        """The same loaded model with other inference settings (``min_region_score``, ``max_gsd``)."""
        plan = DevicePlan(self.device, self.dtype)
        return type(self)(self.family, plan, self.name, replace(self.settings, **changes))

    @classmethod
    def load(
        cls,
        model: str = "tiny",
        device: str | torch.device = "auto",
        dtype: str | torch.dtype = "auto",
        cache_dir: str | None = None,
        **settings,
    ) -> Engine:
        """Load a preset name, published name, local folder or hub id (``str`` or ``os.PathLike``; see
        ``engine.hub.registry.resolve``) onto ``device`` in ``dtype``; ``settings`` override the model's saved
        inference settings (``min_region_score``, ``max_gsd``).

        A saved model's weights are read straight into ``dtype`` on ``device``, so loading needs about the weights'
        size in that dtype, not a float32 copy first. Raises ``TypeError`` when ``model`` is not a string or path
        (None is a programming error, not a model called "None"), and :class:`ModelNotFoundError`, with a one-line
        message naming the folder, when the model cannot be found or its folder is incomplete or corrupt (unreadable
        safetensors, missing, unexpected or misshapen weights, no tokenizer).
        """
        plan = plan_device(device, dtype)
        with _oom_guard():
            family, source = load_family(model, cache_dir, dtype=plan.dtype, device=plan.device)
            family.model = family.model.to(device=plan.device, dtype=plan.dtype)  # casts a random preset
        return cls(family, plan, source.name, replace(family.default_settings(), **settings))

    @property
    def context_length(self) -> int:
        """Positions the language model reads at once: image, question and answer together."""
        return context_length(self.model)

    def check_question(self, text: str) -> str:
        """``text`` stripped, or :class:`EmptyPromptError` / :class:`PromptTooLongError` with a message to show."""
        return check_prompt(text, self.tokenizer, self.context_length)

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
            question = self.check_question(conversation)
            if image is None:
                raise ImageInputError("an image is needed to start a conversation")
            conversation = self.new_conversation(image, nodata=nodata)
            conversation.turns.append(Turn("user", question))
        elif image is not None and image is not conversation.source and image is not conversation.image:
            raise ImageInputError("this conversation is about another image: pass image=None or start a new one")
        if not conversation.awaiting_answer:
            raise EmptyPromptError("the conversation has no new question: call conversation.ask(text) first")
        self.check_question(conversation.turns[-1].text)
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
        question = self.check_question(question)
        conversations = [self.new_conversation(image, nodata=nodata) for image in images]
        for conversation in conversations:
            conversation.turns.append(Turn("user", question))
        replies: list[Reply] = []
        with _oom_guard():
            for start in range(0, len(conversations), batch_size):
                chunk = conversations[start : start + batch_size]
                replies += self._answer(chunk, max_new_tokens, None, should_stop, False, 1.0, 1.0, None)
        return replies

    # --- show one, find all ------------------------------------------------------------------------------------
    @property
    def takes_examples(self) -> bool:
        """Whether this model finds objects like examples (:meth:`example_prompt`, :meth:`find_like`)."""
        return self.family.takes_examples

    @torch.inference_mode()
    def example_prompt(self, image: np.ndarray, masks, *, nodata: float | None = None):
        """A prompt made of example objects: ``masks`` bool ``(K, H, W)`` (or a list of ``(H, W)``) on ``image``,
        one per example. Prompts of several images combine with ``ExamplePrototypes.concat``. Raises
        :class:`ExamplesNotSupportedError` for a model without an example encoder, ``ValueError`` for an empty or
        misshapen mask."""
        rgb, valid = prepare_image(image, nodata)
        stack = np.asarray(masks, dtype=bool)
        if stack.ndim == 2:
            stack = stack[None]
        if stack.ndim != 3 or stack.shape[1:] != rgb.shape[:2]:
            raise ValueError(f"example masks must be (K, {rgb.shape[0]}, {rgb.shape[1]}), got {stack.shape}")
        stack = stack & valid
        if stack.shape[0] == 0 or not stack.reshape(stack.shape[0], -1).any(1).all():
            raise ValueError("every example needs at least one valid pixel")
        with _oom_guard():
            return self.family.example_prototypes(rgb, torch.from_numpy(stack))

    def find_like(self, image: np.ndarray, examples, *, phrase: str = "object", nodata: float | None = None) -> Reply:
        """Everything in ``image`` like the examples (an :meth:`example_prompt`), as one segment named ``phrase``
        (its connected regions are the instances)."""
        return self.find_like_batch([image], examples, phrase=phrase, nodata=nodata)[0]

    @torch.inference_mode()
    def find_like_batch(
        self, images: list[np.ndarray], examples, *, phrase: str = "object", nodata: float | None = None
    ) -> list[Reply]:
        prepared = [prepare_image(image, nodata) for image in images]
        with _oom_guard():
            logits = self.family.find_like([rgb for rgb, _ in prepared], examples)
        replies = []
        for (_, valid), row in zip(prepared, logits, strict=True):
            segment = make_segment(row, valid, self.settings, phrase, None)
            replies.append(Reply(f"<p>{phrase}</p>", [segment], f"<p>{phrase}</p>[SEG]"))
        return replies

    def finder(self, examples, phrase: str = "object") -> ExampleFinder:
        """A model for the geo pipeline (``segment_raster``, ``segment_view``) that answers every question with
        the objects like ``examples``."""
        if not self.takes_examples:
            raise ExamplesNotSupportedError(f"the model {self.name} has no example encoder: it takes text prompts only")
        return ExampleFinder(self, examples, phrase)

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
        """``(T, hidden)`` LLM input: the image (encoded once per conversation), then the rendered turns."""
        if conversation.features is None:
            conversation.features = self.family.encode_image(conversation.image)
        return self.family.prompt(conversation)

    def _decode(self, conversations: list[Conversation], embeds: torch.Tensor, options: dict) -> list:
        """Generation results for equally long prompts ``(B, T, hidden)``."""
        return self.family.decode(conversations, embeds, options)

    def _reply(self, conversation: Conversation, result) -> Reply:
        text, segments = self.family.segments(conversation, result, self.settings)
        conversation.turns.append(Turn("assistant", result.text))
        return Reply(text, segments, result.text)


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


class ExampleFinder:
    """An :class:`Engine` bound to example prompts, with the ``chat``/``chat_batch`` the geo pipeline calls: the
    question is ignored, every image is answered with the objects like the examples."""

    def __init__(self, engine: Engine, examples, phrase: str = "object") -> None:
        self.engine = engine
        self.examples = examples
        self.phrase = phrase
        self.name = engine.name

    @property
    def view_size(self) -> int:
        return self.engine.view_size

    @property
    def max_gsd(self) -> float | None:
        return self.engine.max_gsd

    def chat(self, image: np.ndarray, conversation=None, **_options) -> Reply:
        return self.engine.find_like(image, self.examples, phrase=self.phrase)

    def chat_batch(
        self, images: list[np.ndarray], question=None, *, batch_size: int = 4, should_stop=None, **_options
    ) -> list[Reply]:
        replies: list[Reply] = []
        for start in range(0, len(images), batch_size):
            if should_stop is not None and should_stop():
                raise Cancelled("cancelled")
            chunk = images[start : start + batch_size]
            replies += self.engine.find_like_batch(chunk, self.examples, phrase=self.phrase)
        return replies
