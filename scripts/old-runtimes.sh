#!/usr/bin/env bash
# The oldest runtimes artifacts must load in (edgeexport.spec.RuntimeTarget's defaults), in their own venv
# under .oldrt/ for tests/test_old_runtimes.py (make test builds it first; docs/runtimes.md):
#   onnxruntime==<target>.* and tflite-runtime==<target>.* with numpy<2 (what they were built against).
# Cached: re-run only when the target versions change (rm -rf .oldrt to rebuild).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OLD="$ROOT/.oldrt"
PY="${PY:-$ROOT/.venv/bin/python}"
BASE="${PYTHON:-python3}"
[ -x "$PY" ] || { echo "old-runtimes: $PY not found: run \`make setup\` first" >&2; exit 1; }
read -r ORT TFL < <("$PY" -c 'from edgeexport.spec import RuntimeTarget as T; t = T(); print(t.onnxruntime, t.tflite)')
want="onnxruntime==$ORT.* tflite-runtime==$TFL.*"
if [ -f "$OLD/ready" ] && grep -qF "\"wanted\": \"$want\"" "$OLD/ready"; then
    echo "old-runtimes: ready (cached: $want)"
    exit 0
fi
echo "old-runtimes: $want with numpy<2 -> .oldrt/venv"
rm -rf "$OLD" && mkdir -p "$OLD"
"$BASE" -m venv "$OLD/venv"
"$OLD/venv/bin/python" -m pip install -q --disable-pip-version-check "numpy<2" "onnxruntime==$ORT.*" "tflite-runtime==$TFL.*"
"$OLD/venv/bin/python" - "$OLD" "$want" <<'PY'
import json, sys
from importlib.metadata import version
old, wanted = sys.argv[1], sys.argv[2]
import numpy, onnxruntime
from tflite_runtime import interpreter  # noqa: F401  (imports, or the venv is not ready)
ready = {"python": f"{old}/venv/bin/python", "wanted": wanted, "numpy": numpy.__version__,
         "onnxruntime": onnxruntime.__version__, "tflite-runtime": version("tflite-runtime")}
open(f"{old}/ready", "w").write(json.dumps(ready, indent=1) + "\n")
print(f"old-runtimes: ready: onnxruntime {ready['onnxruntime']}, tflite-runtime {ready['tflite-runtime']}, "
      f"numpy {ready['numpy']}")
PY
