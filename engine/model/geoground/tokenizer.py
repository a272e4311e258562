"""Tokenizer creation, kept behind one function so a preset can switch from our byte tokenizer to a pretrained one.

The byte-level tokenizer needs no download: 256 byte symbols and no merges, so any text (any language, any
markup) round-trips exactly. It is a real ``tokenizers`` pipeline wrapped as a transformers fast tokenizer, so it
saves and loads with the model folder like any other.
"""

from __future__ import annotations

from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import AutoTokenizer, PreTrainedTokenizerBase, PreTrainedTokenizerFast

from .configuration import END_TOKEN, PAD_TOKEN, PHRASE_END, PHRASE_START, SEG_TOKEN, SPECIAL_TOKENS, GeoGroundConfig

_EXTRA_SPECIAL = [token for token in SPECIAL_TOKENS if token not in (END_TOKEN, PAD_TOKEN)]


def byte_tokenizer() -> PreTrainedTokenizerFast:
    """A deterministic byte-level tokenizer with our special tokens appended after the 256 byte symbols."""
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    backend = Tokenizer(models.BPE(vocab={symbol: index for index, symbol in enumerate(alphabet)}, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, eos_token=END_TOKEN, pad_token=PAD_TOKEN, extra_special_tokens=_EXTRA_SPECIAL
    )


def build_tokenizer(config: GeoGroundConfig) -> PreTrainedTokenizerBase:
    """The tokenizer a config asks for: ``{"kind": "byte"}`` or ``{"kind": "pretrained", "path": local folder}``."""
    kind = config.tokenizer.get("kind", "byte")
    if kind == "byte":
        return byte_tokenizer()
    if kind == "pretrained":
        tokenizer = AutoTokenizer.from_pretrained(config.tokenizer["path"], trust_remote_code=False)  # nosec B615
        tokenizer.add_special_tokens({"eos_token": END_TOKEN, "pad_token": PAD_TOKEN})
        tokenizer.add_special_tokens({"additional_special_tokens": _EXTRA_SPECIAL})
        return tokenizer
    raise ValueError(f"unknown tokenizer kind {kind!r} (expected 'byte' or 'pretrained')")


def byte_vocab_size() -> int:
    return len(byte_tokenizer())


def bind_token_ids(config: GeoGroundConfig, tokenizer: PreTrainedTokenizerBase) -> None:
    """Record the special token ids in the config so the model needs no tokenizer at run time."""
    config.seg_token_id = tokenizer.convert_tokens_to_ids(SEG_TOKEN)
    config.phrase_start_token_id = tokenizer.convert_tokens_to_ids(PHRASE_START)
    config.phrase_end_token_id = tokenizer.convert_tokens_to_ids(PHRASE_END)
    config.eos_token_id = tokenizer.eos_token_id
    config.pad_token_id = tokenizer.pad_token_id
    if len(tokenizer) > config.llm["vocab_size"]:
        raise ValueError(f"tokenizer has {len(tokenizer)} tokens but the LLM vocabulary is {config.llm['vocab_size']}")
