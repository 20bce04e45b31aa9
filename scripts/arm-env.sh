#!/usr/bin/env bash
# Prepare an emulated aarch64 Python under .arm/ for `make arm-parity` (docs/arm.md).
#
#   .arm/qemu/qemu-aarch64        static qemu-user 10.x from bookworm-backports (bookworm's own 7.2 shows the
#                                 guest the host's x86 /proc/cpuinfo and onnxruntime crashes on import)
#   .arm/sysroot/                 arm64 python3.11-minimal + libpython3.11-stdlib + libstdc++6 and their
#                                 dependencies, unpacked with dpkg -x (nothing is installed on the host)
#   .arm/site/                    aarch64 wheels: numpy, onnxruntime, ai-edge-litert, ncnn, pillow (the host's
#                                 versions)
#   (no ExecuTorch: its Python runtime imports torch, and PyPI's aarch64 torch 2.13.0 is the CUDA build, which
#    cannot be installed or imported here: docs/executorch-ncnn.md)
#   .arm/site-tflite214/          tflite-runtime 2.14.0 with numpy<2 (what older boards ship)
#   .arm/ready                    written last: what the driver reads (paths and versions)
#
# Cached: every step leaves a stamp in .arm/stamps/ and a re-run with the stamps present does nothing.
# apt runs with a PRIVATE configuration (sources, lists, cache, status under .arm/apt/): the host's apt
# state is not touched. Nothing is installed system-wide and binfmt_misc is not used.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ARM="$ROOT/.arm"
PY="${PY:-$ROOT/.venv/bin/python}"
STAMPS="$ARM/stamps"
APTDIR="$ARM/apt"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
TFLITE_RUNTIME_VERSION=2.14.0
# The aarch64 wheels follow the host's versions so that ARM and x86 run the same runtime release.
PLATFORMS=(manylinux2014_aarch64 manylinux_2_17_aarch64 manylinux_2_24_aarch64 manylinux_2_27_aarch64
           manylinux_2_28_aarch64 manylinux_2_31_aarch64 manylinux_2_34_aarch64 manylinux_2_35_aarch64)

say() { echo "arm-env: $*"; }
die() { echo "arm-env: error: $*" >&2; exit 1; }
trap 'die "step failed at line $LINENO (see the output above); fix it and re-run: finished steps are cached"' ERR

[ "$(uname -m)" = x86_64 ] || die "this script prepares aarch64 emulation on an x86_64 host, not on $(uname -m)"
[ -x "$PY" ] || die "$PY not found: run \`make setup\` first"
command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || die "needs apt-get and dpkg-deb (Debian/Ubuntu)"
[ -r "$KEYRING" ] || die "$KEYRING missing: apt-get install debian-archive-keyring"

# (a ready file from before ncnn joined the wheels is not ready: the site step runs again)
if [ -f "$ARM/ready" ] && grep -q ncnn "$ARM/ready" && [ -z "${ARM_ENV_FORCE:-}" ]; then
    say "ready (cached: .arm/ready exists; rm -rf .arm to rebuild, ARM_ENV_FORCE=1 to re-run the smoke test)"
    exit 0
fi
mkdir -p "$STAMPS" "$APTDIR"

# apt-get/apt-cache with a private configuration for one architecture ($1) and sources list ($2).
apt_private() {
    local arch=$1 list=$2
    shift 2
    local state="$APTDIR/$arch"
    mkdir -p "$state/lists/partial" "$state/cache/archives/partial"
    mkdir -p "$APTDIR/empty.d"
    touch "$state/status"
    "$@" -o "Dir::Etc::sourcelist=$list" -o "Dir::Etc::sourceparts=$APTDIR/empty.d" \
        -o "Dir::Etc::preferencesparts=$APTDIR/empty.d" -o "Dir::Etc::preferences=$APTDIR/empty.d/none" \
        -o "Dir::State::Lists=$state/lists" -o "Dir::State::status=$state/status" \
        -o "Dir::Cache=$state/cache" -o "APT::Architecture=$arch" -o "APT::Architectures=$arch" \
        -o APT::Sandbox::User=root -o Debug::NoLocking=1 -o Acquire::Languages=none
}

# --- 1. qemu-aarch64 -------------------------------------------------------------------------------
if [ ! -f "$STAMPS/qemu" ]; then
    say "qemu: downloading qemu-user (10.x, static) from bookworm-backports with a private apt configuration"
    list="$APTDIR/backports-amd64.list"
    echo "deb [signed-by=$KEYRING] $MIRROR bookworm-backports main" >"$list"
    apt_private amd64 "$list" apt-get -qq update
    version=$(apt_private amd64 "$list" apt-cache policy qemu-user | awk '/Candidate:/ {print $2}')
    case "$version" in
        1:1[0-9].*) ;;
        *) die "qemu-user candidate in bookworm-backports is '${version:-none}', need >= 10 (7.2 cannot run onnxruntime)" ;;
    esac
    rm -rf "$ARM/qemu" "$ARM/tmp-qemu" && mkdir -p "$ARM/tmp-qemu" "$ARM/qemu"
    (cd "$ARM/tmp-qemu" && apt_private amd64 "$list" apt-get -qq download "qemu-user=$version")
    dpkg-deb -x "$ARM"/tmp-qemu/qemu-user_*.deb "$ARM/tmp-qemu/x"
    cp "$ARM/tmp-qemu/x/usr/bin/qemu-aarch64" "$ARM/qemu/qemu-aarch64"
    rm -rf "$ARM/tmp-qemu"
    "$ARM/qemu/qemu-aarch64" --version | head -1 | sed 's/^/arm-env: qemu: /'
    touch "$STAMPS/qemu"
else
    say "qemu: cached ($("$ARM/qemu/qemu-aarch64" --version | head -1))"
fi

# --- 2. arm64 sysroot -----------------------------------------------------------------------------
ROOTS=(python3.11-minimal libpython3.11-stdlib libstdc++6)
if [ ! -f "$STAMPS/sysroot" ]; then
    say "sysroot: resolving arm64 ${ROOTS[*]} and their dependencies (bookworm, private apt state)"
    list="$APTDIR/bookworm-arm64.list"
    {
        echo "deb [signed-by=$KEYRING] $MIRROR bookworm main"
        echo "deb [signed-by=$KEYRING] $MIRROR bookworm-updates main"
        echo "deb [signed-by=$KEYRING] $SECURITY bookworm-security main"
    } >"$list"
    apt_private arm64 "$list" apt-get -qq update
    # Real packages only (virtual ones print as <name>); Recommends/Suggests are not needed to run python.
    mapfile -t pkgs < <(apt_private arm64 "$list" apt-cache depends --recurse --no-recommends --no-suggests \
        --no-conflicts --no-breaks --no-replaces --no-enhances "${ROOTS[@]}" | grep -E '^[a-z0-9]' | sort -u)
    [ "${#pkgs[@]}" -ge 3 ] || die "dependency resolution of ${ROOTS[*]} gave ${#pkgs[@]} packages"
    say "sysroot: downloading ${#pkgs[@]} packages"
    rm -rf "$ARM/debs" "$ARM/sysroot" && mkdir -p "$ARM/debs" "$ARM/sysroot"
    (cd "$ARM/debs" && apt_private arm64 "$list" apt-get -qq download "${pkgs[@]}")
    for deb in "$ARM"/debs/*.deb; do dpkg -x "$deb" "$ARM/sysroot"; done
    [ -x "$ARM/sysroot/usr/bin/python3.11" ] || die "sysroot has no usr/bin/python3.11 after unpacking"
    rm -rf "$ARM/debs"
    say "sysroot: $(du -sh "$ARM/sysroot" | cut -f1) in .arm/sysroot"
    touch "$STAMPS/sysroot"
else
    say "sysroot: cached"
fi

QEMU=("$ARM/qemu/qemu-aarch64" -L "$ARM/sysroot" -cpu neoverse-n1)
GUEST_PY="$ARM/sysroot/usr/bin/python3.11"
guest_version=$("${QEMU[@]}" "$GUEST_PY" -c 'import platform, sys; print(platform.machine(), sys.version.split()[0])') \
    || die "the emulated python3.11 does not start under qemu-aarch64"
[[ "$guest_version" == aarch64\ 3.11.* ]] || die "emulated python reports '$guest_version', expected aarch64 3.11.x"

# --- 3. aarch64 wheels ----------------------------------------------------------------------------
pip_target() {  # pip_target DIR PACKAGE...
    local dir=$1
    shift
    local args=(--quiet --disable-pip-version-check install --only-binary=:all: --python-version 3.11
                --implementation cp --abi cp311 --target "$dir")
    for p in "${PLATFORMS[@]}"; do args+=(--platform "$p"); done
    mkdir -p "$ARM/logs"
    local log="$ARM/logs/pip-$(basename "$dir").log"
    # pip's resolver check compares with the HOST environment (irrelevant for a --target folder): to the log
    "$PY" -m pip "${args[@]}" "$@" >"$log" 2>&1 || { tail -5 "$log" >&2; die "pip install $* failed (log: $log)"; }
}
host_version() { "$PY" -c "from importlib.metadata import version; print(version('$1'))"; }

# the stamp names its contents: a site made before ncnn joined is rebuilt
if [ ! -f "$STAMPS/site-ncnn" ]; then
    ort=$(host_version onnxruntime) && litert=$(host_version ai-edge-litert) && np=$(host_version numpy) \
        && pil=$(host_version pillow) && ncnn=$(host_version ncnn) \
        || die "the host .venv lacks onnxruntime, ai-edge-litert, numpy, pillow or ncnn: run \`make setup\`"
    say "wheels: numpy==$np onnxruntime==$ort ai-edge-litert==$litert ncnn==$ncnn pillow==$pil (aarch64) -> .arm/site"
    rm -rf "$ARM/site"
    pip_target "$ARM/site" "numpy==$np" "onnxruntime==$ort" "ai-edge-litert==$litert" "ncnn==$ncnn" "pillow==$pil"
    touch "$STAMPS/site-ncnn"
else
    say "wheels: cached"
fi
if [ ! -f "$STAMPS/tflite" ]; then
    say "wheels: tflite-runtime==$TFLITE_RUNTIME_VERSION with numpy<2 (aarch64, cp311) -> .arm/site-tflite214"
    rm -rf "$ARM/site-tflite214"
    pip_target "$ARM/site-tflite214" "tflite-runtime==$TFLITE_RUNTIME_VERSION" "numpy<2"
    touch "$STAMPS/tflite"
else
    say "wheels: tflite-runtime cached"
fi

# --- 4. smoke test and the ready file -------------------------------------------------------------
say "smoke test: importing numpy, onnxruntime, ai_edge_litert and ncnn under emulation (~30 s)"
versions=$(PYTHONPATH="$ARM/site" PYTHONNOUSERSITE=1 "${QEMU[@]}" "$GUEST_PY" -c '
import numpy, onnxruntime, ai_edge_litert, ncnn, PIL
from importlib.metadata import version
litert, nc = version("ai-edge-litert"), version("ncnn")
print(f"numpy {numpy.__version__}; onnxruntime {onnxruntime.__version__}; ai-edge-litert {litert}; "
      f"ncnn {nc}; pillow {PIL.__version__}")
') || die "importing the runtimes under emulation failed (see above)"
say "smoke test: $versions"
tflite_versions=$(PYTHONPATH="$ARM/site-tflite214" PYTHONNOUSERSITE=1 "${QEMU[@]}" "$GUEST_PY" -c '
import numpy
from tflite_runtime import interpreter
from importlib.metadata import version
tfl = version("tflite-runtime")
print(f"numpy {numpy.__version__}; tflite-runtime {tfl}")
') || die "importing tflite_runtime under emulation failed (see above)"
say "smoke test: $tflite_versions"

"$PY" - "$ARM" "$guest_version" "$versions" "$tflite_versions" <<'EOF'
import json, subprocess, sys
from pathlib import Path
arm, guest, versions, tflite = Path(sys.argv[1]), *sys.argv[2:]
qemu = subprocess.run([str(arm / "qemu/qemu-aarch64"), "--version"], capture_output=True, text=True).stdout
ready = {
    "qemu": str(arm / "qemu/qemu-aarch64"),
    "qemu_version": qemu.splitlines()[0],
    "sysroot": str(arm / "sysroot"),
    "python": str(arm / "sysroot/usr/bin/python3.11"),
    "python_version": guest.split()[1],
    "site": str(arm / "site"),
    "site_versions": versions,
    "site_tflite": str(arm / "site-tflite214"),
    "site_tflite_versions": tflite,
}
(arm / "ready").write_text(json.dumps(ready, indent=2) + "\n")
EOF
say "ready: $(du -sh "$ARM" | cut -f1) under .arm/; next: make arm-parity"
