"""``--profile``: where an artifact's time goes, per op, as each runtime can tell (device side: numpy and
the one runtime).

- onnxruntime: its own profiler (``SessionOptions.enable_profiling``), a fresh session after the timed
  runs so the latency is never measured with profiling on: every node's kernel time, provider and input
  dtypes, averaged over ``PROFILE_RUNS`` runs.
- litert: its Python API has no per-op timer; the XNNPACK delegate's partitions and every op it left on
  TFLite's built-in kernels (with dtype), read from the interpreter's node list after delegation.
- executorch: the 1.4.1 wheel has no event tracer (ETDump writes nothing), so the program's own plan:
  its XNNPACK partitions and the operators that run outside them on portable kernels.

Every profile has the same keys: ``source``, ``nodes`` (one row per node), ``by_op`` (op -> count, ms),
``outside`` (ops off the fast path -> count), ``partitions`` (or None) and ``note``; ``ms`` is None where
the runtime gives no time.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

PROFILE_RUNS = 30
QUANTIZED = ("int8", "uint8", "int16")


def summary(source: str, nodes: list[dict[str, Any]], partitions: int | None, note: str) -> dict[str, Any]:
    """The shared shape: nodes sorted by time (when timed), per-op totals, and what is off the fast path."""
    timed = all(n.get("ms") is not None for n in nodes)
    if timed:
        nodes = sorted(nodes, key=lambda n: -float(n["ms"]))
    by_op: dict[str, dict[str, Any]] = {}
    for n in nodes:
        row = by_op.setdefault(n["op"], {"count": 0, "ms": 0.0 if timed else None})
        row["count"] += 1
        if timed:
            row["ms"] += float(n["ms"])
    outside = Counter(n["op"] for n in nodes if not n["fast"])
    return {
        "source": source,
        "runs": PROFILE_RUNS if timed else 0,
        "total_ms": round(sum(float(n["ms"]) for n in nodes), 4) if timed else None,
        "nodes": nodes,
        "by_op": dict(sorted(by_op.items(), key=lambda kv: -(kv[1]["ms"] or kv[1]["count"]))),
        "outside": dict(outside.most_common()),
        "outside_ms": round(sum(float(n["ms"]) for n in nodes if not n["fast"]), 4) if timed else None,
        "partitions": partitions,
        "note": note,
    }


def ort_nodes(events: list[dict[str, Any]], runs: int, quantized_model: bool) -> list[dict[str, Any]]:
    """ORT profiler events of ``runs`` + 1 runs -> one row per graph node, mean ms per warm run. A node is
    on the fast path when it computes in integers (its first input is an integer tensor); in a float
    model every node is, and so are Q/DQ conversions."""
    total: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    for e in events:
        if e.get("cat") != "Node" or not str(e.get("name", "")).endswith("_kernel_time"):
            continue
        args = e.get("args") or {}
        name = str(e["name"]).removesuffix("_kernel_time")
        if name not in seen:  # the first (cold) run of each node is not counted
            seen.add(name)
            continue
        dtypes = [next(iter(d)) for d in args.get("input_type_shape") or [] if d]
        row = total.setdefault(
            name,
            {"name": name, "op": str(args.get("op_name", "?")), "kernel": str(args.get("provider", "?")),
             "dtype": dtypes[0] if dtypes else "?", "us": 0.0},
        )  # fmt: skip
        row["us"] += float(e.get("dur", 0))
    nodes = []
    for row in total.values():
        integer = row["dtype"] in QUANTIZED
        conversion = row["op"] in ("QuantizeLinear", "DequantizeLinear")
        nodes.append(
            {"name": row["name"], "op": row["op"], "kernel": row["kernel"], "dtype": row["dtype"],
             "ms": round(row["us"] / runs / 1000, 5), "fast": integer or not quantized_model or conversion}
        )  # fmt: skip
    return nodes


def tflite_nodes(ops: list[dict[str, Any]], first_delegate: int, dtype_of: Any) -> tuple[list[dict], int]:
    """LiteRT's node list after delegation -> (rows of the nodes that run, partition count). The nodes
    from ``first_delegate`` on are the delegate's; an original node is inside a partition when it lies
    between that partition's outputs and its inputs (walked back through the nodes that produce them)."""
    original, delegates = ops[:first_delegate], ops[first_delegate:]
    producer = {t: op["index"] for op in original for t in op["outputs"] if t >= 0}
    inside: set[int] = set()
    for d in delegates:
        boundary, stack = set(d["inputs"]), [t for t in d["outputs"] if t >= 0]
        while stack:
            tensor = stack.pop()
            if tensor in boundary or tensor not in producer or producer[tensor] in inside:
                continue
            node = producer[tensor]
            inside.add(node)
            stack.extend(t for t in original[node]["inputs"] if t >= 0)
    rows = [
        {"name": f"{op['op_name']}#{op['index']}", "op": str(op["op_name"]), "kernel": "XNNPACK",
         "dtype": dtype_of(op), "ms": None, "fast": True}
        for op in original if op["index"] in inside
    ]  # fmt: skip
    rows += [
        {"name": f"{op['op_name']}#{op['index']}", "op": str(op["op_name"]), "kernel": "builtin",
         "dtype": dtype_of(op), "ms": None, "fast": False}
        for op in original if op["index"] not in inside
    ]  # fmt: skip
    return rows, len(delegates)


def lines(profile: dict[str, Any], top: int = 5) -> list[str]:
    """A few lines for the terminal: the top ops by time (or count), then what is off the fast path."""
    by_op = profile["by_op"]
    if profile["total_ms"] is not None:
        head = ", ".join(f"{op} {v['ms']:.3f} ms x{v['count']}" for op, v in list(by_op.items())[:top])
        first = f"per run {profile['total_ms']:.3f} ms in kernels; top: {head}"
    else:
        first = "ops: " + ", ".join(f"{op} x{v['count']}" for op, v in list(by_op.items())[:top])
    if profile["partitions"] is not None:
        first += f"; {profile['partitions']} delegate partition(s)"
    outside = profile["outside"]
    off = ", ".join(f"{op} x{n}" for op, n in outside.items()) if outside else "none"
    ms = f" ({profile['outside_ms']:.3f} ms)" if outside and profile["outside_ms"] is not None else ""
    return [first, f"off the fast path: {off}{ms}", profile["note"]]
