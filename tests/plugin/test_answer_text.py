"""The dock's answer is written from the rows the layer keeps (after a clip), with QGIS's areas."""

from __future__ import annotations


def rows(*items):
    return [(b"", {"phrase": phrase, "area_m2": area}) for phrase, area in items]


def test_counts_and_areas_come_from_the_kept_rows():
    from geoground.engine.service import SegmentAnswer
    from geoground.plugin.segmentation import answer_text

    answer = SegmentAnswer([], "Sure, storage tanks.", "Segment all storage tanks", asked=["storage tanks"],
                           forms={"storage tanks": ["storage tank", "storage tanks"]})  # fmt: skip
    assert answer_text(answer, rows(("storage tanks", 1000.4), ("storage tanks", 250.0)), "view") == (
        "2 storage tanks, 1,250 m² in all."
    )
    assert answer_text(answer, rows(("storage tanks", 1000.4)), "selection") == "1 storage tank, 1,000 m²."
    assert answer_text(answer, [], "rectangle") == "No storage tanks in this rectangle."


def test_descriptions_name_only_what_was_found_and_plain_answers_keep_their_words():
    from geoground.engine.service import SegmentAnswer
    from geoground.plugin.segmentation import answer_text

    asked = ["storage tanks", "ships", "buildings"]
    forms = {p: [p[:-1], p] for p in asked}
    described = SegmentAnswer([], "", "Describe this image", asked=asked, forms=forms)
    found = rows(("buildings", 10.0), ("buildings", 20.0))
    assert answer_text(described, found, "view") == "This view shows 2 buildings (30 m²)."
    plain = SegmentAnswer([], "A harbour with ships.", "Tell me a story")
    assert answer_text(plain, [], "view") == "A harbour with ships."


def test_answers_travel_with_their_phrases():
    from geoground.engine.service import SegmentAnswer

    answer = SegmentAnswer([], "x", "y", asked=["ships"], forms={"ships": ["ship", "ships"]})
    again = SegmentAnswer.from_dict(answer.to_dict())
    assert again.asked == ["ships"] and again.forms == {"ships": ["ship", "ships"]}
