"""Resolve a model argument to weights: a shipped preset, the random ``tiny`` model, a local folder, a published
checkpoint by name (``GeoPixel-7B``, ``GeoPixel-7B-RES``; see ``engine.published``) or a hub id.

Hub ids go through ``huggingface_hub.snapshot_download``, so the standard cache is used and ``HF_HUB_OFFLINE=1``
works with whatever is already cached. Published names are downloaded and converted once by
``published.prepare_published``; they are not hub ids.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ModelNotFoundError, first_line

if TYPE_CHECKING:
    import torch

PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"
# Presets whose trained weights ship (or will ship) as a folder under engine/pretrained/.
SHIPPED = ("demo", "lite")
# The model the CLI, the Python service and the plugin use when none is named.
DEFAULT_MODEL = "demo"
# Presets loaded with random weights, for tests and smoke runs.
RANDOM = ("tiny",)
RANDOM_SEED = 0
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+(@[\w./-]+)?$")  # org/name or org/name@revision


def hub_reference(model: str | Path) -> tuple[str, str | None] | None:
    """``(repo_id, revision or None)`` when ``model`` names a hub repository (``org/name[@revision]``); None for the
    presets, the published names (they have no ``/``), existing local folders and anything else. Light: callers on a
    GUI thread may use it freely."""
    name = str(model).strip()
    if name in RANDOM + SHIPPED or Path(name).expanduser().is_dir() or not _HUB_ID.match(name):
        return None
    repo_id, _, revision = name.partition("@")  # "org/name@revision" pins a commit, tag or branch
    return repo_id, revision or None


@dataclass(frozen=True)
class ModelSource:
    name: str  # what to show the user
    folder: Path | None  # saved model folder, or None for a random preset
    preset: str | None = None


def _valid_names() -> str:
    from .published import published_names

    published = ", ".join(published_names())
    presets = ", ".join(RANDOM + SHIPPED)
    return f"presets {presets}, published models {published}, a local model folder, or a hub id 'org/name'"


def _model_type(folder: Path) -> str | None:
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:  # unreadable, not UTF-8, not JSON
        raise ModelNotFoundError(f"{folder}/config.json does not read as a model config: {first_line(error)}") from None
    if not isinstance(config, dict):
        raise ModelNotFoundError(f"{folder}/config.json does not read as a model config: not a JSON object")
    return config.get("model_type")


def _check_folder(folder: Path) -> Path:
    config = folder / "config.json"
    if not config.is_file():
        raise ModelNotFoundError(f"{folder} is not a model folder (no config.json)")
    model_type = _model_type(folder)
    from ..model.family import FAMILIES  # imported here: resolving a name must stay light (no torch)

    if model_type not in FAMILIES:
        raise ModelNotFoundError(f"{folder} holds a {model_type!r} model, not a GeoGround or converted GeoPix model")
    return folder


def resolve(model: str | Path, cache_dir: str | Path | None = None) -> ModelSource:
    """Where the weights of ``model`` (a name, hub id or folder path: ``str`` or ``os.PathLike``) are.

    Anything else (None, a number, a model object) is a ``TypeError``: taken as text it would be looked up as a
    model called "None". A string that leads to no model is a :class:`ModelNotFoundError`.
    """
    if not isinstance(model, (str, os.PathLike)):
        raise TypeError(f"the model must be a name, hub id or folder path (str or Path), not {type(model).__name__}")
    name = str(model).strip()
    if not name:
        raise ModelNotFoundError(f"no model given; valid: {_valid_names()}")
    if name in RANDOM:
        return ModelSource(f"{name} (random weights, seed {RANDOM_SEED})", None, name)
    if name in SHIPPED:
        folder = PRETRAINED_DIR / name
        if not folder.is_dir():
            raise ModelNotFoundError(f"the {name} model weights are not installed (expected in {folder})")
        return ModelSource(name, _check_folder(folder), name)
    path = Path(name).expanduser()
    if path.is_dir():
        return ModelSource(str(path), _check_folder(path))
    from .published import find_published, prepare_published

    published = find_published(name)
    if published is not None:
        entry, revision = published
        shown = entry.name if revision == entry.revision else f"{entry.name}@{revision}"
        return ModelSource(shown, _check_folder(prepare_published(name, cache_dir)))
    hub = hub_reference(name)
    if hub is not None:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

        repo_id, revision = hub
        try:
            folder = snapshot_download(repo_id=repo_id, revision=revision, cache_dir=cache_dir)  # nosec B615
        except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as error:
            raise ModelNotFoundError(f"cannot get {name!r} from the Hugging Face hub or its cache: {error}") from None
        return ModelSource(name, _check_folder(Path(folder)))
    raise ModelNotFoundError(f"unknown model {name!r}; valid: {_valid_names()}")


def load_family(
    model: str | Path,
    cache_dir: str | Path | None = None,
    dtype: torch.dtype | None = None,
    device: str | torch.device = "cpu",
):
    """``(family, ModelSource)``: the model and tokenizer behind their family's interface
    (:class:`~engine.model.family.ModelFamily`), in eval mode. A saved model is loaded straight into ``dtype``
    (default float32) on ``device``, never as a float32 copy first; a random preset is built on the CPU in float32.
    """
    import torch

    from ..model.family import family_class

    source = resolve(model, cache_dir)
    if source.folder is None:
        from ..model.geoground.family import GeoGroundFamily

        return GeoGroundFamily.from_preset(source.preset, RANDOM_SEED), source
    family = family_class(_model_type(source.folder))
    return family.from_folder(source.folder, dtype or torch.float32, device), source


def load_model(model: str | Path, cache_dir: str | Path | None = None):
    """``(model, tokenizer, ModelSource)`` on the CPU in float32, in eval mode (see :func:`load_family`)."""
    family, source = load_family(model, cache_dir)
    return family.model, family.tokenizer, source
