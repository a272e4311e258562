"""Test set-up shared by engine and plugin tests.

The repository root is the plugin package, whatever folder it was cloned into. Engine tests import ``engine`` as a
top-level package from the root; plugin tests import the root as the package ``geoground`` through a link in a
temporary folder, exactly as QGIS imports an installed plugin folder.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
PLUGIN_PACKAGE = "geoground"

if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

PLUGINS_DIR = Path(tempfile.mkdtemp(prefix="geoground-plugins-"))  # plays the profile's python/plugins folder
(PLUGINS_DIR / PLUGIN_PACKAGE).symlink_to(REPO_ROOT, target_is_directory=True)
sys.path.insert(0, str(PLUGINS_DIR))

try:  # keep CPU tests predictable on small machines
    import torch

    torch.set_num_threads(min(2, os.cpu_count() or 1))
except ImportError:  # pragma: no cover - the plugin tests must also run without torch
    pass


def shared_file(relative: str) -> Path:
    """A file of the shared real-data folder, or skip the test with the reason when it is absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"real-data file {relative} not available (expected at {path})")
    return path


@pytest.fixture
def shared_data():
    return shared_file


@pytest.fixture(scope="session")
def plugin_package() -> str:
    """The import name under which the tests load the repository root as the QGIS plugin package."""
    return PLUGIN_PACKAGE


@pytest.fixture(scope="session")
def plugins_dir() -> Path:
    """A plugins folder holding the repository under the plugin package name."""
    return PLUGINS_DIR
