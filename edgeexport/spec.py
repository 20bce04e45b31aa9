"""Frozen, validated specs: a model card (TOML, see cards.py) is parsed into a ``ModelCard``; the export
options (formats, precisions and the int8 settings, with their vocabulary) are an ``ExportOptions``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from edgeexport.defaults import artifacts_root, default_threads
from edgeexport.errors import CardError, UnknownNameError, UsageError
from edgeexport.registry import suggest

Task = Literal["classification", "features"]
WeightsSource = Literal["seeded", "file", "package"]


def _fail(where: str, message: str) -> CardError:
    return CardError(f"{where}: {message}")


@dataclass(frozen=True)
class ArchitectureSpec:
    """A registered zoo architecture (``mobilenet_v3``) or a user's ``package.module:callable``."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def is_user_callable(self) -> bool:
        return ":" in self.name


@dataclass(frozen=True)
class InputSpec:
    shape: tuple[int, ...]
    dtype: Literal["float32"] = "float32"
    layout: Literal["NCHW"] = "NCHW"
    name: str = "input"

    def __post_init__(self) -> None:
        if len(self.shape) != 4 or any(d <= 0 for d in self.shape):
            raise CardError(f"input.shape must be 4 positive ints (N, C, H, W), got {list(self.shape)}")

    @property
    def channels(self) -> int:
        return self.shape[1]

    @property
    def hw(self) -> tuple[int, int]:
        return self.shape[2], self.shape[3]


@dataclass(frozen=True)
class Preprocess:
    """How a real image becomes the model's input tensor (applied in this order).

    resize: the shorter side is resized to this (bilinear, antialiased); crop: centre crop to the input's
    H x W; then pixel/255, then (x - mean) / std per channel.
    """

    resize: int | None = None
    mean: tuple[float, ...] = (0.0,)
    std: tuple[float, ...] = (1.0,)
    channel_order: Literal["RGB", "BGR", "GRAY"] = "RGB"

    def __post_init__(self) -> None:
        if len(self.mean) != len(self.std):
            raise CardError("preprocess.mean and preprocess.std must have the same length")
        if any(s <= 0 for s in self.std):
            raise CardError("preprocess.std values must be > 0")
        if self.resize is not None and self.resize < 1:
            raise CardError(
                f"preprocess.resize must be a positive size in pixels (or left out), got {self.resize}"
            )


@dataclass(frozen=True)
class WeightsSpec:
    """Where the weights come from.

    seeded: ``torch.manual_seed(seed)`` + the family's init, then BatchNorm statistics calibrated on the
    ``bn_calibration`` data set (real images) so activations are realistic; file: a local file (path relative
    to the repository root) with its sha256; package: a file inside an installed distribution.
    """

    source: WeightsSource = "seeded"
    seed: int = 0
    bn_calibration: str | None = "real_photos"
    path: str | None = None
    package: str | None = None
    sha256: str | None = None

    def __post_init__(self) -> None:
        if self.source in ("file", "package"):
            if not self.path or not self.sha256:
                raise CardError(f"weights.source = {self.source!r} needs weights.path and weights.sha256")
            if not re.fullmatch(r"[0-9a-fA-F]{64}", self.sha256):
                raise CardError("weights.sha256 must be 64 hex digits (sha256sum of the file)")
        if self.source == "package" and not self.package:
            raise CardError("weights.source = 'package' needs weights.package (the distribution name)")


@dataclass(frozen=True)
class DataSpec:
    calibration: str = "real_photos"
    evaluation: str | None = None
    labels: str | None = None  # class-name list: "imagenet" or a data set's own


@dataclass(frozen=True)
class Tolerance:
    """Parity tolerances against the PyTorch reference, per precision class of artifact."""

    fp32_max_abs: float = 1e-4
    fp32_cosine: float = 0.99999
    fp16_cosine: float = 0.9999
    int8_cosine: float = 0.95  # on the MEAN per-sample cosine; the worst sample is reported, not judged
    # 0 = reported, not judged: on seeded random weights the top-1/top-2 logit gap (median 0.29 logit std
    # on the held-out photos) is below the int8 error (median 0.31 std), so top-1 agreement measures luck
    int8_top1: float = 0.80
    # Weight-only and dynamic-range artifacts (onnx_dynamic_w8, tflite_dynrange_w8, coreml_fp16_w8), on the
    # MEAN cosine. Measured (docs/int8.md): ORT (MatMul/Gemm only) 0.9999+ on four cards; LiteRT dynamic range
    # 0.9998 (mobilenetv3_small_fmnist), 0.995 and 0.989 (seeded mobilenetv3_small, shufflenet_v2_x1_0),
    # 0.994 (mobilenet_v2, real weights); full int8 of the same cards 0.97-0.98
    w8_cosine: float = 0.98
    # On labelled evaluation data: the most top-1 accuracy (in percentage points) an artifact may lose
    # against PyTorch fp32. None: reported, not judged.
    accuracy_drop: float | None = None

    def __post_init__(self) -> None:
        for name in ("fp32_cosine", "fp16_cosine", "int8_cosine", "w8_cosine"):
            if not 0 < getattr(self, name) <= 1:
                raise CardError(f"tolerance.{name} must be in (0, 1], got {getattr(self, name)}")
        if not 0 <= self.int8_top1 <= 1:
            raise CardError(
                f"tolerance.int8_top1 must be in [0, 1] (0: reported, not judged), got {self.int8_top1}"
            )
        if self.fp32_max_abs <= 0:
            raise CardError(f"tolerance.fp32_max_abs must be > 0, got {self.fp32_max_abs}")
        if self.accuracy_drop is not None and self.accuracy_drop < 0:
            raise CardError(f"tolerance.accuracy_drop must be >= 0 points, got {self.accuracy_drop}")


def version_tuple(text: str, what: str) -> tuple[int, ...]:
    parts = text.split(".")
    if not 2 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        raise CardError(f"{what}: {text!r} is not a version like 1.15 or 2.14.0")
    return tuple(int(p) for p in parts)


@dataclass(frozen=True)
class RuntimeTarget:
    """The oldest runtime releases every artifact must load in (docs/runtimes.md): export writes what they
    read (ONNX IR version and opsets; TFLite operator versions) and CI loads the artifacts in them.

    onnxruntime 1.15 (June 2023): the oldest release with Python 3.11 wheels, so the oldest CI can load
    here, and what NVIDIA's JetPack 5 wheels (1.15-1.17) give Jetson boards. tflite 2.14 (October 2023):
    the last tflite-runtime release, still what boards without ai-edge-litert run (Coral, older images)."""

    onnxruntime: str = "1.15"
    tflite: str = "2.14"

    def __post_init__(self) -> None:
        if version_tuple(self.onnxruntime, "target.onnxruntime")[:2] < (1, 14):
            raise CardError(
                "target.onnxruntime must be >= 1.14: the exporter writes opset 18, which 1.14 added"
            )
        if version_tuple(self.tflite, "target.tflite")[:2] < (2, 14):
            raise CardError("target.tflite must be >= 2.14: older tflite-runtime releases are not checked")


@dataclass(frozen=True)
class Expect:
    """Published figures the zoo is checked against (tests/test_zoo.py)."""

    params: int | None = None
    params_rtol: float = 0.0
    macs: float | None = None
    macs_rtol: float = 0.03
    output_shapes: tuple[tuple[int, ...], ...] | None = None
    source: str = ""


CARD_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # also a folder name under artifacts/: no '/' or '..'


@dataclass(frozen=True)
class ModelCard:
    name: str
    description: str
    task: Task
    architecture: ArchitectureSpec
    input: InputSpec
    preprocess: Preprocess
    weights: WeightsSpec
    data: DataSpec
    tolerance: Tolerance
    expect: Expect
    path: str = ""
    target: RuntimeTarget = field(default_factory=RuntimeTarget)

    def __post_init__(self) -> None:
        if not CARD_NAME.fullmatch(self.name) or ".." in self.name or self.name.endswith("."):
            raise _fail(
                repr(self.name),
                "a card name is letters, digits, '_', '-' and single '.', from a letter or digit to one",
            )
        if self.preprocess.channel_order == "GRAY" and self.input.channels != 1:
            raise _fail(self.name, "preprocess.channel_order 'GRAY' needs input.shape[1] == 1")
        if self.preprocess.channel_order != "GRAY" and self.input.channels != 3:
            raise _fail(self.name, "RGB/BGR input needs input.shape[1] == 3")
        if len(self.preprocess.mean) not in (1, self.input.channels):
            raise _fail(self.name, "preprocess.mean needs 1 value or one per input channel")


# Export vocabulary. Formats name the artifact file kind each stage writes.
FORMATS = {
    "onnx": "onnx", "tflite": "tflite", "coreml": "mlpackage", "pt2": "pt2",
    "executorch": "pte", "ncnn": "ncnn",
}  # fmt: skip
PRECISIONS = ("fp32", "fp16", "int8")
# Static int8 calibration methods: name -> (ORT CalibrationMethod, ORT extra_options). Measured in
# docs/int8.md. No Entropy: quantize_static does not pass a bin count to ORT's entropy calibrator, whose
# defaults (128 histogram bins, 128 quantized bins) leave one candidate threshold, the full range: it gave
# scales bit-identical to MinMax, with or without CalibNumBins (measured; ORT 1.31).
METHODS: dict[str, tuple[str, dict[str, Any]]] = {
    "MinMax": ("MinMax", {}),  # the extremes over all calibration images
    # the mean over images of each image's extremes (ORT's CalibMovingAverage, one collection round)
    "MeanMinMax": ("MinMax", {"CalibMovingAverage": True}),
    "Percentile": ("Percentile", {}),  # ORT's default percentile, 99.999
    "Percentile99.99": ("Percentile", {"CalibPercentile": 99.99}),
}
# ORT static int8 activation + weight types; docs/int8.md says why u8u8 is the default.
TYPES = {"u8u8": ("QUInt8", "QUInt8"), "u8s8": ("QUInt8", "QInt8"), "s8s8": ("QInt8", "QInt8")}


@dataclass(frozen=True)
class ExportOptions:
    """What ``export`` makes and how. ``calibration_count`` None means every calibration image; the
    pipeline resolves it to the number actually used before any stage reads it."""

    formats: tuple[str, ...] = tuple(FORMATS)
    precisions: tuple[str, ...] = PRECISIONS
    calibration_method: str = "MinMax"
    calibration_count: int | None = None
    dynamic_ops: tuple[str, ...] = ("MatMul", "Gemm")
    nodes_to_exclude: tuple[str, ...] = ()
    int8_types: str = "u8u8"
    reduce_range: bool = False
    nhwc: bool = False
    int8_io: bool = False
    nncf: bool = False  # --nncf: also onnx_int8_nncf (export/stages/onnx_nncf.py)
    rewrites: tuple[str, ...] | None = None  # --rewrites; None: every known rewrite (export/rewrites.py)
    target: RuntimeTarget | None = None  # --target; None: the card's [target]
    threads: int = field(default_factory=default_threads)
    root: Path = field(default_factory=artifacts_root)  # ./artifacts unless EDGEEXPORT_ARTIFACTS says

    def __post_init__(self) -> None:
        for f in self.formats:
            if f not in FORMATS:
                raise UnknownNameError(f"unknown format {f!r}{suggest(f, list(FORMATS))}")
        for p in self.precisions:
            if p not in PRECISIONS:
                raise UnknownNameError(f"unknown precision {p!r}{suggest(p, list(PRECISIONS))}")
        if self.int8_types not in TYPES:
            raise UnknownNameError(f"unknown int8 types {self.int8_types!r}; use {', '.join(TYPES)}")
        if self.calibration_method not in METHODS:
            raise UnknownNameError(
                f"unknown calibration method {self.calibration_method!r}; use {', '.join(METHODS)}"
            )
        if not self.formats:
            raise UsageError(f"no format given: choose from {', '.join(FORMATS)}")
        if not self.precisions:
            raise UsageError(f"no precision given: choose from {', '.join(PRECISIONS)}")
        if self.calibration_count is not None and self.calibration_count < 1:
            raise UsageError(f"calibration count must be >= 1, got {self.calibration_count}")
        if self.threads < 1:
            raise UsageError(f"threads must be >= 1, got {self.threads}")
