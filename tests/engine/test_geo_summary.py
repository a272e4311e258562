"""Answers to "segment all" questions are written from the polygons: counts and areas never contradict the layer."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.geo.pipeline import segment_raster, segment_view
from engine.geo.summary import phrase_forms, summary_text
from engine.types import Reply, Segment

sys.path.insert(0, str(Path(__file__).parent))
from test_geo_helpers import ThresholdDouble, disc_image, utm_transform, write_raster  # noqa: E402

DISCS = [(40, 40, 15), (120, 80, 20)]  # (cx, cy, r) in pixels


@pytest.mark.parametrize(
    ("asked", "found", "text"),
    [
        (["storage tanks"], [("storage tanks", 3100.4)] * 9, "9 storage tanks, 27,904 m² in all."),
        (["storage tanks"], [("storage tanks", 3100.4)], "1 storage tank, 3,100 m²."),
        (["ships"], [], "No ships in this view."),
        (["ships", "airplanes"], [], "No ships or airplanes in this view."),
        (["ships", "airplanes"], [("ships", 500.0), ("ships", 604.0)], "2 ships (1,104 m²) and no airplanes."),
        (["trees"], [("trees", math.nan), ("trees", 10.0)], "2 trees."),  # an unknown area: no total
        (["water bodies"], [("water bodies", 2.5e6)], "1 water body, 2.50 km²."),
        (["discs"], [("discs", 1.0), ("discs", 1.0)], "2 discs, 2 m² in all."),
        ([], [], ""),
    ],
)
def test_summary_sentences(asked, found, text):
    assert summary_text(asked, found) == text


def test_forms_of_class_words_and_other_words():
    forms = phrase_forms(["storage tanks", "oil tank", "boxes", "disc", "grass"])
    assert forms == {"storage tanks": ("storage tank", "storage tanks"), "oil tank": ("oil tank", "oil tanks"),
                     "boxes": ("box", "boxes"), "disc": ("disc", "discs"), "grass": ("grass", "grasses")}  # fmt: skip


class EmptyMaskDouble:
    """Grounds the phrase it is asked about with an empty mask, as a model that finds nothing does."""

    def chat(self, image, conversation):
        return Reply("Sure, ships.", [Segment("ships", np.zeros(image.shape[:2], bool), 0.9)], "")


def test_an_empty_grounded_answer_says_none_were_found():
    image = np.zeros((64, 64, 3), np.uint8)
    result = segment_view(image, utm_transform(1.0), "EPSG:32631", "Segment all ships.", EmptyMaskDouble())
    assert result.features == [] and result.reply_text == "No ships in this view." and result.asked == ["ships"]


def test_view_and_whole_raster_answers_count_the_polygons(tmp_path):
    image = disc_image(120, 160, DISCS)
    path = write_raster(tmp_path / "d.tif", image)
    for result in (
        segment_raster(path, "discs", ThresholdDouble(), whole=True, tile_size=64, overlap=16),
        segment_raster(path, "discs", ThresholdDouble()),
    ):
        areas = sum(f.area_m2 for f in result.features)
        assert len(result.features) == len(DISCS)
        assert result.reply_text.startswith(f"{len(DISCS)} discs, {areas:,.0f} m²")


class ClassDouble:
    """Bright pixels are storage tanks; every other class is grounded with an empty mask."""

    def __init__(self):
        self.questions: list[str] = []

    def chat(self, image, conversation):
        self.questions.append(conversation)
        phrase = conversation.removeprefix("Segment all ").rstrip(".")
        mask = image.mean(axis=2) > 128 if phrase == "storage tanks" else np.zeros(image.shape[:2], bool)
        return Reply(f"Sure, {phrase}.", [Segment(phrase, mask, 0.9)], "")


@pytest.mark.parametrize("instruction", ["Describe this image.", "What is in this view?", "What do you see?"])
def test_a_description_names_what_the_masks_found(tmp_path, instruction):
    path = write_raster(tmp_path / "d.tif", disc_image(120, 160, DISCS))
    double, progress = ClassDouble(), []
    result = segment_raster(path, instruction, double, whole=True, tile_size=64, overlap=16,
                            on_progress=lambda done, total: progress.append((done, total)))  # fmt: skip
    assert len(double.questions) == 9 * result.tiles  # one pass per class the engine knows
    assert "Segment all buildings." in double.questions and "Segment all water bodies." in double.questions
    assert progress[-1] == (9 * result.tiles, 9 * result.tiles)
    assert [f.phrase for f in result.features] == ["storage tanks"] * len(DISCS)
    areas = sum(f.area_m2 for f in result.features)
    assert result.reply_text == f"This area shows {len(DISCS)} storage tanks ({areas:,.0f} m²)."


def test_a_description_of_an_empty_view_says_so():
    image = np.zeros((64, 64, 3), np.uint8)
    result = segment_view(image, utm_transform(1.0), "EPSG:32631", "Describe this image", ClassDouble())
    assert result.features == [] and result.reply_text == "I see none of the objects I know in this view."
