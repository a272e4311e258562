#!/usr/bin/env bash
# GeoGround build script. Every subcommand is idempotent and safe to run twice.
#   ./build.sh setup   system QGIS packages (Debian, as root) + .venv with pinned Python dependencies
#   ./build.sh demo    set up, then run the demo: an instruction on a raster -> GeoPackage + preview PNG
#   ./build.sh test    set up, then run the whole test suite with real QGIS offscreen
#   ./build.sh zip     the installable plugin archive in build/ (translations compiled first)
#   ./build.sh lint    ruff, flake8 and bandit
#   ./build.sh i18n    compile i18n/*.ts into .qm files
#   ./build.sh wheels  a folder of the engine's wheels for the plugin's offline installer (CPU torch, QGIS's numpy);
#                      in $GEOGROUND_WHEELS or ~/.cache/geoground/wheels-pyXY, reused while the requirements match
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
SYSTEM_PYTHON=/usr/bin/python3
PACKAGE=geoground
DEBIAN_PACKAGES=(python3-qgis qgis-providers qgis-common qgis python3-venv xvfb qttools5-dev-tools default-jre-headless)

log() { printf '\033[1m[build]\033[0m %s\n' "$*"; }
die() { printf 'build.sh: error: %s\n' "$*" >&2; exit 2; }

system_qgis_ok() { [ -x "$SYSTEM_PYTHON" ] && "$SYSTEM_PYTHON" -c "import qgis.core" >/dev/null 2>&1; }

install_system_packages() {
  if system_qgis_ok && "$SYSTEM_PYTHON" -c "import venv, ensurepip" >/dev/null 2>&1 \
      && command -v xvfb-run >/dev/null && command -v lrelease >/dev/null && command -v java >/dev/null \
      && command -v qgis_process >/dev/null; then
    return
  fi
  if [ "$(id -u)" != 0 ]; then
    die "QGIS's Python bindings are missing. As root run: apt-get install -y ${DEBIAN_PACKAGES[*]}"
  fi
  command -v apt-get >/dev/null || die "no apt-get: install QGIS (3.22 or newer) with its Python bindings by hand"
  log "installing QGIS and helpers from Debian packages (a few minutes, once)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${DEBIAN_PACKAGES[@]}" >/dev/null
  system_qgis_ok || die "QGIS was installed but 'import qgis.core' still fails with $SYSTEM_PYTHON"
}

pip_install() {
  # Every pip call goes through the constraints file, so pip can never resolve a CUDA torch by accident.
  local extra=()
  [ -d /opt/wheels ] && extra+=(--find-links /opt/wheels)
  "$PY" -m pip install -q --disable-pip-version-check "${extra[@]}" -c requirements/constraints.txt "$@"
}

setup() {
  install_system_packages
  if [ ! -x "$PY" ] || ! "$PY" -c "import qgis.core" >/dev/null 2>&1; then
    log "creating $VENV from $SYSTEM_PYTHON with QGIS's site packages visible"
    rm -rf "$VENV"
    "$SYSTEM_PYTHON" -m venv --system-site-packages "$VENV"
  fi
  local stamp="$VENV/.requirements.sha256"
  local want
  want="$(cat requirements/*.txt | sha256sum | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    log "installing pinned Python dependencies into .venv"
    pip_install -r requirements/dev.txt
    pip_install --no-deps -r requirements/nodeps.txt
    echo "$want" >"$stamp"
  fi
}

compile_translations() {
  shopt -s nullglob
  local ts_files=(i18n/*.ts)
  [ ${#ts_files[@]} -eq 0 ] && return
  command -v lrelease >/dev/null || die "lrelease not found (Debian package qttools5-dev-tools)"
  for ts in "${ts_files[@]}"; do
    lrelease -silent "$ts" -qm "${ts%.ts}.qm"
  done
}

run_tests() {
  setup
  compile_translations
  export QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1
  local rc=0
  "$PY" -m pytest "$@" || rc=$?
  if [ "$rc" -eq 5 ]; then
    die "pytest collected no tests: that is a failure, not a pass"
  fi
  return "$rc"
}

run_demo() {
  setup
  export QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1
  "$PY" -m engine demo --out-dir "$ROOT/build/demo" "$@"
}

make_zip() {
  compile_translations
  mkdir -p build
  local python=python3
  [ -x "$PY" ] && python="$PY"
  "$python" - "$ROOT" "$PACKAGE" "$ROOT/build/$PACKAGE.zip" <<'PYZIP'
"""Pack the plugin: tracked files of the runtime folders plus compiled translations; nothing for developers."""
import subprocess
import sys
import zipfile
from pathlib import Path

root, package, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
RUNTIME = ("__init__.py", "metadata.txt", "LICENSE", "README.md", "plugin/", "engine/", "resources/", "i18n/")
SKIP_PARTS = {"__pycache__", "tests", ".git"}
listed = subprocess.run(
    ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
    cwd=root, check=True, capture_output=True, text=True,
).stdout.split()
files = {f for f in listed if f.startswith(RUNTIME) and (root / f).is_file()}
files |= {str(p.relative_to(root)) for p in (root / "i18n").glob("*.qm")}
files = sorted(f for f in files if not SKIP_PARTS & set(Path(f).parts) and not f.endswith((".pyc", ".ts")))
tmp = out.with_suffix(".tmp")
with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
    for f in files:
        zf.write(root / f, f"{package}/{f}")
tmp.replace(out)
size = out.stat().st_size
print(f"{out} ({len(files)} files, {size / 1e6:.1f} MB)")
if size >= 25_000_000:
    sys.exit(f"plugin archive is {size / 1e6:.1f} MB; the QGIS plugin repository accepts less than 25 MB")
PYZIP
}

wheels_dir() {
  local tag
  tag="$("$SYSTEM_PYTHON" -c 'import sys; print(f"py{sys.version_info[0]}{sys.version_info[1]}")')"
  printf '%s\n' "${GEOGROUND_WHEELS:-$HOME/.cache/geoground/wheels-$tag}"
}

download_wheels() {
  # What "Install engine dependencies... > from a folder of wheels" needs: requirements/engine.txt resolved for QGIS's
  # Python (the .venv is made from it), torch held at the CPU wheel, numpy at the version QGIS's Python ships (the
  # installer pins it). Outside the clone by default, so fresh clones reuse it; rebuilt only when the inputs change.
  setup
  local dir numpy_pin want stamp
  dir="$(wheels_dir)"
  numpy_pin="numpy==$("$SYSTEM_PYTHON" -c 'import numpy; print(numpy.__version__)')"
  want="$({ cat requirements/engine.txt requirements/constraints.txt; echo "$numpy_pin"; } | sha256sum | cut -d' ' -f1)"
  stamp="$dir/.requirements.sha256"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    log "reusing the engine wheels in $dir"
    printf '%s\n' "$dir"
    return
  fi
  log "downloading the engine wheels into $dir ($numpy_pin, CPU torch)"
  local partial="$dir.partial"
  rm -rf "$partial"
  mkdir -p "$partial"
  printf '%s\n' "$numpy_pin" >"$partial/.numpy-constraint.txt"
  local extra=()
  [ -d /opt/wheels ] && extra+=(--find-links /opt/wheels)
  # (pip's notes about index folders of this machine's pip configuration that do not exist are left out)
  "$PY" -m pip download -q --disable-pip-version-check "${extra[@]}" --prefer-binary \
    -r requirements/engine.txt -c requirements/constraints.txt -c "$partial/.numpy-constraint.txt" -d "$partial" \
    2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
  # Never a CUDA build: the torch wheel must be the CPU one and nothing from NVIDIA may have come with it.
  shopt -s nullglob
  local torch_wheels=("$partial"/torch-*.whl) nvidia=("$partial"/nvidia_* "$partial"/nvidia-* "$partial"/triton-*)
  [ ${#torch_wheels[@]} -eq 1 ] || die "expected one torch wheel in $partial, found ${#torch_wheels[@]}"
  case "$(basename "${torch_wheels[0]}")" in *+cpu*) ;; *) die "pip chose a non-CPU torch: ${torch_wheels[0]}" ;; esac
  [ ${#nvidia[@]} -eq 0 ] || die "CUDA packages were downloaded: ${nvidia[*]}"
  local numpy_wheels=("$partial"/numpy-"${numpy_pin#numpy==}"-*.whl)
  [ ${#numpy_wheels[@]} -eq 1 ] || die "no $numpy_pin wheel in $partial"
  echo "$want" >"$partial/.requirements.sha256"
  rm -rf "$dir"
  mv "$partial" "$dir"
  printf '%s\n' "$dir"
}

lint() {
  setup
  "$VENV/bin/ruff" check .
  "$VENV/bin/ruff" format --check .
  "$VENV/bin/flake8" --select=E9,F63,F7,F82 --exclude=.venv,build .
  "$VENV/bin/python" tools/check_qt6.py
  "$VENV/bin/bandit" -q -r . -x ./.venv,./tests,./build -ll
}

cmd="${1:-help}"
[ $# -gt 0 ] && shift
case "$cmd" in
  setup) setup ;;
  demo) run_demo "$@" ;;
  test) run_tests "$@" ;;
  zip) make_zip ;;
  lint) lint ;;
  i18n) compile_translations ;;
  wheels) download_wheels ;;
  help | -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) die "unknown command '$cmd' (try ./build.sh help)" ;;
esac
