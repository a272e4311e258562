"""The engine's Python dependencies: where they live, which are missing, and the pip call that installs them.

The engine runs in a child process of QGIS (see ``engine_process.py``) started with the interpreter QGIS embeds.
Its packages go to a plugin-private folder in the QGIS profile that comes *first* on the child's ``PYTHONPATH``, so
the versions the engine needs win over the system's (Debian's sympy 1.11 would shadow the one torch needs) while
QGIS's own process keeps its packages first. Every question about the engine's packages is therefore asked of that
child environment, never of QGIS's ``sys.path``; nothing here imports torch.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

# import name -> pip requirement, in the order a user would install them
ENGINE_DEPENDENCIES: dict[str, str] = {
    "torch": "torch",
    "transformers": "transformers",
    "peft": "peft",
    "huggingface_hub": "huggingface-hub",
    "safetensors": "safetensors",
    "numpy": "numpy",
    "rasterio": "rasterio",
    "pyproj": "pyproj",
    "shapely": "shapely",
    "pyogrio": "pyogrio",
    "PIL": "pillow",
}

# requirements/engine.txt, which the plugin archive does not ship (a test keeps the two equal)
ENGINE_REQUIREMENTS: tuple[str, ...] = (
    "torch==2.13.0",
    "numpy<2",
    "transformers>=5.0,<6",
    "peft>=0.17",
    "huggingface-hub>=1.0",
    "safetensors>=0.5",
    "rasterio>=1.4",
    "pyproj>=3.6",
    "shapely>=2.0",
    "attrs>=23.2",
    "jinja2>=3.1.6",
    "tqdm",
    "pyogrio>=0.10",
    "pillow>=9.4",
    "sentencepiece>=0.2.3,<0.3",
    "protobuf>=7.36.1,<8",
)

# what an install must make importable for the engine to start (checked in the child environment)
VERIFY_IMPORTS: tuple[str, ...] = ("torch", "transformers", "shapely", "rasterio", "pyproj", "pyogrio")

# set by QGIS for its own GDAL/PROJ; the engine's wheels bundle their own data and break with QGIS's
QGIS_ONLY_VARIABLES: tuple[str, ...] = ("PROJ_LIB", "PROJ_DATA", "GDAL_DATA", "GDAL_DRIVER_PATH")

PYTORCH_INDEX = "https://download.pytorch.org/whl/"
CUDA_BUILDS: tuple[tuple[int, int], ...] = ((13, 0), (12, 8), (12, 6), (12, 4), (12, 1), (11, 8))  # newest first
NVIDIA_PROC_VERSION = Path("/proc/driver/nvidia/version")
# oldest Linux driver of each CUDA version (NVIDIA's CUDA toolkit release notes), newest first
DRIVER_CUDA: tuple[tuple[tuple[int, int], tuple[int, int]], ...] = (
    ((580, 65), (13, 0)),
    ((570, 26), (12, 8)),
    ((560, 28), (12, 6)),
    ((550, 54), (12, 4)),
    ((530, 30), (12, 1)),
    ((520, 61), (11, 8)),
)

CHECK_TIMEOUT_S = 60.0
VERIFY_TIMEOUT_S = 600.0
_NO_WINDOW = getattr(subprocess, "CREATE_NO_WINDOW", 0)  # no console window flashing up on Windows

# Run in the child: which of argv's modules are missing (found without importing them), and for modules named after
# "--import", the error importing them raises. Prints one JSON line.
_CHECK_SCRIPT = """
import importlib, importlib.util, json, sys
args = sys.argv[1:]
cut = args.index("--import") if "--import" in args else len(args)
def found(name):
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False
missing = [m for m in args[:cut] if not found(m)]
errors = {}
for m in args[cut + 1:]:
    try:
        importlib.import_module(m)
    except BaseException as exc:
        errors[m] = type(exc).__name__ + ": " + str(exc)
print(json.dumps({"missing": missing, "errors": errors}))
"""


def _log(text: str) -> None:
    try:
        from qgis.core import Qgis, QgsMessageLog

        QgsMessageLog.logMessage(text, "GeoGround", Qgis.Warning)
    except ImportError:  # pragma: no cover - outside QGIS
        print(text, file=sys.stderr)


# -- the interpreter and environment of the engine process ----------------------------------------------------------


def engine_python() -> str:
    """The interpreter QGIS embeds, to run the engine and pip with.

    ``sys.executable`` is the QGIS binary on Windows and macOS, and on Linux may be whatever ``python3`` comes first
    on PATH (a different Python): it is trusted only when its name carries this Python's version.
    """
    major, minor = sys.version_info[:2]
    executable = Path(sys.executable)
    exec_prefix, prefix = Path(sys.exec_prefix), Path(sys.prefix)
    if sys.platform.startswith("win"):
        candidates = [exec_prefix / "python.exe", prefix / "python.exe", exec_prefix / "python3.exe"]
        candidates += [prefix / "python3.exe", exec_prefix / "Scripts" / "python.exe"]
        versioned = {f"python{major}.{minor}.exe", f"python{major}{minor}.exe"}
    else:
        folders = [exec_prefix / "bin", prefix / "bin"]
        if sys.platform == "darwin":  # QGIS.app: Contents/MacOS/QGIS next to Contents/MacOS/bin/python3
            folders.append(executable.parent / "bin")
        names = [f"python{major}.{minor}", f"python{major}", "python"]
        candidates = [folder / name for name in names for folder in folders]
        versioned = {f"python{major}.{minor}"}
    if executable.name.lower() in versioned:
        candidates.append(executable)
    for candidate in candidates:
        if candidate.is_file():
            return str(candidate)
    searched = ", ".join(str(c) for c in dict.fromkeys(candidates))
    raise FileNotFoundError(
        f"cannot find the Python {major}.{minor} interpreter QGIS runs on (looked for {searched}; "
        f"sys.executable is {sys.executable})"
    )


def _package_root() -> Path:
    """The folder holding the plugin package (the profile's python/plugins), without resolving symlinks."""
    return Path(os.path.abspath(__file__)).parents[__name__.count(".")]


def engine_environment(site: Path | None = None) -> dict[str, str]:
    """The environment of the engine process: its private packages and the plugin first on PYTHONPATH.

    ``site`` is the private folder (default :func:`private_site_dir`). QGIS's GDAL/PROJ variables are removed;
    PYTHONHOME stays (OSGeo4W needs it).
    """
    env = dict(os.environ)
    for name in QGIS_ONLY_VARIABLES:
        env.pop(name, None)
    paths: list[str] = []
    try:
        site = Path(site) if site is not None else private_site_dir()
    except Exception as exc:  # noqa: BLE001 - no QGIS profile (e.g. qgis_process without one): no private folder
        _log(f"no private package folder: {exc}")
        site = None
    if site is not None and site.is_absolute() and site.is_dir():  # no profile: a relative path, not ours
        paths.append(str(site))
    paths.append(str(_package_root()))
    paths += [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    env["PYTHONIOENCODING"] = "utf-8"
    env["PYTHONUNBUFFERED"] = "1"
    return env


# -- what the engine process can import ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EngineCheck:
    """What the engine process sees: modules it cannot find, and import errors of the ones it was asked to load."""

    missing: list[str]
    errors: dict[str, str]

    @property
    def ok(self) -> bool:
        return not self.missing and not self.errors


def check_engine(
    modules: Sequence[str] | None = None,
    imports: Sequence[str] = (),
    site: Path | None = None,
    timeout: float = CHECK_TIMEOUT_S,
) -> EngineCheck:
    """One child process with the engine's interpreter and environment: which ``modules`` (default: the engine's
    dependencies) it cannot find, without importing them, and what importing ``imports`` raises.

    Raises OSError/SubprocessError/ValueError when the interpreter cannot be run or answers nonsense.
    """
    modules = list(ENGINE_DEPENDENCIES) if modules is None else list(modules)
    command = [engine_python(), "-c", _CHECK_SCRIPT, *modules, "--import", *imports]
    done = subprocess.run(
        command,
        env=engine_environment(site),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
        creationflags=_NO_WINDOW,
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise ValueError(f"{command[0]} exited with {done.returncode}: {done.stderr.strip()[-500:]}")
    answer = json.loads(lines[-1])
    return EngineCheck(list(answer["missing"]), dict(answer["errors"]))


_missing_lock = threading.Lock()
_missing_cache: list[str] | None = None


def missing_dependencies() -> list[str]:
    """pip requirement names of the engine dependencies the engine process cannot import (asked once, then cached;
    :func:`forget_dependency_check` asks again). A module blocked in this process (``sys.modules[name] = None``)
    counts as missing too."""
    global _missing_cache
    with _missing_lock:
        if _missing_cache is None:
            try:
                missing = set(check_engine().missing)
            except (OSError, subprocess.SubprocessError, ValueError) as exc:
                _log(f"cannot ask the engine's Python which packages it has, so all count as missing: {exc}")
                missing = set(ENGINE_DEPENDENCIES)
            _missing_cache = [req for module, req in ENGINE_DEPENDENCIES.items() if module in missing]
        blocked = {ENGINE_DEPENDENCIES[m] for m in ENGINE_DEPENDENCIES if m in sys.modules and sys.modules[m] is None}
        return [req for req in ENGINE_DEPENDENCIES.values() if req in _missing_cache or req in blocked]


def forget_dependency_check() -> None:
    """Drop the cached answer of :func:`missing_dependencies` (after an install)."""
    global _missing_cache
    with _missing_lock:
        _missing_cache = None


# -- the private folder ------------------------------------------------------------------------------------------------


def private_site_dir() -> Path:
    """Where the plugin installs its Python dependencies: inside the QGIS profile, one folder per Python version."""
    from qgis.core import QgsApplication

    version = f"{sys.version_info.major}{sys.version_info.minor}"
    return Path(QgsApplication.qgisSettingsDirPath()) / "python" / f"geoground-packages-py{version}"


def activate_private_site(folder: Path | None = None) -> bool:
    """Append the private folder to ``sys.path`` (after QGIS's own packages, which keep priority)."""
    import importlib

    folder = Path(folder) if folder is not None else private_site_dir()
    if not folder.is_dir():
        return False
    if str(folder) not in sys.path:
        sys.path.append(str(folder))
    importlib.invalidate_caches()
    return True


# -- which PyTorch build ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TorchBuild:
    """The PyTorch build an install takes: ``kind`` is "cpu", "cuda", "default" (PyPI's, on macOS) or "offline"."""

    kind: str
    index_url: str | None = None
    cuda: tuple[int, int] | None = None  # the CUDA version of a "cuda" build
    local_tag: str | None = None  # appended to an exact torch pin ("cpu": fail rather than fetch a CUDA build)


OFFLINE = TorchBuild("offline")


def nvidia_smi() -> str | None:
    """The nvidia-smi program: on PATH, or where the NVIDIA driver puts it on Windows."""
    found = shutil.which("nvidia-smi")
    if found or not sys.platform.startswith("win"):
        return found
    for folder in (
        Path(os.environ.get("SystemRoot", r"C:\Windows")) / "System32",
        Path(os.environ.get("ProgramFiles", r"C:\Program Files")) / "NVIDIA Corporation" / "NVSMI",
    ):
        if (folder / "nvidia-smi.exe").is_file():
            return str(folder / "nvidia-smi.exe")
    return None


def driver_cuda_version() -> tuple[int, int] | None:
    """The newest CUDA version the NVIDIA driver runs, found without torch; None without a working NVIDIA GPU."""
    smi = nvidia_smi()
    if smi is not None:
        try:
            shown = subprocess.run(
                [smi],
                capture_output=True,
                text=True,
                errors="replace",
                timeout=30,
                stdin=subprocess.DEVNULL,
                creationflags=_NO_WINDOW,
            ).stdout
        except (OSError, subprocess.SubprocessError):
            shown = ""
        match = re.search(r"CUDA Version\s*:\s*(\d+)\.(\d+)", shown)
        if match:
            return int(match.group(1)), int(match.group(2))
    try:  # Linux without nvidia-smi: the kernel module's version
        text = NVIDIA_PROC_VERSION.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    match = re.search(r"Kernel Module\s+(?:for \S+\s+)?(\d+)\.(\d+)", text)
    if not match:
        return None
    driver = (int(match.group(1)), int(match.group(2)))
    return next((cuda for oldest, cuda in DRIVER_CUDA if driver >= oldest), None)


def choose_torch_build(
    cuda_version: tuple[int, int] | None | str = "detect", platform: str | None = None, machine: str | None = None
) -> TorchBuild:
    """PyTorch's CPU build without an NVIDIA GPU, the newest CUDA build the driver runs with one; macOS takes PyPI's
    build (CPU and Apple GPU)."""
    import platform as platform_module

    platform = platform or sys.platform
    machine = (machine or platform_module.machine()).lower()
    if platform == "darwin":
        return TorchBuild("default")
    if cuda_version == "detect":
        cuda_version = driver_cuda_version()
    if isinstance(cuda_version, tuple):
        build = next((b for b in CUDA_BUILDS if b <= cuda_version), None)
        if build is not None:
            return TorchBuild("cuda", f"{PYTORCH_INDEX}cu{build[0]}{build[1]}", build)
    # The cpu index has "+cpu" builds of every release for x86-64 Linux and Windows; elsewhere keep the plain pin.
    local = "cpu" if machine in {"x86_64", "amd64"} else None
    return TorchBuild("cpu", f"{PYTORCH_INDEX}cpu", None, local)


# -- the pip call ------------------------------------------------------------------------------------------------------


def _requirement_name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[\s]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def engine_requirements(missing: Sequence[str] | None = None) -> list[str]:
    """The lines of requirements/engine.txt for ``missing`` (pip names; None: all), plus the small packages the
    engine needs at a newer version than a system may have (attrs, jinja2...), which no check looks at."""
    checked = set(ENGINE_DEPENDENCIES.values())
    wanted = None if missing is None else {_requirement_name(m) for m in missing}
    chosen = []
    for requirement in ENGINE_REQUIREMENTS:
        name = _requirement_name(requirement)
        if wanted is None or name in wanted or name not in checked:
            chosen.append(requirement)
    return chosen


def interpreter_numpy() -> str | None:
    """The numpy version QGIS's Python runs (its compiled modules are built for it); None without numpy."""
    try:
        import numpy
    except ImportError:
        return None
    return str(numpy.__version__)


def pip_command(
    requirements: Sequence[str],
    target: Path,
    *,
    wheel_dir: Path | None = None,
    build: TorchBuild | None = None,
    progress_raw: bool = False,
    python: str | None = None,
) -> list[str]:
    """The pip call that installs ``requirements`` into ``target`` only, numpy held at the interpreter's version.

    Online, the PyTorch index of ``build`` is an extra index: its "+cpu"/"+cuXXX" builds sort above PyPI's plain
    version, and other packages still come from PyPI. Offline (``wheel_dir``) pip looks nowhere else.
    """
    target = Path(target)
    constraints = target.parent / (target.name + "-constraints.txt")
    constraints.parent.mkdir(parents=True, exist_ok=True)
    numpy_version = interpreter_numpy()
    constraints.write_text(f"numpy=={numpy_version}\n" if numpy_version else "", encoding="utf-8")
    command = [python or engine_python(), "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
    command += ["--target", str(target), "--upgrade", "-c", str(constraints)]
    if progress_raw:
        command += ["--progress-bar", "raw"]
    if wheel_dir is not None:
        command += ["--no-index", "--find-links", str(wheel_dir)]
    elif build is not None and build.index_url:
        command += ["--extra-index-url", build.index_url]
    lines = []
    for requirement in requirements:
        name = _requirement_name(requirement)
        if name == "numpy" and numpy_version:
            requirement = "numpy"  # the constraint decides; a range here could contradict QGIS's numpy
        pinned = re.fullmatch(r"torch\s*==\s*([\w.]+)", requirement.strip())
        if pinned and wheel_dir is None and build is not None and build.local_tag:
            requirement = f"torch=={pinned.group(1)}+{build.local_tag}"
        lines.append(requirement)
    return command + lines


def pip_version(python: str) -> tuple[int, int] | None:
    """The version of pip in ``python``; None when it has no pip."""
    try:
        done = subprocess.run(
            [python, "-m", "pip", "--version"],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=CHECK_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
            creationflags=_NO_WINDOW,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.match(r"pip (\d+)\.(\d+)", done.stdout.strip())
    return (int(match.group(1)), int(match.group(2))) if done.returncode == 0 and match else None


def pip_environment() -> dict[str, str]:
    """pip's environment: QGIS's, with output that arrives line by line in UTF-8 (PYTHONPATH untouched: pip
    resolves for ``--target`` on its own)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8", PIP_DISABLE_PIP_VERSION_CHECK="1")
    for name in QGIS_ONLY_VARIABLES:
        env.pop(name, None)
    return env


def run_pip(
    command: list[str],
    on_line: Callable[[str], None],
    should_stop: Callable[[], bool] = lambda: False,
    env: dict[str, str] | None = None,
) -> int:
    """Run pip, passing each output line to ``on_line``; returns pip's exit code (-1 when stopped).

    Lines are read on a helper thread so that a stop request is seen even while pip prints nothing (a long
    download without a progress bar).
    """
    import queue

    lines: queue.Queue[str | None] = queue.Queue()
    with subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
        env=env if env is not None else pip_environment(),
        creationflags=_NO_WINDOW,
        start_new_session=not sys.platform.startswith("win"),  # its build helpers can be ended with it
    ) as process:
        stdout = process.stdout
        assert stdout is not None

        def pump() -> None:
            try:
                for line in stdout:
                    lines.put(line)
            except (OSError, ValueError):  # closed under us after a stop
                pass
            lines.put(None)

        reader = threading.Thread(target=pump, name="geoground-pip-output", daemon=True)
        reader.start()
        while True:
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                line = ""
            if line is None:
                break
            if line:
                on_line(line.rstrip("\r\n"))
            if should_stop():
                _end(process)
                reader.join(timeout=5)
                return -1
        reader.join()
        return process.wait()


def _end(process: subprocess.Popen) -> None:
    """End pip and, on POSIX, the helpers it started (they hold its output pipe open)."""
    import signal

    for sig in (signal.SIGTERM, getattr(signal, "SIGKILL", signal.SIGTERM)):
        try:
            if sys.platform.startswith("win"):
                process.terminate()
            else:
                os.killpg(process.pid, sig)
        except OSError:  # already gone
            pass
        try:
            process.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue
