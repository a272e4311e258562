"""Raster → GeoGround → Install engine dependencies…: what the user is told before the install, and the progress bar
shown while it runs."""

from __future__ import annotations

from qgis.core import Qgis
from qgis.PyQt.QtCore import QObject, pyqtSignal
from qgis.PyQt.QtWidgets import QMessageBox, QProgressBar


class StubTask(QObject):
    """The two signals of the install task the dialog listens to."""

    progressChanged = pyqtSignal(float)  # noqa: N815 - QgsTask's name
    status_changed = pyqtSignal(str)


def patch_install(monkeypatch, plugin_package, missing, click=None):
    """Missing packages, a CPU-only machine, a dialog answered with ``click`` (button text start), a recorded
    start_install; returns what the dialog showed and what start_install got."""
    import importlib

    main = importlib.import_module(f"{plugin_package}.plugin.main")
    dependencies = importlib.import_module(f"{plugin_package}.plugin.dependencies")
    installer = importlib.import_module(f"{plugin_package}.plugin.installer")
    monkeypatch.setattr(main, "missing_dependencies", lambda: list(missing))
    cpu = dependencies.TorchBuild("cpu", "https://download.pytorch.org/whl/cpu", None, "cpu")
    monkeypatch.setattr(dependencies, "choose_torch_build", lambda: cpu)
    shown, started = {}, {}

    def exec_dialog(box):
        shown.update(text=box.text(), details=box.informativeText())
        for button in box.buttons():
            if click and button.text().startswith(click):
                button.click()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", exec_dialog)

    def start_install(on_done, requirements=None, wheel_dir=None, target=None, *, build=None):
        started.update(on_done=on_done, requirements=requirements, wheel_dir=wheel_dir, build=build, task=StubTask())
        return started["task"]

    monkeypatch.setattr(installer, "start_install", start_install)
    return shown, started, dependencies, cpu


def test_the_dialog_says_which_pytorch_and_how_big_before_anything_starts(loaded_plugin, monkeypatch, plugin_package):
    shown, started, _, _ = patch_install(monkeypatch, plugin_package, ["torch", "pyogrio"])
    loaded_plugin._install_dependencies()
    assert "torch, pyogrio" in shown["text"]
    assert "CPU build" in shown["details"] and "about 300 MB" in shown["details"]
    assert not started  # cancelled: nothing ran


def test_an_install_from_a_folder_shows_a_progress_bar_that_follows_the_task(
    loaded_plugin, qgis_iface, monkeypatch, plugin_package, tmp_path
):
    from qgis.PyQt.QtWidgets import QFileDialog

    shown, started, dependencies, _ = patch_install(
        monkeypatch, plugin_package, ["torch", "pyogrio"], click="Install from a folder"
    )
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path))
    loaded_plugin._install_dependencies()
    assert started["wheel_dir"] == tmp_path and started["build"] is None  # offline: no PyTorch index
    assert started["requirements"] == dependencies.engine_requirements(["torch", "pyogrio"])

    bar = qgis_iface.messageBar()
    item = bar.currentItem()
    (progress,) = item.findChildren(QProgressBar)
    started["task"].progressChanged.emit(42.0)
    started["task"].status_changed.emit("Reading torch-2.13.0-cp311-cp311-linux_x86_64.whl")
    assert progress.value() == 42
    assert bar.currentItem().text() == "Reading torch-2.13.0-cp311-cp311-linux_x86_64.whl"

    loaded_plugin._install_dependencies()  # a second click while it runs starts nothing
    assert "being installed already" in " ".join(bar.get_messages(Qgis.Info))

    started["on_done"](True, "Engine dependencies installed in /profile/packages.")
    assert "GeoGround:Engine dependencies installed in /profile/packages." in bar.get_messages(Qgis.Success)
    assert item not in bar.items()  # the progress bar went away with the result
    assert loaded_plugin.install_task is None
