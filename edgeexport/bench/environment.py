"""What the numbers were measured on: CPU, ISA features, governor, OS, Python and package versions.

Package versions come from installed metadata, so nothing heavy (torch!) is imported to learn them.
``EDGEEXPORT_EMULATED_CPU=<name>`` marks a run under emulation (QEMU): its timings are not latencies.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from edgeexport.bench import EMULATED_ENV

X86_FEATURES = {
    "avx2": "avx2",
    "fma": "fma",
    "avx512f": "avx512f",
    "avx512_vnni": "avx512_vnni",
    "avx_vnni": "avx_vnni",
    "avx512_bf16": "avx512_bf16",
    "amx_tile": "amx_tile",
    "amx_int8": "amx_int8",
    "amx_bf16": "amx_bf16",
}
ARM_FEATURES = {  # friendly name -> /proc/cpuinfo "Features" token
    "neon": "asimd",
    "fp16": "asimdhp",
    "dotprod": "asimddp",
    "i8mm": "i8mm",
    "bf16": "bf16",
    "sve": "sve",
    "sve2": "sve2",
    "sme": "sme",
}
ARM_PARTS = {  # (implementer, part) from /proc/cpuinfo -> core name
    ("0x41", "0xd03"): "Cortex-A53",
    ("0x41", "0xd04"): "Cortex-A35",
    ("0x41", "0xd05"): "Cortex-A55",
    ("0x41", "0xd07"): "Cortex-A57",
    ("0x41", "0xd08"): "Cortex-A72",
    ("0x41", "0xd09"): "Cortex-A73",
    ("0x41", "0xd0a"): "Cortex-A75",
    ("0x41", "0xd0b"): "Cortex-A76",
    ("0x41", "0xd0c"): "Neoverse-N1",
    ("0x41", "0xd0d"): "Cortex-A77",
    ("0x41", "0xd40"): "Neoverse-V1",
    ("0x41", "0xd41"): "Cortex-A78",
    ("0x41", "0xd44"): "Cortex-X1",
    ("0x41", "0xd46"): "Cortex-A510",
    ("0x41", "0xd47"): "Cortex-A710",
    ("0x41", "0xd49"): "Neoverse-N2",
    ("0x41", "0xd4f"): "Neoverse-V2",
}
PACKAGES = (
    "numpy",
    "onnxruntime",
    "ai-edge-litert",
    "tflite-runtime",
    "coremltools",
    "executorch",
    "ncnn",
    "torch",
    "psutil",
    "rich",
)


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text(errors="replace").strip("\x00\n ")
    except OSError:
        return None


def _cpuinfo() -> dict[str, str]:
    """First processor block's fields (later blocks repeat them on homogeneous CPUs)."""
    fields: dict[str, str] = {}
    for line in (_read("/proc/cpuinfo") or "").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() not in fields:
            fields[key.strip()] = value.strip()
    return fields


def _sysctl(name: str) -> str | None:
    try:
        out = subprocess.run(["sysctl", "-n", name], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def cpu() -> dict[str, Any]:
    info = _cpuinfo()
    arch = platform.machine()
    tokens = set((info.get("flags") or info.get("Features") or "").split())
    if arch.lower() in ("x86_64", "amd64", "i386", "i686"):
        features = {name: token in tokens for name, token in X86_FEATURES.items()} if tokens else {}
    else:
        features = {name: token in tokens for name, token in ARM_FEATURES.items()} if tokens else {}
    model = info.get("model name") or info.get("Model") or info.get("Hardware")
    part = ARM_PARTS.get((info.get("CPU implementer", ""), info.get("CPU part", "")))
    if part and not model:
        model = part
    if sys.platform == "darwin":
        model = model or _sysctl("machdep.cpu.brand_string")
        if arch == "arm64" and not features:
            features = {
                "neon": True,
                "dotprod": _sysctl("hw.optional.arm.FEAT_DotProd") == "1",
                "i8mm": _sysctl("hw.optional.arm.FEAT_I8MM") == "1",
                "bf16": _sysctl("hw.optional.arm.FEAT_BF16") == "1",
                "sme": _sysctl("hw.optional.arm.FEAT_SME") == "1",
            }
    usable: int | None
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "model": model or platform.processor() or None,
        "core": part,
        "board": _read("/proc/device-tree/model"),  # Raspberry Pi and other device-tree boards
        "architecture": arch,
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        "features": features,
        "features_source": "/proc/cpuinfo" if tokens else ("sysctl" if features else None),
        "governor": _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
        "max_khz": _read("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq"),
        "cur_khz": _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq"),
        "thermal_c": thermal(),
    }


def thermal() -> dict[str, float]:
    """Each thermal zone's temperature in degrees C where Linux shows them (boards do; VMs mostly not)."""
    found: dict[str, float] = {}
    for zone in sorted(Path("/sys/class/thermal").glob("thermal_zone*")):
        temp = _read(str(zone / "temp"))
        if temp and temp.lstrip("-").isdigit():
            found[f"{zone.name}:{_read(str(zone / 'type')) or '?'}"] = int(temp) / 1000
    return found


def versions() -> dict[str, str | None]:
    from importlib import metadata

    found: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def collect(threads: int) -> dict[str, Any]:
    emulated_cpu = os.environ.get(EMULATED_ENV) or None
    return {
        "cpu": cpu(),
        "os": {
            "system": platform.system(),
            "release": platform.release(),
            "platform": platform.platform(),
            "android": "ANDROID_ROOT" in os.environ,
        },
        "python": {"version": platform.python_version(), "implementation": platform.python_implementation()},
        "packages": versions(),
        "threads": threads,
        "emulated": emulated_cpu is not None,
        "emulated_cpu": emulated_cpu,
    }
