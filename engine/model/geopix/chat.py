"""Chatting with a converted GeoPix checkpoint the way the released inference does.

- Prompt: LLaVA-1.5's "v1" conversation, ``{SYSTEM} USER: <image>\\n{task tag} {question} ASSISTANT:``, later turns
  appended as ``{answer}</s>USER: {question} ASSISTANT:``. The model was trained with a task tag in front of each
  question (``[segment]``, ``[refer]``, ``[caption]``, ``[Visual Question Answering]``); a question without one gets
  the tag its wording asks for (:func:`tagged`).
- Image: the released code hands the CLIP processor the array ``cv2.imread`` gives, so the published weights see
  blue-green-red (``GeoPixConfig.channel_order``). A non-square image is padded to a square with the processor's
  mean colour first (LLaVA's own "pad" mode) so masks map back to every pixel; the released code centre-crops
  instead and stretches the masks of the crop over the whole image. Square images are processed identically.
- One CLIP pass serves the LLM (its image rows replace the ``<image>`` token) and the mask side (the two necks).
- Generation: greedy, up to 256 tokens, stops at ``</s>``. Each complete run ``[SEG0]..[SEG5]`` is one mask, made
  from the six hidden states that PREDICT the run's tokens (``seg_state="output"``). The 128x128 logits are resized
  bilinearly to the image and thresholded at 0.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from transformers import CLIPImageProcessorPil, PreTrainedTokenizerBase
from transformers.image_utils import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD

from ...types import Turn
from ..generation import GenerationResult, generate_batch
from .model import GeoPixModel

SYSTEM = (
    "A chat between a curious human and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the human's questions."
)
IMAGE_TOKEN = "<image>"  # noqa: S105 - a vocabulary entry, not a secret
SEGMENT, REFER, CAPTION, VQA = "[segment]", "[refer]", "[caption]", "[Visual Question Answering]"
TASK_TAGS = (SEGMENT, REFER, CAPTION, VQA)
_SEGMENT_WORDS = re.compile(r"\b(segment\w*|masks?|outline\w*|delineat\w*|extract\w*)\b", re.IGNORECASE)
_CAPTION_WORDS = re.compile(r"\b(describe|description|caption)\b", re.IGNORECASE)
_REFER_WORDS = re.compile(r"\b(bounding box(es)?|box(es)?|where is|where are|locate)\b", re.IGNORECASE)


def tagged(question: str) -> str:
    """``question`` with a task tag in front: its own when it starts with one, else the tag its wording asks for
    (segment, outline, mask, extract -> [segment]; describe, caption -> [caption]; where is, locate, box ->
    [refer]; anything else -> [Visual Question Answering])."""
    text = question.strip()
    for tag in TASK_TAGS:
        if text.lower().startswith(tag.lower()):
            return tag + text[len(tag) :]
    if _SEGMENT_WORDS.search(text):
        tag = SEGMENT
    elif _CAPTION_WORDS.search(text):
        tag = CAPTION
    elif _REFER_WORDS.search(text):
        tag = REFER
    else:
        tag = VQA
    return f"{tag} {text}"


def render(turns: Sequence[Turn]) -> str:
    """The conversation in LLaVA-1.5's v1 template, ending with ``ASSISTANT:`` for the answer to come."""
    parts = [SYSTEM, " "]
    for index, turn in enumerate(turns):
        if turn.role == "user":
            question = tagged(turn.text)
            parts.append(f"USER: {IMAGE_TOKEN}\n{question} " if index == 0 else f"USER: {question} ")
        elif turn.role == "assistant":
            parts.append(f"ASSISTANT: {turn.text}</s>")
    parts.append("ASSISTANT:")
    return "".join(parts)


def image_processor(folder: str | Path | None, image_size: int) -> CLIPImageProcessorPil:
    """The checkpoint's CLIP processor (``preprocessor_config.json``), else CLIP's defaults at ``image_size``.

    The PIL implementation, as the released code used: it gives the reference's pixel values exactly.
    """
    if folder is not None and (Path(folder) / "preprocessor_config.json").is_file():
        return CLIPImageProcessorPil.from_pretrained(folder)  # nosec B615 - a local folder
    side = {"height": image_size, "width": image_size}
    return CLIPImageProcessorPil(
        size={"shortest_edge": image_size}, crop_size=side, image_mean=OPENAI_CLIP_MEAN, image_std=OPENAI_CLIP_STD
    )


@dataclass
class GeoPixImage:
    """An image encoded once for a whole conversation."""

    llm_rows: torch.Tensor  # (P, hidden): what replaces the <image> token
    mask_features: list[torch.Tensor]  # neck outputs, (1, C, S, S) per level
    side: int  # the padded square's side in image pixels
    offset: tuple[int, int]  # (top, left) of the image inside that square


def pad_to_square(image: np.ndarray, fill: Sequence[float]) -> tuple[np.ndarray, tuple[int, int]]:
    """``uint8 (H, W, 3)`` centred in a square of ``fill`` colour (0-255 per channel); returns it and (top, left)."""
    height, width = image.shape[:2]
    side = max(height, width)
    if height == width:
        return image, (0, 0)
    top, left = (side - height) // 2, (side - width) // 2
    square = np.empty((side, side, 3), dtype=np.uint8)
    square[:] = np.round(np.asarray(fill, dtype=np.float64)).astype(np.uint8)
    square[top : top + height, left : left + width] = image
    return square, (top, left)


@torch.inference_mode()
def encode_image(model: GeoPixModel, processor: CLIPImageProcessorPil, image: np.ndarray) -> GeoPixImage:
    """``uint8 (H, W, 3)`` RGB -> the LLM's image rows and the mask features, in the model's channel order."""
    pixels = image[..., ::-1] if model.config.channel_order == "bgr" else image
    fill = [255 * m for m in processor.image_mean]
    square, offset = pad_to_square(np.ascontiguousarray(pixels), fill)
    values = processor(images=square, return_tensors="pt")["pixel_values"]
    parameter = next(model.parameters())
    rows, features = model.encode_image(values.to(device=parameter.device, dtype=parameter.dtype))
    return GeoPixImage(rows[0], features, square.shape[0], offset)


def prompt_embeds(
    model: GeoPixModel, tokenizer: PreTrainedTokenizerBase, image: GeoPixImage, turns: Sequence[Turn]
) -> torch.Tensor:
    """``(T, hidden)``: the rendered conversation's token embeddings with the image rows at ``<image>``."""
    ids = tokenizer(render(turns))["input_ids"]
    image_id = model.config.llava_config().image_token_index
    if ids.count(image_id) != 1:
        raise ValueError(f"the GeoPix prompt must hold one {IMAGE_TOKEN} token (id {image_id}); check the tokenizer")
    at = ids.index(image_id)
    embeds = model.vlm.get_input_embeddings()(torch.tensor(ids, device=image.llm_rows.device))
    return torch.cat([embeds[:at], image.llm_rows.to(embeds.dtype), embeds[at + 1 :]])


def generate(
    model: GeoPixModel, tokenizer: PreTrainedTokenizerBase, embeds: torch.Tensor, **options
) -> list[GenerationResult]:
    """Decode a batch of equally long prompts ``(B, T, hidden)``, keeping the states that predict [SEG0]..[SEG5]."""
    return generate_batch(
        model, tokenizer, embeds, seg_token_ids=model.config.seg_token_ids, seg_state="output", **options
    )


def seg_runs(result: GenerationResult, seg_token_ids: Sequence[int]) -> torch.Tensor:
    """``(runs, 6, hidden)`` states of each complete ``[SEG0]..[SEG5]`` run of a generation result."""
    seg_set = set(seg_token_ids)
    order = {}
    for position, token in enumerate(result.token_ids):
        if token in seg_set:
            order[position] = len(order)
    starts = GeoPixModel.seg_groups(torch.tensor(result.token_ids, dtype=torch.long), list(seg_token_ids))
    if not starts:
        return result.seg_states.new_zeros(0, len(seg_token_ids), result.seg_states.shape[-1])
    index = torch.tensor([[order[s + k] for k in range(len(seg_token_ids))] for s in starts])
    return result.seg_states[index.to(result.seg_states.device)]


def marked_text(text: str, tokenizer: PreTrainedTokenizerBase, seg_token_ids: Sequence[int]) -> str:
    """The answer with each complete ``[SEG0]..[SEG5]`` run written as one ``[SEG]`` (GeoGround's markup)."""
    run = tokenizer.decode(list(seg_token_ids), skip_special_tokens=False, clean_up_tokenization_spaces=False)
    return text.replace(run, "[SEG]")


@torch.inference_mode()
def masks(model: GeoPixModel, image: GeoPixImage, runs: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Mask logits ``(runs, H, W)`` at the image's size for the states of complete [SEG] runs."""
    logits = model.predict_masks(image.mask_features, runs.to(next(model.parameters()).dtype))
    side = image.side
    square = F.interpolate(logits[:, None].float(), size=(side, side), mode="bilinear", align_corners=False)[:, 0]
    top, left = image.offset
    return square[:, top : top + size[0], left : left + size[1]]
