"""Reader for GeoPixelD: grounded descriptions of 800x800 remote-sensing tiles.

Index file: a JSON list of ``{id, conversations: [{from: human|bot, value}], image, polygons}`` where ``image`` and
``polygons`` are paths (as written by the dataset authors, e.g. ``data/GeoPixelD/train/X.png``). Per-image file:
``{id, img, gcg_description, polygons}``; ``polygons`` has one entry per ``[SEG]`` of the bot answers, each a list of
``[x, y]`` pixel polygons whose filled union is that mask.

Paths are resolved against ``root`` and, failing that, by file name next to the index, so a flat copy of a few
samples works as well as the full dataset tree.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .raster import polygons_mask, read_image_file
from .sample import DataFormatError, GroundedSample, count_seg


def load_json(path: Path) -> Any:
    if not path.is_file():
        raise DataFormatError(f"file not found: {path}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None


class GeoPixelDDataset(Sequence[GroundedSample]):
    """GeoPixelD samples in index order, one per human/bot exchange; images and masks are read on access."""

    def __init__(self, index_file: str | Path, root: str | Path | None = None) -> None:
        self.index_file = Path(index_file)
        self.root = Path(root) if root is not None else self.index_file.parent
        entries = load_json(self.index_file)
        if not isinstance(entries, list):
            raise DataFormatError(f"{self.index_file}: the index must be a JSON list of samples")
        self._items: list[tuple[dict, int]] = []
        for position, entry in enumerate(entries):
            _check_entry(entry, position, self.index_file)
            for turn in range(len(entry["conversations"]) // 2):
                self._items.append((entry, turn))

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int) -> GroundedSample:  # type: ignore[override]
        entry, turn = self._items[index]
        conversations = entry["conversations"]
        instruction = conversations[2 * turn]["value"].replace("<image>", "").strip()
        answer = conversations[2 * turn + 1]["value"].strip()
        # Masks are numbered across all bot turns of the sample.
        first = sum(count_seg(conversations[2 * t + 1]["value"]) for t in range(turn))
        sample_id = f"{entry['id']}" if len(conversations) == 2 else f"{entry['id']}:{turn}"

        image = read_image_file(self.resolve(entry["image"]))
        polygons_file = self.resolve(entry["polygons"])
        record = load_json(polygons_file)
        all_polygons = record.get("polygons") if isinstance(record, dict) else None
        if not isinstance(all_polygons, list):
            raise DataFormatError(f"{polygons_file}: expected an object with a 'polygons' list")
        total_seg = sum(count_seg(conversations[2 * t + 1]["value"]) for t in range(len(conversations) // 2))
        if len(all_polygons) != total_seg:
            raise DataFormatError(
                f"sample {entry['id']}: {total_seg} [SEG] tokens in the answers but {len(all_polygons)} polygon "
                f"entries in {polygons_file.name}"
            )
        n_seg = count_seg(answer)
        masks = [polygons_mask(p, image.shape[:2]) for p in all_polygons[first : first + n_seg]]
        return GroundedSample(
            image=image, instruction=instruction, answer=answer, masks=masks, sample_id=sample_id, task="gcg"
        )

    def resolve(self, relative: str) -> Path:
        """The local file for a path named in the dataset: under ``root``, else by name next to the index."""
        for candidate in (self.root / relative, self.index_file.parent / Path(relative).name):
            if candidate.is_file():
                return candidate
        raise DataFormatError(f"file {relative!r} not found under {self.root} nor next to {self.index_file}")


def _check_entry(entry: Any, position: int, index_file: Path) -> None:
    where = f"{index_file.name} entry {position}"
    if not isinstance(entry, dict):
        raise DataFormatError(f"{where}: expected an object")
    missing = [key for key in ("id", "conversations", "image", "polygons") if key not in entry]
    if missing:
        raise DataFormatError(f"{where}: missing key(s) {missing}")
    conversations = entry["conversations"]
    if not isinstance(conversations, list) or not conversations or len(conversations) % 2:
        raise DataFormatError(f"{where}: 'conversations' must be a non-empty list of human/bot pairs")
    for i, message in enumerate(conversations):
        expected = "human" if i % 2 == 0 else ("bot", "gpt")
        speaker = message.get("from") if isinstance(message, dict) else None
        if speaker not in ((expected,) if isinstance(expected, str) else expected) or "value" not in message:
            raise DataFormatError(f"{where}: message {i} must be {{'from': {expected!r}, 'value': ...}}")
