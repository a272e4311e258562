"""tools/check_qt6.py: it finds each kind of Qt5-only code that PyQt6 (QGIS 4) rejects, its scoped-enum suggestions
work on this PyQt, and the plugin's own code passes it."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def check_qt6():
    spec = importlib.util.spec_from_file_location("check_qt6", ROOT / "tools" / "check_qt6.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


QT5_ONLY = textwrap.dedent(
    """
    import sip
    from PyQt5.QtCore import QRegExp
    from qgis.PyQt import QtCore
    from qgis.PyQt.QtCore import QEvent, QObject, Qt, QVariant, pyqtSignal
    from qgis.PyQt.QtGui import QTextCursor
    from qgis.PyQt.QtWidgets import (
        QAbstractItemView,
        QAction,
        QApplication,
        QDesktopWidget,
        QDialogButtonBox,
        QFileDialog,
        QFrame,
        QMessageBox,
        QSizePolicy,
    )
    from qgis.core import QgsField


    class Worker(QObject):
        changed = pyqtSignal("QString")


    def build(iface, dock, box, view, frame, cursor, widget):
        iface.addDockWidget(Qt.RightDockWidgetArea, dock)
        widget.setAlignment(Qt.AlignLeft | QtCore.Qt.AlignTop)
        box.addButton("Go", QMessageBox.AcceptRole)
        if box.exec_() == QMessageBox.Yes:
            pass
        buttons = QDialogButtonBox(QDialogButtonBox.Ok)
        widget.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        frame.setFrameShape(QFrame.StyledPanel)
        view.setSelectionMode(QAbstractItemView.SingleSelection)
        QApplication.sendPostedEvents(None, QEvent.DeferredDelete)
        QFileDialog.getExistingDirectory(widget, "Folder", "", QFileDialog.ShowDirsOnly)
        cursor.movePosition(QTextCursor.End)
        field = QgsField("name", QVariant.String)
        width = QApplication.desktop().width()
        codec = QtCore.QTextCodec.codecForName("UTF-8")
        button = Qt.MidButton
        return buttons, field, width, codec, button, QRegExp, QDesktopWidget, QAction, sip
    """
)

EXPECTED_ENUMS = {
    "Qt.RightDockWidgetArea -> Qt.DockWidgetArea.RightDockWidgetArea",
    "Qt.AlignLeft -> Qt.AlignmentFlag.AlignLeft",
    "QtCore.Qt.AlignTop -> QtCore.Qt.AlignmentFlag.AlignTop",
    "QMessageBox.AcceptRole -> QMessageBox.ButtonRole.AcceptRole",
    "QMessageBox.Yes -> QMessageBox.StandardButton.Yes",
    "QDialogButtonBox.Ok -> QDialogButtonBox.StandardButton.Ok",
    "QSizePolicy.Expanding -> QSizePolicy.Policy.Expanding",
    "QFrame.StyledPanel -> QFrame.Shape.StyledPanel",
    "QAbstractItemView.SingleSelection -> QAbstractItemView.SelectionMode.SingleSelection",
    "QEvent.DeferredDelete -> QEvent.Type.DeferredDelete",
    "QFileDialog.ShowDirsOnly -> QFileDialog.Option.ShowDirsOnly",
    "QTextCursor.End -> QTextCursor.MoveOperation.End",
    "Qt.MidButton -> Qt.MouseButton.MiddleButton",
}


def write(folder: Path, name: str, source: str) -> Path:
    path = folder / name
    path.write_text(source, encoding="utf-8")
    return path


def test_each_kind_of_qt5_only_code_is_found(check_qt6, tmp_path):
    sample = write(tmp_path, "sample.py", QT5_ONLY)
    findings, count = check_qt6.check_paths([sample])
    assert count == 1
    assert {finding.kind for finding in findings} == {
        "pyqt-import",
        "exec_",
        "unscoped-enum",
        "qvariant-type",
        "moved-to-qtgui",
        "removed-class",
        "qstring-signal",
    }
    enums = {f"{finding.found} -> {finding.use}" for finding in findings if finding.kind == "unscoped-enum"}
    assert enums == EXPECTED_ENUMS
    found = {(finding.kind, finding.found) for finding in findings}
    assert ("pyqt-import", "import sip") in found
    assert ("pyqt-import", "from PyQt5.QtCore import QRegExp") in found
    assert ("exec_", "box.exec_()") in found
    assert ("qvariant-type", "QVariant.String") in found
    assert ("moved-to-qtgui", "QAction from QtWidgets") in found
    assert ("qstring-signal", 'pyqtSignal("QString")') in found
    removed = {text for kind, text in found if kind == "removed-class"}
    assert removed == {"QRegExp", "QDesktopWidget", "QApplication.desktop()", "QtCore.QTextCodec"}
    first = min(findings, key=lambda f: f.line)
    assert str(first).startswith(f"{sample}:2: import sip -> ")


def test_scoped_suggestions_name_the_same_values_on_this_pyqt(check_qt6, tmp_path):
    from qgis.PyQt import QtCore, QtGui, QtWidgets

    namespace = {"QtCore": QtCore}
    for module in (QtCore, QtGui, QtWidgets):
        namespace.update({name: getattr(module, name) for name in dir(module) if name.startswith("Q")})
    findings, _ = check_qt6.check_paths([write(tmp_path, "sample.py", QT5_ONLY)])
    for finding in findings:
        if finding.kind == "unscoped-enum":
            assert eval(finding.use, namespace) == eval(finding.found, namespace), finding  # noqa: S307


def test_portable_forms_pass(check_qt6, tmp_path):
    portable = textwrap.dedent(
        """
        from qgis.PyQt import sip
        from qgis.PyQt.QtCore import QEvent, Qt, pyqtSignal
        from qgis.PyQt.QtWidgets import QMessageBox

        try:
            from qgis.PyQt.QtGui import QAction
        except ImportError:
            from qgis.PyQt.QtWidgets import QAction

        changed = pyqtSignal(str)


        def run(iface, dock, box):
            iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
            box.addButton(QMessageBox.StandardButton.Cancel)
            if box.exec() == QMessageBox.StandardButton.Yes:
                QMessageBox.question(dock, "t", "q")
            return QEvent.Type.DeferredDelete, QAction, sip, Qt.DockWidgetArea
        """
    )
    compat = "from qgis.PyQt.QtCore import QVariant\n\nSTRING = QVariant.String\n"
    paths = [write(tmp_path, "portable.py", portable), write(tmp_path, "qt_compat.py", compat)]
    findings, count = check_qt6.check_paths(paths)
    assert (findings, count) == ([], 2)


def test_the_plugin_passes(check_qt6, capsys):
    paths = [ROOT / "plugin", ROOT / "__init__.py"]
    assert check_qt6.main([str(path) for path in paths]) == 0
    count = len(list((ROOT / "plugin").rglob("*.py"))) + 1
    assert capsys.readouterr().out.strip() == f"Qt6 check: clean ({count} files)"


def test_the_command_fails_on_qt5_only_code(check_qt6, tmp_path, capsys):
    sample = write(tmp_path, "sample.py", "from qgis.PyQt.QtCore import Qt\n\nALIGN = Qt.AlignLeft\n")
    assert check_qt6.main([str(sample)]) == 1
    out = capsys.readouterr().out
    assert f"{sample}:3: Qt.AlignLeft -> Qt.AlignmentFlag.AlignLeft" in out


def test_the_field_types_fit_this_qgis():
    from qgis.core import Qgis, QgsField

    from geoground.plugin.qt_compat import USES_QMETATYPE, FieldType

    assert USES_QMETATYPE == (Qgis.QGIS_VERSION_INT >= 33800)
    for kind in (FieldType.String, FieldType.Int, FieldType.LongLong, FieldType.Double):
        assert QgsField("name", kind).name() == "name"
