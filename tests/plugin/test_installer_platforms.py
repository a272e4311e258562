"""The engine's interpreter and environment per platform, the PyTorch build chosen with and without an NVIDIA GPU,
the download size said before an install, and the progress read from pip's output."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

MAJOR, MINOR = sys.version_info[:2]


@pytest.fixture
def deps():
    from geoground.plugin import dependencies

    dependencies.forget_dependency_check()
    yield dependencies
    dependencies.forget_dependency_check()  # other tests must not see an answer made under this test's patches


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("", encoding="utf-8")
    return path


def fake_python(monkeypatch, platform: str, executable: Path, prefix: Path, exec_prefix: Path | None = None) -> None:
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setattr(sys, "executable", str(executable))
    monkeypatch.setattr(sys, "prefix", str(prefix))
    monkeypatch.setattr(sys, "exec_prefix", str(exec_prefix or prefix))


# -- engine_python ---------------------------------------------------------------------------------------------------


def test_debian_qgis_gets_its_own_python_not_the_first_python3_on_path(tmp_path, monkeypatch, deps):
    """QGIS 3.22 on Debian: sys.executable is a pyenv shim of another Python; /usr/bin/python3.X is QGIS's."""
    shim = touch(tmp_path / "root" / ".pyenv" / "shims" / "python3")
    usr = tmp_path / "usr"
    touch(usr / "bin" / "python3")
    versioned = touch(usr / "bin" / f"python{MAJOR}.{MINOR}")
    fake_python(monkeypatch, "linux", shim, usr)
    assert deps.engine_python() == str(versioned)
    versioned.unlink()
    assert deps.engine_python() == str(usr / "bin" / "python3")


def test_osgeo4w_qgis_gets_python_exe_not_qgis_exe(tmp_path, monkeypatch, deps):
    qgis_exe = touch(tmp_path / "OSGeo4W" / "bin" / "qgis-ltr-bin.exe")
    apps = tmp_path / "OSGeo4W" / "apps" / f"Python{MAJOR}{MINOR}"
    python3_exe = touch(apps / "python3.exe")
    fake_python(monkeypatch, "win32", qgis_exe, apps)
    assert deps.engine_python() == str(python3_exe)
    python_exe = touch(apps / "python.exe")
    assert deps.engine_python() == str(python_exe)
    # an installer whose exec_prefix lacks the interpreter: sys.prefix's comes next
    other = tmp_path / "OSGeo4W" / "apps" / "empty"
    other.mkdir()
    fake_python(monkeypatch, "win32", qgis_exe, apps, exec_prefix=other)
    assert deps.engine_python() == str(python_exe)


def test_macos_qgis_app_gets_the_bundled_python(tmp_path, monkeypatch, deps):
    contents = tmp_path / "QGIS.app" / "Contents"
    binary = touch(contents / "MacOS" / "QGIS")
    framework = contents / "Frameworks" / "Python.framework" / "Versions" / f"{MAJOR}.{MINOR}"
    framework.mkdir(parents=True)
    bundled = touch(contents / "MacOS" / "bin" / "python3")
    fake_python(monkeypatch, "darwin", binary, framework)
    assert deps.engine_python() == str(bundled)  # nothing in the prefix: QGIS.app's MacOS/bin
    versioned = touch(framework / "bin" / f"python{MAJOR}.{MINOR}")
    assert deps.engine_python() == str(versioned)


def test_sys_executable_is_used_only_when_its_name_carries_the_version(tmp_path, monkeypatch, deps):
    empty = tmp_path / "prefix"
    empty.mkdir()
    versioned = touch(tmp_path / "opt" / f"python{MAJOR}.{MINOR}")
    fake_python(monkeypatch, "linux", versioned, empty)
    assert deps.engine_python() == str(versioned)
    unversioned = touch(tmp_path / "elsewhere" / "python3")
    fake_python(monkeypatch, "linux", unversioned, empty)
    with pytest.raises(FileNotFoundError, match=rf"cannot find the Python {MAJOR}\.{MINOR} interpreter"):
        deps.engine_python()


def test_in_this_environment_the_engine_python_is_this_python(deps):
    python = deps.engine_python()
    shown = subprocess.run(
        [python, "-c", "import sys; print(sys.prefix, *sys.version_info[:2])"],
        text=True,
        capture_output=True,
        check=True,
    ).stdout.split()
    assert shown == [sys.prefix, str(MAJOR), str(MINOR)]


# -- engine_environment ----------------------------------------------------------------------------------------------


def test_engine_environment_puts_private_packages_and_the_plugin_first_and_drops_qgis_data_paths(
    tmp_path, monkeypatch, deps, plugin_package
):
    site = tmp_path / "packages"
    site.mkdir()
    for name in ("PROJ_LIB", "PROJ_DATA", "GDAL_DATA", "GDAL_DRIVER_PATH"):
        monkeypatch.setenv(name, "/usr/share/qgis-own")
    monkeypatch.setenv("PYTHONHOME", "C:/OSGeo4W/apps/Python312")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(["/existing/a", "/existing/b"]))
    monkeypatch.setattr(deps, "private_site_dir", lambda: site)

    env = deps.engine_environment()
    paths = env["PYTHONPATH"].split(os.pathsep)
    assert paths[0] == str(site)
    assert (Path(paths[1]) / plugin_package / "plugin" / "dependencies.py").is_file()  # the plugins folder
    assert paths[2:] == ["/existing/a", "/existing/b"]
    assert not {"PROJ_LIB", "PROJ_DATA", "GDAL_DATA", "GDAL_DRIVER_PATH"} & set(env)
    assert env["PYTHONHOME"] == "C:/OSGeo4W/apps/Python312"
    assert env["PYTHONIOENCODING"] == "utf-8" and env["PYTHONUNBUFFERED"] == "1"
    assert os.environ["PROJ_LIB"] == "/usr/share/qgis-own"  # QGIS's own environment is left as it was

    site.rmdir()  # not installed yet: not on the path
    assert deps.engine_environment()["PYTHONPATH"].split(os.pathsep)[1:] == ["/existing/a", "/existing/b"]


def test_private_packages_shadow_the_system_s_in_the_engine_process_only(tmp_path, deps, plugin_package):
    """The reported break: Debian's sympy 1.11 came before the private folder. In the child the private one wins."""
    site = tmp_path / "packages"
    touch(site / "sympy" / "__init__.py").write_text("__version__ = '99.0'\n", encoding="utf-8")
    script = (
        "import importlib.util, sympy; "
        f"print(sympy.__version__, importlib.util.find_spec('{plugin_package}.engine.worker') is not None)"
    )
    shown = subprocess.run(
        [deps.engine_python(), "-c", script], env=deps.engine_environment(site), text=True, capture_output=True
    )
    assert shown.stdout.split() == ["99.0", "True"], shown.stderr
    assert str(site) not in sys.path


# -- missing_dependencies: asked of the engine's environment --------------------------------------------------------


def test_missing_dependencies_asks_the_engine_environment_once_until_forgotten(tmp_path, monkeypatch, deps):
    site = tmp_path / "packages"
    site.mkdir()
    monkeypatch.setattr(deps, "private_site_dir", lambda: site)
    monkeypatch.setitem(deps.ENGINE_DEPENDENCIES, "geoground_probe_only_private", "geoground-probe")
    checks = []
    real_check = deps.check_engine
    monkeypatch.setattr(deps, "check_engine", lambda *a, **k: checks.append(1) or real_check(*a, **k))

    assert "geoground-probe" in deps.missing_dependencies()
    touch(site / "geoground_probe_only_private" / "__init__.py")
    assert "geoground-probe" in deps.missing_dependencies()  # cached: no second process
    assert len(checks) == 1
    deps.forget_dependency_check()
    assert "geoground-probe" not in deps.missing_dependencies()
    assert len(checks) == 2
    with pytest.raises(ImportError):  # found only in the engine's environment, not in QGIS's
        __import__("geoground_probe_only_private")


def test_without_an_interpreter_every_dependency_counts_as_missing(monkeypatch, deps):
    def no_python() -> str:
        raise FileNotFoundError("cannot find the Python interpreter")

    monkeypatch.setattr(deps, "engine_python", no_python)
    assert deps.missing_dependencies() == list(deps.ENGINE_DEPENDENCIES.values())


# -- the PyTorch build ------------------------------------------------------------------------------------------------


def fake_nvidia_smi(folder: Path, output: str, code: int = 0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "nvidia-smi"
    script.write_text(f"#!/bin/sh\ncat <<'EOF'\n{output}\nEOF\nexit {code}\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def smi_table(cuda: str) -> str:
    return (
        "+-----------------------------------------------------------------------------+\n"
        f"| NVIDIA-SMI 550.54.15    Driver Version: 550.54.15    CUDA Version: {cuda}     |\n"
        "| GPU  Name        Persistence-M| Bus-Id        Disp.A | Volatile Uncorr. ECC |"
    )


@pytest.fixture
def no_gpu(tmp_path, monkeypatch, deps):
    """A machine without nvidia-smi and without the NVIDIA kernel module."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setattr(deps, "NVIDIA_PROC_VERSION", tmp_path / "no-such-proc-file")
    return empty


def test_without_a_gpu_the_online_install_takes_pytorch_s_cpu_build(tmp_path, no_gpu, deps):
    build = deps.choose_torch_build(platform="linux", machine="x86_64")
    assert build.kind == "cpu" and build.index_url == "https://download.pytorch.org/whl/cpu"
    command = deps.pip_command(
        ["torch==2.13.0", "transformers>=5.0,<6"], tmp_path / "packages", build=build, python="python"
    )
    assert command[command.index("--extra-index-url") + 1] == "https://download.pytorch.org/whl/cpu"
    assert command[-2:] == ["torch==2.13.0+cpu", "transformers>=5.0,<6"]  # never a silent fallback to CUDA
    assert "--no-index" not in command
    aarch64 = deps.choose_torch_build(platform="linux", machine="aarch64")
    assert aarch64.kind == "cpu" and aarch64.local_tag is None  # its CPU wheels carry no "+cpu" label


@pytest.mark.parametrize(
    ("shown", "index"), [("12.4", "cu124"), ("12.9", "cu128"), ("13.1", "cu130"), ("12.2", "cu121"), ("11.4", "cpu")]
)
def test_with_an_nvidia_gpu_the_newest_cuda_build_the_driver_runs(tmp_path, monkeypatch, deps, shown, index):
    fake_nvidia_smi(tmp_path / "bin", smi_table(shown))
    monkeypatch.setenv("PATH", os.pathsep.join([str(tmp_path / "bin"), os.environ["PATH"]]))
    build = deps.choose_torch_build(platform="linux", machine="x86_64")
    assert build.index_url == f"https://download.pytorch.org/whl/{index}"
    assert build.kind == ("cpu" if index == "cpu" else "cuda")
    if build.kind == "cuda":
        command = deps.pip_command(["torch==2.13.0"], tmp_path / "packages", build=build, python="python")
        assert command[-1] == "torch==2.13.0"  # the +cuXXX build is preferred by version order, not forced
        assert command[command.index("--extra-index-url") + 1] == build.index_url


def test_a_failing_nvidia_smi_means_no_gpu(tmp_path, monkeypatch, deps):
    fake_nvidia_smi(tmp_path / "bin", "NVIDIA-SMI has failed because it couldn't communicate with the driver.", 9)
    monkeypatch.setenv("PATH", os.pathsep.join([str(tmp_path / "bin"), os.environ["PATH"]]))
    monkeypatch.setattr(deps, "NVIDIA_PROC_VERSION", tmp_path / "no-such-proc-file")
    assert deps.choose_torch_build(platform="linux", machine="x86_64").kind == "cpu"


def test_the_kernel_module_version_stands_in_for_nvidia_smi(tmp_path, no_gpu, monkeypatch, deps):
    proc = touch(tmp_path / "proc-version")
    proc.write_text("NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023\n")
    monkeypatch.setattr(deps, "NVIDIA_PROC_VERSION", proc)
    assert deps.driver_cuda_version() == (12, 1)
    assert deps.choose_torch_build(platform="linux", machine="x86_64").index_url.endswith("/cu121")


def test_macos_and_offline_installs_use_no_pytorch_index(tmp_path, no_gpu, deps):
    mac = deps.choose_torch_build(platform="darwin", machine="arm64")
    assert mac.kind == "default" and mac.index_url is None
    command = deps.pip_command(["torch==2.13.0"], tmp_path / "packages", build=mac, python="python")
    assert "--extra-index-url" not in command and command[-1] == "torch==2.13.0"
    cpu = deps.choose_torch_build(platform="linux", machine="x86_64")
    offline = deps.pip_command(
        ["torch==2.13.0"], tmp_path / "packages", wheel_dir=tmp_path / "wheels", build=cpu, python="python"
    )
    assert "--extra-index-url" not in offline and offline[-1] == "torch==2.13.0"
    assert offline[offline.index("--find-links") + 1] == str(tmp_path / "wheels")


def test_numpy_is_held_by_the_constraint_not_by_the_requirement_s_range(tmp_path, deps):
    import numpy

    command = deps.pip_command(["numpy<2", "shapely>=2.0"], tmp_path / "packages", python="python")
    assert command[-2:] == ["numpy", "shapely>=2.0"]
    assert Path(command[command.index("-c") + 1]).read_text().strip() == f"numpy=={numpy.__version__}"


def test_engine_requirements_take_missing_packages_and_the_small_helpers(deps):
    chosen = deps.engine_requirements(["torch", "pyogrio"])
    assert "torch==2.13.0" in chosen and "pyogrio>=0.10" in chosen
    assert "jinja2>=3.1.6" in chosen and "attrs>=23.2" in chosen  # no check sees them; the engine needs them
    assert not any(r.startswith(("transformers", "rasterio", "shapely")) for r in chosen)
    assert deps.engine_requirements() == list(deps.ENGINE_REQUIREMENTS)


# -- what the user is told before, and shown during, an install ----------------------------------------------------


def test_the_download_size_is_said_before_the_install(qgis_app):
    from geoground.plugin.dependencies import OFFLINE, TorchBuild
    from geoground.plugin.installer import expected_download_bytes, install_summary

    cpu = install_summary(TorchBuild("cpu", "https://download.pytorch.org/whl/cpu"))
    cuda = install_summary(TorchBuild("cuda", "https://download.pytorch.org/whl/cu124", (12, 4)))
    assert "CPU build" in cpu and "about 300 MB" in cpu and "about 200 MB" in cpu
    assert "CUDA 12.4" in cuda and "about 3 GB" in cuda
    assert "about 100 MB" in install_summary(TorchBuild("cpu"), with_torch=False)
    assert "Nothing is downloaded" in install_summary(OFFLINE)
    assert expected_download_bytes(TorchBuild("cuda")) > 5 * expected_download_bytes(TorchBuild("cpu")) > 0
    assert expected_download_bytes(OFFLINE) == 0


ONLINE_PIP_OUTPUT = """\
Looking in indexes: https://pypi.org/simple, https://download.pytorch.org/whl/cpu
Collecting torch==2.13.0+cpu
  Downloading https://download.pytorch.org/whl/cpu/torch-2.13.0%2Bcpu-cp311-cp311-linux_x86_64.whl (190.3 MB)
Progress 0 of 190300000
Progress 40000000 of 190300000
Progress 120000000 of 190300000
Progress 190300000 of 190300000
Collecting transformers<6,>=5.0
  Downloading transformers-5.1.0-py3-none-any.whl (11.2 MB)
Progress 11200000 of 11200000
Collecting sympy>=1.13.3
  Using cached sympy-1.14.0-py3-none-any.whl (6.3 MB)
Collecting filelock
  Downloading filelock-3.16.1-py3-none-any.whl (16 kB)
Installing collected packages: sympy, filelock, torch, transformers
Successfully installed filelock-3.16.1 sympy-1.14.0 torch-2.13.0+cpu transformers-5.1.0"""


def test_the_progress_rises_through_a_scripted_pip_run(qgis_app):
    from geoground.plugin.installer import PipProgress

    progress = PipProgress(requirements=2, expected_bytes=300e6)
    seen, phases, raw_lines = [], [], 0
    for line in ONLINE_PIP_OUTPUT.splitlines():
        raw_lines += progress.feed(line)
        seen.append(progress.percent)
        phases.append(progress.phase)
    assert raw_lines == 5
    assert seen == sorted(seen) and seen[-1] >= 95
    torch_download = seen[3:7]  # the Progress lines of torch's download
    assert torch_download == sorted(set(torch_download)) and torch_download[-1] - torch_download[0] > 30
    assert any(p.startswith("Downloading torch-2.13.0") and "190.3 MB" in p for p in phases)
    assert "Installing 4 packages" in phases
    assert max(seen[:-2]) <= PipProgress.DOWNLOAD_END


def test_the_progress_rises_with_an_older_pip_that_prints_no_progress_lines(qgis_app):
    from geoground.plugin.installer import PipProgress

    progress = PipProgress(requirements=3)
    lines = [line for line in ONLINE_PIP_OUTPUT.splitlines() if not line.startswith("Progress")]
    seen = []
    for line in lines:
        progress.feed(line)
        seen.append(progress.percent)
    assert seen == sorted(seen) and seen[-1] >= 95
    collecting = [p for line, p in zip(lines, seen) if line.startswith("Collecting")]
    assert collecting == sorted(set(collecting)) and collecting[0] > 0  # each package found moves it
