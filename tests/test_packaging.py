"""What the QGIS plugin repository checks on upload, the installable archive, and clones into odd folder names."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
REQUIRED_METADATA = (
    "name",
    "description",
    "version",
    "qgisMinimumVersion",
    "author",
    "email",
    "about",
    "tracker",
    "repository",
)


def read_metadata(text: str) -> dict[str, str]:
    parser = configparser.ConfigParser()
    parser.optionxform = str  # keys are case-sensitive, as the repository reads them
    parser.read_string(text)
    return dict(parser.items("general"))


def test_metadata_has_what_the_plugin_repository_requires():
    meta = read_metadata((REPO_ROOT / "metadata.txt").read_text(encoding="utf-8"))
    missing = [key for key in REQUIRED_METADATA if not meta.get(key, "").strip()]
    assert missing == []
    assert meta["qgisMinimumVersion"] == "3.22"
    assert meta["hasProcessingProvider"] == "yes"
    assert meta["experimental"].lower() in {"true", "false"}
    assert "/" not in meta["author"]
    for url_key in ("tracker", "repository", "homepage"):
        assert meta[url_key].startswith("https://")
    assert (REPO_ROOT / meta["icon"]).is_file()
    for dependency in ("torch", "transformers", "rasterio"):
        assert dependency in meta["about"], f"'about' must name the external dependency {dependency}"
    assert meta["changelog"].strip() and meta["tags"].strip()
    version = tuple(int(part) for part in meta["version"].split("."))
    assert f"{version[0]}.{version[1]}.{version[2]}" in meta["changelog"]


@pytest.fixture(scope="module")
def plugin_zip(tmp_path_factory) -> Path:
    subprocess.run(["bash", str(REPO_ROOT / "build.sh"), "zip"], cwd=REPO_ROOT, check=True, capture_output=True)
    built = REPO_ROOT / "build" / "geoground.zip"
    copy = tmp_path_factory.mktemp("zip") / built.name
    shutil.copy(built, copy)
    return copy


def test_zip_passes_the_upload_checks(plugin_zip):
    assert plugin_zip.stat().st_size < 25_000_000
    with zipfile.ZipFile(plugin_zip) as zf:
        assert zf.testzip() is None
        names = zf.namelist()
        tops = {name.split("/")[0] for name in names}
        assert len(tops) == 1
        top = tops.pop()
        assert top.isidentifier()
        for required in ("__init__.py", "metadata.txt", "LICENSE"):
            assert f"{top}/{required}" in names
        for name in names:
            parts = name.split("/")
            assert ".." not in name and not name.startswith("/") and "\\" not in name
            assert not name.endswith(".pyc")
            assert not {"__pycache__", ".git", "__MACOSX", "tests", ".venv"} & set(parts), name
        meta = read_metadata(zf.read(f"{top}/metadata.txt").decode("utf-8"))
        assert f"{top}/{meta['icon']}" in names
        assert f"{top}/engine/__init__.py" in names and f"{top}/plugin/main.py" in names


def test_zip_installs_into_a_fresh_profile_and_loads(plugin_zip, tmp_path):
    plugins_dir = tmp_path / "profiles" / "default" / "python" / "plugins"
    plugins_dir.mkdir(parents=True)
    with zipfile.ZipFile(plugin_zip) as zf:
        zf.extractall(plugins_dir)
        package = zf.namelist()[0].split("/")[0]
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tests" / "plugin" / "qgis_load_check.py"), str(plugins_dir), package],
        capture_output=True,
        text=True,
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
        timeout=180,
    )
    assert "LOADED-OK" in result.stdout, result.stdout + result.stderr


def test_suite_runs_from_a_clone_in_a_folder_of_any_name(tmp_path):
    """The plugin package name never comes from the folder the repository was cloned into."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    clone = tmp_path / "My Plugins" / "geo-ground.main (copy)"
    for relative in listed:
        source = REPO_ROOT / relative
        if source.is_file():
            (clone / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / relative)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/plugin/test_plugin_load.py"],
        cwd=clone,
        capture_output=True,
        text=True,
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout
