"""Checks of an instruction against a model, made before the model loads: loading takes seconds to minutes, and a
question it cannot take should be refused at once.

Only the model's ``config.json`` and tokenizer are read. A model not on disk yet (a hub id or a published name not
converted) is checked for emptiness only here; the engine checks the length again once it is loaded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..model.chat import check_prompt
from .published import prepared_folder
from .registry import PRETRAINED_DIR, RANDOM, SHIPPED


def check_instruction(text: str, model: str | Path | None, cache_dir: str | Path | None = None) -> str:
    """``text`` stripped, or :class:`~engine.model.chat.EmptyPromptError` /
    :class:`~engine.model.chat.PromptTooLongError` with a message for the user."""
    check_prompt(text)  # empty: refused whatever the model
    found = _tokenizer_and_context(model, cache_dir) if isinstance(model, (str, Path)) else None
    if found is None:
        return text.strip()
    return check_prompt(text, *found)


def _tokenizer_and_context(model: str | Path, cache_dir: str | Path | None) -> tuple[Any, int] | None:
    name = str(model).strip()
    if name in RANDOM:
        from ..model.geoground.presets import preset_config
        from ..model.geoground.tokenizer import build_tokenizer

        config = preset_config(name)
        return build_tokenizer(config), int(config.llm_config().max_position_embeddings)
    folder = PRETRAINED_DIR / name if name in SHIPPED else Path(name).expanduser()
    if not folder.is_dir():
        folder = prepared_folder(name, cache_dir)
    if folder is None or not (folder / "config.json").is_file():
        return None
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        from ..model.family import family_class

        family = family_class(config.get("model_type"))
        context = family.context_in(config)
        if context is None:
            return None
        tokenizer = family.tokenizer_from(folder)
    except (OSError, ValueError):  # ModelNotFoundError too: a broken folder is reported by the loader, in its words
        return None
    return tokenizer, context
