"""Training and evaluation data: one sample type from synthetic scenes, GeoPixelD, GeoPixInstruct, RRSIS-D and
licence-clean real imagery (SpaceNet, NAIP)."""

from .sample import DataFormatError, GroundedSample, Instance, Scene, count_seg, seg_phrases, strip_markup
from .scene_text import description_sample, referring_sample, scene_samples, segment_all_sample
from .synthetic import generate_scene
from .templates import CLASSES, SEGMENT_ALL_MENU, class_for_label, match_class

__all__ = [
    "CLASSES",
    "SEGMENT_ALL_MENU",
    "DataFormatError",
    "GroundedSample",
    "Instance",
    "Scene",
    "class_for_label",
    "count_seg",
    "description_sample",
    "generate_scene",
    "match_class",
    "referring_sample",
    "scene_samples",
    "seg_phrases",
    "segment_all_sample",
    "strip_markup",
]
