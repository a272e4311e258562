"""Class vocabulary and instruction wording, kept in one place.

The plugin's "Segment all..." menu and the training samples both read :data:`CLASSES`, so a class the menu offers
is always one the model was taught to answer, with the same synonyms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class ObjectClass:
    """A class name in its singular and plural forms, plus the other words people use for it."""

    name: str  # canonical singular, used as the class label
    plural: str
    synonyms: tuple[str, ...] = ()  # singular forms
    synonym_plurals: tuple[str, ...] = ()
    countable: bool = True  # False for stuff classes (water, fields read as areas)

    @property
    def all_plurals(self) -> tuple[str, ...]:
        return (self.plural, *self.synonym_plurals)

    @property
    def all_singulars(self) -> tuple[str, ...]:
        return (self.name, *self.synonyms)


CLASSES: tuple[ObjectClass, ...] = (
    ObjectClass(
        "storage tank",
        "storage tanks",
        ("tank", "oil tank", "fuel tank", "floating-roof tank"),
        ("tanks", "oil tanks", "fuel tanks", "floating-roof tanks"),
    ),
    ObjectClass("building", "buildings", ("house", "structure", "roof"), ("houses", "structures", "roofs")),
    ObjectClass("ship", "ships", ("boat", "vessel"), ("boats", "vessels")),
    ObjectClass("airplane", "airplanes", ("plane", "aircraft", "jet"), ("planes", "aircraft", "jets")),
    ObjectClass("vehicle", "vehicles", ("car", "motor vehicle"), ("cars", "motor vehicles")),
    ObjectClass("road", "roads", ("street", "highway"), ("streets", "highways")),
    ObjectClass("water body", "water bodies", ("lake", "pond", "reservoir"), ("lakes", "ponds", "reservoirs")),
    ObjectClass("tree", "trees", ("tree crown",), ("tree crowns",)),
    ObjectClass("field", "fields", ("farmland", "crop field"), ("farmlands", "crop fields")),
)

CLASS_BY_NAME: dict[str, ObjectClass] = {c.name: c for c in CLASSES}


def regular_plural(name: str) -> str:
    """English plural of a class name by the regular rules, on its last word ('solar panel' -> 'solar panels')."""
    head, _, last = name.rpartition(" ")
    if last.endswith(("s", "x", "z", "ch", "sh")):
        last += "es"
    elif last.endswith("y") and last[-2:-1] not in ("", *"aeiou"):
        last = last[:-1] + "ies"
    else:
        last += "s"
    return f"{head} {last}" if head else last


def object_class(name: str) -> ObjectClass:
    """The built-in class of that name, else one for a user's own label (regular plural, no synonyms).

    A user's layers may name classes the vocabulary lacks ('solar panel'); their samples need the same wording
    machinery, while the built-in list (and so the plugin's menu) stays as it is.
    """
    return CLASS_BY_NAME.get(name) or ObjectClass(name, regular_plural(name))


# The labels the plugin lists under "Segment all...", in menu order.
SEGMENT_ALL_MENU: tuple[str, ...] = tuple(c.plural for c in CLASSES)

NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")

# {objects} is a plural class word.
SEGMENT_ALL_INSTRUCTIONS: tuple[str, ...] = (
    "Segment all {objects}.",
    "Segment all {objects} in this image.",
    "Outline every {object}.",
    "Find the {objects}.",
    "Please segment each {object} you can see.",
    "Where are the {objects}? Give a mask for each one.",
    "Mark all {objects} in the image.",
    "Can you delineate every {object} here?",
)

SEGMENT_ALL_ANSWERS_MANY: tuple[str, ...] = (
    "There are {count} {objects}: {list}.",
    "I found {count} {objects}: {list}.",
    "The image contains {count} {objects}: {list}.",
)
SEGMENT_ALL_ANSWERS_ONE: tuple[str, ...] = (
    "There is one {object}: {list}.",
    "I found a single {object}: {list}.",
)
SEGMENT_ALL_ANSWERS_NONE: tuple[str, ...] = (
    "There are no {objects} in this image.",
    "I cannot find any {objects} here.",
)
# The "grounded" answer style: no count and no "none" in the text; the mask says where (and whether) they are.
SEGMENT_ALL_ANSWERS_GROUNDED: tuple[str, ...] = (
    "Sure, {list}.",
    "Here is the segmentation of the {objects}: {list}.",
    "The {objects} are marked: {list}.",
)

# GeoPixel's referring prompt, used by RRSIS-D-style data; {expression} is the referring expression.
REFERRING_INSTRUCTIONS: tuple[str, ...] = (
    "Could you provide a segmentation mask for {expression} in this image?",
    "Please segment {expression}.",
    "Give me a mask of {expression}.",
)
REFERRING_ANSWERS: tuple[str, ...] = ("Sure, it is [SEG].", "It is [SEG].", "Sure, [SEG].")

DESCRIBE_INSTRUCTIONS: tuple[str, ...] = (
    "Could you perform an in-depth analysis of this photo, including interleaved segmentation masks to map each "
    "part of your answer to specific image object?",
    "Describe this image in detail and ground every object you mention.",
    "Give a grounded description of this scene.",
    "What does this image show? Segment the things you mention.",
)
DESCRIBE_OPENINGS: tuple[str, ...] = (
    "The image shows {first}",
    "This aerial view shows {first}",
    "In this scene there are {first}",
    "The picture contains {first}",
)
DESCRIBE_CONNECTORS: tuple[str, ...] = (" near {next}", ", {next}", " and {next}", " next to {next}", ", with {next}")

# Referring expressions built from geometry; {object} is a singular class word.
REFER_LARGEST = ("the largest {object}", "the biggest {object}")
REFER_SMALLEST = ("the smallest {object}",)
REFER_EDGE = ("the {object} closest to the {edge} edge", "the {object} nearest the {edge} of the image")
REFER_ONLY = ("the {object}", "the only {object}")

# Where a region lies, by thirds of the image (row, column).
POSITION_WORDS: dict[tuple[int, int], str] = {
    (0, 0): "in the top left",
    (0, 1): "at the top",
    (0, 2): "in the top right",
    (1, 0): "on the left",
    (1, 1): "in the centre",
    (1, 2): "on the right",
    (2, 0): "in the bottom left",
    (2, 1): "at the bottom",
    (2, 2): "in the bottom right",
}


def count_phrase(cls: ObjectClass, count: int) -> str:
    """'a storage tank', 'three storage tanks', '14 vehicles'."""
    if count == 1:
        article = "an" if cls.name[0] in "aeiou" else "a"
        return f"{article} {cls.name}"
    word = NUMBER_WORDS[count] if count < len(NUMBER_WORDS) else str(count)
    return f"{word} {cls.plural}"


def match_class(text: str) -> ObjectClass | None:
    """The class a free-text request names ('Find the oil tanks' -> storage tank), longest word match first."""
    lowered = " " + re.sub(r"[^a-z\- ]", " ", text.lower()) + " "
    candidates: list[tuple[int, ObjectClass]] = []
    for cls in CLASSES:
        for word in (*cls.all_singulars, *cls.all_plurals):
            if f" {word} " in lowered:
                candidates.append((len(word), cls))
    if not candidates:
        return None
    return max(candidates, key=lambda item: item[0])[1]


# Category labels of public datasets (DOTA, iSAID, DIOR, SAMRS) that are one of our classes. Anything else, such as
# "ground track field" or "harbor", is not: matching them by word would mislabel them.
DATASET_LABELS: dict[str, str] = {
    "small vehicle": "vehicle",
    "large vehicle": "vehicle",
    "storagetank": "storage tank",
    "oil tank": "storage tank",
    "plane": "airplane",
    "airplane": "airplane",
    "vehicle": "vehicle",
    "ship": "ship",
    "storage tank": "storage tank",
    "building": "building",
    "road": "road",
    "water": "water body",
    "tree": "tree",
}


def class_for_label(label: str) -> ObjectClass | None:
    """Our class for a dataset's category label (exact, case and separator insensitive), else None."""
    key = re.sub(r"[-_\s]+", " ", label.strip().lower())
    if key in DATASET_LABELS:
        return CLASS_BY_NAME[DATASET_LABELS[key]]
    for cls in CLASSES:
        if key in cls.all_singulars or key in cls.all_plurals:
            return cls
    return None
