#!/usr/bin/env python3
"""Static check for Qt5-only code that PyQt6 (QGIS 4) rejects.

Scans the plugin's Python files (plugin/, the root __init__.py and, when present, tests/desktop/driver.py) and reports
each use of:

* PyQt5 / PyQt6 / sip imported directly (only ``qgis.PyQt`` is portable);
* ``.exec_()`` (PyQt6 only has ``.exec()``);
* unscoped Qt enum values such as ``Qt.AlignLeft`` or ``QMessageBox.Yes``: PyQt6 needs the scoped form
  ``Qt.AlignmentFlag.AlignLeft``, which PyQt5 >= 5.11 accepts as well. Whether ``X.Member`` is an enum value is decided
  by introspecting the Qt classes at check time, so no table of names is kept here;
* ``QVariant.String`` and the other ``QVariant.Type`` values used as field types (QGIS 4 takes ``QMetaType.Type``);
  only the compatibility module ``qt_compat.py`` may name them, since QGIS before 3.38 takes nothing else;
* ``QAction`` and the other classes that moved from QtWidgets to QtGui, imported from QtWidgets outside the
  ``try: ... QtGui ... except ImportError:`` fallback;
* ``QRegExp``, ``QDesktopWidget``, ``QApplication.desktop()``, ``QTextCodec`` and ``pyqtSignal('QString')``,
  all gone in Qt6.

Usage: ``check_qt6.py [PATH ...]``. Exit status 1 with one ``file:line: found -> use`` line per finding, 0 otherwise.
"""

from __future__ import annotations

import ast
import enum
import importlib
import inspect
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

# The one module allowed to name QVariant field types: it picks QMetaType or QVariant by QGIS version.
COMPAT_MODULE_NAMES = frozenset({"qt_compat.py"})

# Moved from QtWidgets to QtGui in Qt6.
MOVED_TO_QTGUI = frozenset(
    {"QAction", "QActionGroup", "QShortcut", "QUndoCommand", "QUndoGroup", "QUndoStack", "QFileSystemModel"}
)

IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception"})

# Classes removed in Qt6, with what replaces them.
REMOVED_CLASSES = {
    "QRegExp": "QRegularExpression",
    "QRegExpValidator": "QRegularExpressionValidator",
    "QDesktopWidget": "QScreen (QGuiApplication.primaryScreen() / widget.screen())",
    "QTextCodec": "str.encode / bytes.decode (QStringConverter in Qt6)",
}

# Enum members renamed in Qt6: the scoped PyQt5 form would still fail there.
RENAMED_MEMBERS = {("MouseButton", "MidButton"): "MiddleButton"}

# Modules whose classes the check may import to resolve names; nothing else is imported (no plugin code runs).
IMPORTABLE_PREFIXES = ("qgis.", "PyQt5.", "PyQt6.")
QT_MODULES = ("QtCore", "QtGui", "QtWidgets", "QtNetwork", "QtSvg", "QtXml", "QtPrintSupport", "QtSql", "QtTest")


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    kind: str
    found: str
    use: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.found} -> {self.use}"


def default_paths(root: Path = REPO_ROOT) -> list[Path]:
    paths = sorted((root / "plugin").rglob("*.py"))
    for extra in (root / "__init__.py", root / "tests" / "desktop" / "driver.py"):
        if extra.is_file():
            paths.append(extra)
    return paths


def _qt_module(name: str):
    for package in ("qgis.PyQt", "PyQt6", "PyQt5"):
        try:
            return importlib.import_module(f"{package}.{name}")
        except ImportError:
            continue
    return None


def _import(module: str):
    if module != "qgis" and not module.startswith(IMPORTABLE_PREFIXES):
        return None
    try:
        return importlib.import_module(module)
    except Exception:  # a module this QGIS lacks (e.g. PyQt6 on Qt5): the name stays unresolved
        return None


def _is_enum_type(obj) -> bool:
    if not inspect.isclass(obj):
        return False
    if issubclass(obj, enum.Enum):
        return True
    return type(obj).__name__ == "enumtype"  # sip's metaclass for PyQt5 enums


def _is_qt_enum_type(obj) -> bool:
    return _is_enum_type(obj) and obj.__module__.startswith(("PyQt5", "PyQt6"))


def scoped_enum_name(owner, member: str) -> str | None:
    """Name of the Qt enum of ``owner`` (a class) that holds ``member``, when ``owner.member`` is an unscoped value.

    Works under PyQt5, where ``owner.member`` is the enum value itself, and under PyQt6, where only the enum holds it.
    """
    if not inspect.isclass(owner) or _is_enum_type(owner) or member.startswith("_"):
        return None
    try:
        value = getattr(owner, member)
    except AttributeError:
        value = None
    else:
        if _is_qt_enum_type(type(value)):
            return type(value).__qualname__.rsplit(".", 1)[-1]
        return None
    for name in dir(owner):
        candidate = getattr(owner, name, None)
        if _is_qt_enum_type(candidate) and name == candidate.__qualname__.rsplit(".", 1)[-1]:
            if isinstance(candidate, enum.EnumMeta):
                if member in candidate.__members__:
                    return name
            elif hasattr(candidate, member):
                return name
    return None


class _Checker(ast.NodeVisitor):
    def __init__(self, path: str, source: str, tree: ast.AST):
        self.path = path
        self.source = source
        self.compat_module = Path(path).name in COMPAT_MODULE_NAMES
        self.findings: list[Finding] = []
        self.bindings: dict[str, tuple[str, str | None]] = {}  # local name -> (module, attribute or None)
        self.parents: dict[ast.AST, ast.AST] = {}
        for parent in ast.walk(tree):
            for child in ast.iter_child_nodes(parent):
                self.parents[child] = parent
        self._collect_bindings(tree)

    # -- helpers -------------------------------------------------------------------------------------------------
    def add(self, node: ast.AST, kind: str, found: str, use: str) -> None:
        self.findings.append(Finding(self.path, node.lineno, kind, found, use))

    def text(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.source, node) or ast.unparse(node)

    def _collect_bindings(self, tree: ast.AST) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    self.bindings[alias.asname or alias.name] = (node.module, alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.bindings[alias.asname] = (alias.name, None)
                    else:
                        top = alias.name.split(".")[0]
                        self.bindings[top] = (top, None)

    def resolve(self, node: ast.AST):
        """The object an expression such as ``Qt``, ``QtCore.Qt`` or ``qgis.PyQt.QtCore.Qt`` names, or None."""
        if isinstance(node, ast.Attribute):
            owner = self.resolve(node.value)
            return None if owner is None else getattr(owner, node.attr, None)
        if not isinstance(node, ast.Name):
            return None
        if node.id in self.bindings:
            module, attribute = self.bindings[node.id]
            if attribute is None:
                return _import(module)
            imported = _import(module)
            if imported is not None and hasattr(imported, attribute):
                return getattr(imported, attribute)
            return _import(f"{module}.{attribute}")
        if node.id.startswith("Q"):  # a Qt class reached some other way (star import, re-export)
            for module_name in QT_MODULES:
                module = _qt_module(module_name)
                if module is not None and hasattr(module, node.id):
                    return getattr(module, node.id)
        return None

    def _in_import_fallback(self, node: ast.AST) -> bool:
        """Whether ``node`` is in an ``except ImportError:`` branch (the QGIS 3 side of a QtGui-first import)."""
        parent = self.parents.get(node)
        while parent is not None:
            if isinstance(parent, ast.ExceptHandler):
                caught = parent.type.elts if isinstance(parent.type, ast.Tuple) else [parent.type]
                return any(kind is None or (isinstance(kind, ast.Name) and kind.id in IMPORT_ERRORS) for kind in caught)
            parent = self.parents.get(parent)
        return False

    # -- imports -------------------------------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            top = alias.name.split(".")[0]
            if top in {"PyQt5", "PyQt6"}:
                portable = alias.name.replace(top, "qgis.PyQt", 1)
                self.add(node, "pyqt-import", f"import {alias.name}", f"import {portable}")
            elif alias.name == "sip":
                self.add(node, "pyqt-import", "import sip", "from qgis.PyQt import sip")
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        top = module.split(".")[0]
        names = ", ".join(alias.name for alias in node.names)
        if node.level == 0 and top in {"PyQt5", "PyQt6"}:
            portable = module.replace(top, "qgis.PyQt", 1)
            self.add(node, "pyqt-import", f"from {module} import {names}", f"from {portable} import {names}")
        elif node.level == 0 and module == "sip":
            self.add(node, "pyqt-import", f"from sip import {names}", "from qgis.PyQt import sip")
        for alias in node.names:
            if module.endswith("QtWidgets") and alias.name in MOVED_TO_QTGUI and not self._in_import_fallback(node):
                self.add(
                    node,
                    "moved-to-qtgui",
                    f"{alias.name} from QtWidgets",
                    f"{alias.name} from qgis.PyQt.QtGui, with QtWidgets only as the ImportError fallback (QGIS 3)",
                )
            if alias.name in REMOVED_CLASSES:
                self.add(node, "removed-class", alias.name, REMOVED_CLASSES[alias.name])
        self.generic_visit(node)

    # -- calls ---------------------------------------------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "exec_":
            self.add(node, "exec_", f"{self.text(func)}()", f"{self.text(func.value)}.exec()")
        if isinstance(func, ast.Attribute) and func.attr == "desktop" and not node.args and not node.keywords:
            self.add(node, "removed-class", f"{self.text(func)}()", "QGuiApplication.primaryScreen() / widget.screen()")
        is_signal = (isinstance(func, ast.Name) and func.id == "pyqtSignal") or (
            isinstance(func, ast.Attribute) and func.attr == "pyqtSignal"
        )
        if is_signal:
            for arg in [*node.args, *(keyword.value for keyword in node.keywords)]:
                for constant in ast.walk(arg):
                    if isinstance(constant, ast.Constant) and constant.value == "QString":
                        self.add(node, "qstring-signal", self.text(node), "pyqtSignal(str)")
        self.generic_visit(node)

    # -- attribute chains ----------------------------------------------------------------------------------------
    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in REMOVED_CLASSES:
            owner = self.resolve(node.value)
            if inspect.ismodule(owner):
                self.add(node, "removed-class", self.text(node), REMOVED_CLASSES[node.attr])
        if node.attr in MOVED_TO_QTGUI:
            owner = self.resolve(node.value)
            if inspect.ismodule(owner) and owner.__name__.endswith("QtWidgets"):
                self.add(node, "moved-to-qtgui", self.text(node), f"QtGui.{node.attr} (with the QtWidgets fallback)")
        self._check_enum(node)
        self.generic_visit(node)

    def _check_enum(self, node: ast.Attribute) -> None:
        owner = self.resolve(node.value)
        if owner is None or not inspect.isclass(owner):
            return
        owner_text = self.text(node.value)
        if getattr(owner, "__name__", "") == "QVariant":
            if node.attr == "Type" or scoped_enum_name(owner, node.attr) == "Type":
                if not self.compat_module:
                    self.add(
                        node,
                        "qvariant-type",
                        self.text(node),
                        "FieldType from qt_compat.py (QMetaType.Type from QGIS 3.38 on, QVariant.Type before)",
                    )
            return
        enum_name = scoped_enum_name(owner, node.attr)
        if enum_name is None:
            return
        member = RENAMED_MEMBERS.get((enum_name, node.attr), node.attr)
        self.add(node, "unscoped-enum", self.text(node), f"{owner_text}.{enum_name}.{member}")


def check_source(source: str, path: str = "<source>") -> list[Finding]:
    tree = ast.parse(source, filename=path)
    checker = _Checker(path, source, tree)
    checker.visit(tree)
    return sorted(set(checker.findings), key=lambda f: (f.path, f.line, f.found))


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def iter_python_files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        path = Path(path)
        if path.is_dir():
            yield from sorted(path.rglob("*.py"))
        else:
            yield path


def check_paths(paths: Iterable[Path]) -> tuple[list[Finding], int]:
    """Findings in the given files (folders are searched for .py files), and how many files were read."""
    findings: list[Finding] = []
    count = 0
    for path in iter_python_files(paths):
        findings.extend(check_source(path.read_text(encoding="utf-8"), _display(path)))
        count += 1
    return findings, count


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if _qt_module("QtCore") is None:
        print("Qt6 check: cannot import qgis.PyQt, PyQt6 or PyQt5; run it with QGIS's Python", file=sys.stderr)
        return 2
    paths = [Path(arg) for arg in args] if args else default_paths()
    findings, count = check_paths(paths)
    for finding in findings:
        print(finding)
    if findings:
        print(f"Qt6 check: {len(findings)} Qt5-only use(s) in {count} files")
        return 1
    print(f"Qt6 check: clean ({count} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
