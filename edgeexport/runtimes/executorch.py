"""ExecuTorch: runs a ``.pte`` program (XNNPACK delegate, portable kernels) through ``executorch.runtime``.

With the ``torch`` runtime, one of the two device-side adapters that need torch: ExecuTorch's Python
runtime (``portable_lib``) imports torch and links libtorch, and takes and returns torch tensors. The
torch-free ``executorch-numpy-runtime`` needs Python >= 3.12 (this project supports 3.11). It never needs
the zoo, the cards or the data.

Threads: the XNNPACK delegate runs on ExecuTorch's one process-wide threadpool, sized here
(``_unsafe_reset_threadpool``, the pybindings' only handle on it) and read back for the record. A program
whose operators this runtime lacks fails at load ("OperatorMissing"): that error is raised here, with the
file's name and the missing operator's (from ExecuTorch's log, which is otherwise kept off the terminal),
so export's parity gate fails the artifact instead of shipping it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

# What a board installs to run .pte files from Python (found in a clean venv): the torch ExecuTorch 1.4.1 was
# built against, what its runtime imports, then ExecuTorch without its list (which pulls test-only packages)
BOARD_NEEDS = "torch==2.13.0 ruamel.yaml flatbuffers tabulate"
PIN = "executorch==1.4.1"


def install_command(pip: str = "pip") -> str:
    return f"{pip} install {BOARD_NEEDS} && {pip} install --no-deps {PIN}"


# ExecuTorch's ScalarType codes (runtime/core/portable_type/scalar_type.h) for what a vision model takes
SCALAR_TYPES = {0: "uint8", 1: "int8", 2: "int16", 3: "int32", 4: "int64", 5: "float16", 6: "float32",
                7: "float64", 11: "bool"}  # fmt: skip


# ExecuTorch's runtime error codes (runtime/core/error.h) that loading a program can end with
ERRORS = {
    0x10: "NotImplemented", 0x11: "NotSupported", 0x12: "InvalidArgument", 0x13: "InvalidType",
    0x14: "OperatorMissing: the program calls an operator this runtime has no kernel for",
    0x20: "NotFound", 0x21: "MemoryAllocationFailed", 0x22: "AccessFailed", 0x23: "InvalidProgram",
    0x30: "DelegateInvalidCompatibility: a delegate (XNNPACK) this runtime lacks, or of another version",
}  # fmt: skip


def explain(error: Exception) -> str:
    """ExecuTorch's message with its error code named ("error: 0x:14" -> OperatorMissing ...)."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    found = re.search(r"error: 0x:?([0-9a-fA-F]+)", text)
    name = ERRORS.get(int(found.group(1), 16)) if found else None
    return f"{text} ({name})" if name else text


class ProgramLoadError(Exception):
    """A .pte file this runtime cannot load (not a program, or operators/backends it lacks)."""


@contextlib.contextmanager
def quiet_import() -> Iterator[None]:
    """Importing ExecuTorch warns "experimental API", and torchao (imported by it) logs that its CUDA
    kernels do not load on a CPU-only machine: noise on every bench run, silenced for the import only."""
    noisy = [logging.getLogger(n) for n in ("torchao", "torch.utils._pytree")]
    levels = [log.level for log in noisy]
    for log in noisy:
        log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for log, level in zip(noisy, levels, strict=True):
            log.setLevel(level)


def unavailable() -> str | None:
    try:
        with quiet_import():
            import executorch.runtime  # noqa: F401
    except ImportError as error:
        return f"executorch is not installed ({error}); {install_command()}"
    return None


def version() -> str:
    from importlib.metadata import version as dist_version

    return dist_version("executorch")


def _runtime() -> tuple[Any, Any, Any]:
    """(the Runtime, its Verification levels, the pybindings module that holds the threadpool)."""
    with quiet_import():
        from executorch.extension.pybindings import portable_lib
        from executorch.runtime import Runtime, Verification

    return Runtime.get(), Verification, portable_lib


def check_header(path: str) -> None:
    """A .pte starts with a flatbuffer whose identifier is "ET" and two digits (bytes 4-8). ExecuTorch 1.4
    aborts the whole process on some files that are not programs (its error log holds the file's bytes and
    is decoded as UTF-8), so anything else is refused before ExecuTorch sees it."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as error:
        raise ProgramLoadError(f"{path}: cannot read it ({error.strerror})") from None
    if len(head) < 8 or head[4:6] != b"ET" or not head[6:8].isdigit():
        raise ProgramLoadError(f"{path}: not an ExecuTorch program (no ET.. identifier in its header)")


class ExecuTorchSession:
    def __init__(self, path: str, threads: int) -> None:
        import torch

        check_header(path)
        self._path = path
        runtime, verification, portable_lib = _runtime()
        # ExecuTorch logs through Python's sys.stderr (CPU probing on every load): kept, not printed, and
        # what it says about a failure (the missing operator's name) goes into the error
        log = io.StringIO()
        try:
            with contextlib.redirect_stderr(log):
                portable_lib._unsafe_reset_threadpool(threads)
                self.threads = int(portable_lib._threadpool_get_thread_count())
                program = runtime.load_program(path, verification=verification.InternalConsistency)
                self._method = program.load_method("forward")
        except (RuntimeError, ValueError) as error:
            lines = log.getvalue().splitlines()
            said = [line.split("] ", 1)[-1] for line in lines if "Missing operator" in line]
            detail = f" [{'; '.join(said)}]" if said else ""
            raise ProgramLoadError(f"{path}: ExecuTorch cannot load it: {explain(error)}{detail}") from None
        self._program = program  # the method needs its program alive
        self._torch = torch
        meta = self._method.metadata
        self._inputs = [meta.input_tensor_meta(i) for i in range(meta.num_inputs())]
        self.input_names = [f"input_{i}" for i in range(len(self._inputs))]

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        tensors = [self._torch.from_numpy(np.ascontiguousarray(x)) for x in inputs]
        outputs = self._method.execute(tensors)
        return [o.detach().numpy().copy() if hasattr(o, "detach") else np.asarray(o) for o in outputs]

    def profile(self, inputs: list[np.ndarray]) -> dict[str, Any]:
        """The program's plan: its delegate partitions and the operators outside them (bench/profile.py);
        the 1.4.1 wheel is built without the event tracer, so no per-op times."""
        from edgeexport.bench import profile

        with quiet_import():
            from executorch.exir._serialize._program import deserialize_pte_binary

        plan = deserialize_pte_binary(Path(self._path).read_bytes()).program.execution_plan[0]
        nodes = []
        for k, instruction in enumerate(plan.chains[0].instructions):
            args = instruction.instr_args
            kind = type(args).__name__
            if kind == "DelegateCall":
                backend = plan.delegates[args.delegate_index].id
                nodes.append({"name": f"{backend}#{k}", "op": backend, "kernel": backend, "dtype": "?",
                              "ms": None, "fast": True})  # fmt: skip
            elif kind == "KernelCall":
                op = str(plan.operators[args.op_index].name)
                nodes.append({"name": f"{op}#{k}", "op": op, "kernel": "portable", "dtype": "?", "ms": None,
                              "fast": False})  # fmt: skip
        partitions = sum(n["fast"] for n in nodes)
        note = "ExecuTorch: the wheel's runtime has no event tracer (ETDump empty): the program's plan only"
        return profile.summary("executorch program plan", nodes, partitions, note)

    def describe(self) -> list[dict[str, Any]]:
        """Each input: name, shape, dtype (a .pte's inputs carry no quantization: float in, float out)."""
        return [
            {"name": name, "shape": list(info.sizes()),
             "dtype": SCALAR_TYPES.get(info.dtype(), str(info.dtype())), "quantization": None}
            for name, info in zip(self.input_names, self._inputs, strict=True)
        ]  # fmt: skip


def load(path: str, threads: int, **options: Any) -> ExecuTorchSession:
    return ExecuTorchSession(path, threads)
