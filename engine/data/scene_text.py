"""Instructions and grounded answers built from a scene's instance masks (synthetic or real).

Three kinds, matching what the engine must do: a referring expression with one target mask, "segment all X" with
one ``<p> Xs </p> [SEG]`` grounding the union of the class's instances, and a grounded description where one phrase
per class covers all its instances (its mask is again their union). Instances are recovered from a union mask as its
connected regions, which the geo pipeline does anyway when it turns a mask into polygons.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .sample import GroundedSample, Instance, Scene, grounded
from .templates import (
    CLASS_BY_NAME,
    DESCRIBE_CONNECTORS,
    DESCRIBE_INSTRUCTIONS,
    DESCRIBE_OPENINGS,
    POSITION_WORDS,
    REFER_EDGE,
    REFER_LARGEST,
    REFER_ONLY,
    REFER_SMALLEST,
    REFERRING_ANSWERS,
    REFERRING_INSTRUCTIONS,
    SEGMENT_ALL_ANSWERS_GROUNDED,
    SEGMENT_ALL_ANSWERS_MANY,
    SEGMENT_ALL_ANSWERS_NONE,
    SEGMENT_ALL_ANSWERS_ONE,
    SEGMENT_ALL_INSTRUCTIONS,
    count_phrase,
    object_class,
)

# Answer styles of "segment all" samples (see segment_all_sample).
SEGMENT_ALL_STYLES = ("counted", "grounded")
# A superlative is only used when the winner beats the runner-up clearly: by this area ratio...
_AREA_MARGIN = 1.25
# ...or, for "closest to an edge", by this many pixels.
_EDGE_MARGIN_PX = 4


def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]


def position_word(mask: np.ndarray) -> str:
    """'in the top left', 'in the centre'... from the mask centroid by thirds of the image."""
    rows, cols = np.nonzero(mask)
    h, w = mask.shape
    return POSITION_WORDS[(min(2, int(3 * rows.mean() / h)), min(2, int(3 * cols.mean() / w)))]


def segment_all_sample(
    scene: Scene, class_name: str, rng: np.random.Generator, style: str = "counted"
) -> GroundedSample:
    """'Segment all storage tanks' -> one grounded phrase whose mask is the union of every tank.

    One [SEG] per class, as GeoPixel grounds a multi-target phrase: n identical "<p> tank </p> [SEG]" would give n
    near-identical [SEG] states that must each decode a different instance, which a mask decoder cannot learn.

    ``style`` "counted" says how many there are ("There are 7 storage tanks: ...", or none in words when absent).
    "grounded" always answers with the grounded phrase and leaves the count and the absence to the mask (empty
    when absent): a small model can learn where objects are long before it can count them from its image tokens.
    """
    if style not in SEGMENT_ALL_STYLES:
        raise ValueError(f"segment-all answer style must be one of {', '.join(SEGMENT_ALL_STYLES)}, got {style!r}")
    cls = object_class(class_name)
    objects = _pick(rng, cls.all_plurals)
    obj = cls.all_singulars[cls.all_plurals.index(objects)]
    instruction = _pick(rng, SEGMENT_ALL_INSTRUCTIONS).format(objects=objects, object=obj)
    instances = scene.of_class(class_name)
    union = np.zeros(scene.image.shape[:2], dtype=bool)
    for inst in instances:
        union |= inst.mask
    masks, classes = ([union], [class_name]) if instances or style == "grounded" else ([], [])
    if style == "grounded":
        answer = _pick(rng, SEGMENT_ALL_ANSWERS_GROUNDED).format(objects=cls.plural, list=grounded(cls.plural))
    elif not instances:
        answer = _pick(rng, SEGMENT_ALL_ANSWERS_NONE).format(objects=cls.plural)
    elif len(instances) == 1:
        answer = _pick(rng, SEGMENT_ALL_ANSWERS_ONE).format(object=cls.name, list=grounded(cls.name))
    else:
        listing = grounded(cls.plural)
        answer = _pick(rng, SEGMENT_ALL_ANSWERS_MANY).format(count=len(instances), objects=cls.plural, list=listing)
    return GroundedSample(
        image=scene.image,
        instruction=instruction,
        answer=answer,
        masks=masks,
        classes=classes,
        sample_id=f"{scene.name}:all:{class_name}",
        task="segment_all",
    )


def referring_expressions(scene: Scene, rng: np.random.Generator) -> list[tuple[str, Instance]]:
    """Every unambiguous expression the scene supports, each with the single instance it names."""
    found: list[tuple[str, Instance]] = []
    for class_name in scene.classes:
        cls = object_class(class_name)
        instances = scene.of_class(class_name)
        word = _pick(rng, cls.all_singulars)
        if len(instances) == 1:
            found.append((_pick(rng, REFER_ONLY).format(object=word), instances[0]))
            continue
        by_area = sorted(instances, key=lambda inst: inst.area)
        if by_area[-1].area >= _AREA_MARGIN * by_area[-2].area:
            found.append((_pick(rng, REFER_LARGEST).format(object=word), by_area[-1]))
        if by_area[1].area >= _AREA_MARGIN * by_area[0].area:
            found.append((_pick(rng, REFER_SMALLEST).format(object=word), by_area[0]))
        for edge, distance in _EDGE_DISTANCES.items():
            ranked = sorted(instances, key=lambda inst, d=distance: d(inst.mask))
            if distance(ranked[1].mask) - distance(ranked[0].mask) >= _EDGE_MARGIN_PX:
                found.append((_pick(rng, REFER_EDGE).format(object=word, edge=edge), ranked[0]))
    return found


_EDGE_DISTANCES = {
    "top": lambda m: int(np.nonzero(m.any(axis=1))[0][0]),
    "bottom": lambda m: m.shape[0] - 1 - int(np.nonzero(m.any(axis=1))[0][-1]),
    "left": lambda m: int(np.nonzero(m.any(axis=0))[0][0]),
    "right": lambda m: m.shape[1] - 1 - int(np.nonzero(m.any(axis=0))[0][-1]),
}


def referring_sample(scene: Scene, rng: np.random.Generator) -> GroundedSample | None:
    """One referring-segmentation sample, or None when the scene has no unambiguous target."""
    options = referring_expressions(scene, rng)
    if not options:
        return None
    expression, target = options[int(rng.integers(len(options)))]
    return GroundedSample(
        image=scene.image,
        instruction=_pick(rng, REFERRING_INSTRUCTIONS).format(expression=expression),
        answer=_pick(rng, REFERRING_ANSWERS),
        masks=[target.mask],
        classes=[target.class_name],
        sample_id=f"{scene.name}:ref:{target.instance_id}",
        task="referring",
    )


def description_sample(scene: Scene, rng: np.random.Generator) -> GroundedSample | None:
    """A grounded description: one phrase per class present, each grounding the union of that class's masks."""
    classes = scene.classes
    if not classes:
        return None
    order = [classes[i] for i in rng.permutation(len(classes))]
    phrases, masks = [], []
    for class_name in order:
        instances = scene.of_class(class_name)
        union = np.logical_or.reduce([inst.mask for inst in instances])
        phrase = count_phrase(object_class(class_name), len(instances))
        where = f" {position_word(union)}" if len(instances) == 1 else ""
        phrases.append(grounded(phrase) + where)
        masks.append(union)
    text = _pick(rng, DESCRIBE_OPENINGS).format(first=phrases[0])
    for phrase in phrases[1:3]:
        text += _pick(rng, DESCRIBE_CONNECTORS).format(next=phrase)
    text += "."
    if len(phrases) > 3:
        text += f" There are also {_join(phrases[3:])}."
    return GroundedSample(
        image=scene.image,
        instruction=_pick(rng, DESCRIBE_INSTRUCTIONS),
        answer=text,
        masks=masks,
        classes=list(order),
        sample_id=f"{scene.name}:gcg",
        task="gcg",
    )


def scene_samples(scene: Scene, rng: np.random.Generator, style: str = "counted") -> list[GroundedSample]:
    """A description, one referring sample and one "segment all" sample per class present (plus one absent class)."""
    samples = [s for s in (description_sample(scene, rng), referring_sample(scene, rng)) if s is not None]
    samples += [segment_all_sample(scene, c, rng, style) for c in scene.classes]
    # A user's own classes (a layer dataset) join the built-in ones as absence questions, where the scene says so.
    own = [c for c in scene.absent_classes or () if c not in CLASS_BY_NAME]
    absent = scene.absent([*CLASS_BY_NAME, *own])
    if absent:
        samples.append(segment_all_sample(scene, absent[int(rng.integers(len(absent)))], rng, style))
    return samples


def _join(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
