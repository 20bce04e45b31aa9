"""edgeexport: PyTorch vision models to the device, measured."""

__version__ = "0.1.0"
