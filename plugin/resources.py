"""Paths of the plugin's bundled resources (icons, styles)."""

from __future__ import annotations

from pathlib import Path

RESOURCES_DIR = Path(__file__).resolve().parent.parent / "resources"


def icon_path(name: str = "icon.svg") -> Path:
    return RESOURCES_DIR / name
