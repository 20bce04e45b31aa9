"""Quantizer plumbing shared by the stages, the doctor and the benchmarks: ``ort`` (ONNX Runtime's tools as
edgeexport calls them), ``search`` (accuracy-aware int8), ``onnx_doctor`` and ``tflite_losses`` (per-layer
loss). Never imports the exporter (export/) or the CLI."""
