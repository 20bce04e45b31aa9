"""A small reference training loop (``python -m edgeexport train <card> --data fashion_mnist --steps N``).

Reproducible by construction: a STEP budget (not a time budget), seeded sampling and initialisation,
AdamW with a warm-up + cosine schedule, channels_last memory format (depthwise backward is ~8x faster
that way on x86 CPUs). Works on Fashion-MNIST or an ImageFolder (``--data folder:/path``), from scratch
or fine-tuning from the card's own weights (``--init card``), and resumes from a checkpoint.
Writes the weights (float16 on disk, loaded back into float32) and a JSON record with their sha256,
the command, the steps and the test accuracy.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from edgeexport import data
from edgeexport.artifact import atomic_output
from edgeexport.spec import ModelCard
from edgeexport.zoo import builder
from edgeexport.zoo.weights import calibrate_batchnorm, sha256_file


def tensors(card: ModelCard, source: str, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    images = data.load(source, split)
    if images.labels is None:
        raise SystemExit(f"error: data {source!r} has no labels; training needs labelled data")
    x = data.preprocess_batch(list(images.images), card.preprocess, card.input)
    return torch.from_numpy(x), torch.from_numpy(np.asarray(images.labels, dtype=np.int64))


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random horizontal flip and a random shift of up to 2 pixels (padding with the border)."""
    flip = torch.rand(x.shape[0], generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    dy, dx = (int(v) for v in torch.randint(-2, 3, (2,), generator=gen))
    pad = nn.functional.pad(x, (2, 2, 2, 2), mode="replicate")
    return pad[:, :, 2 + dy : 2 + dy + x.shape[2], 2 + dx : 2 + dx + x.shape[3]]


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 500) -> float:
    model.eval()
    hits = 0
    for i in range(0, x.shape[0], batch):
        xb = x[i : i + batch].contiguous(memory_format=torch.channels_last)
        hits += int((model(xb).argmax(1) == y[i : i + batch]).sum())
    return hits / x.shape[0]


AUX_WEIGHT = 0.4  # torchvision's reference training of Inception-v3: loss + 0.4 * auxiliary loss


def training_loss(loss_fn: nn.Module, out: object, y: torch.Tensor) -> torch.Tensor:
    """One batch's loss; a model with an auxiliary head (Inception-v3) returns (logits, aux) in training."""
    if isinstance(out, tuple):
        logits, aux = out
        return loss_fn(logits, y) + AUX_WEIGHT * loss_fn(aux, y)
    return loss_fn(out, y)


def schedule(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def _print(message: str) -> None:
    print(message, flush=True)


def train(card: ModelCard, args: argparse.Namespace, log: Any = _print) -> dict[str, Any]:
    torch.set_num_threads(args.threads)
    source = args.data or card.data.evaluation or card.data.calibration
    model = builder.build_model(card) if args.init == "card" else builder.build_architecture(card)
    model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    x_train, y_train = tensors(card, source, "train")
    x_test, y_test = tensors(card, source, "test")
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: schedule(s, args.steps, args.warmup))
    gen = torch.Generator().manual_seed(args.seed)
    start_step = 0
    out = Path(args.out or Path("weights") / f"{card.name}.pt")
    ckpt_path = out.with_suffix(".ckpt")
    if args.resume:
        ckpt = torch.load(args.resume, map_location="cpu", weights_only=True)
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["opt"])
        sched.load_state_dict(ckpt["sched"])
        gen.set_state(ckpt["gen"])
        start_step = int(ckpt["step"])
        log(f"resumed from {args.resume} at step {start_step}")
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    started = time.perf_counter()
    for step in range(start_step, args.steps):
        model.train()
        idx = torch.randint(0, x_train.shape[0], (args.batch,), generator=gen)
        xb = augment(x_train[idx], gen).contiguous(memory_format=torch.channels_last)
        loss = training_loss(loss_fn, model(xb), y_train[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if (step + 1) % 100 == 0 or step + 1 == args.steps:
            rate = (step + 1 - start_step) * args.batch / (time.perf_counter() - started)
            lr = sched.get_last_lr()[0]
            log(f"step {step + 1}/{args.steps} loss {loss.item():.4f} lr {lr:.2e} {rate:.0f} img/s")
        if (step + 1) % args.checkpoint_every == 0 and step + 1 < args.steps:
            state = {"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict()}
            state.update(gen=gen.get_state(), step=step + 1)
            with atomic_output(ckpt_path) as tmp:
                torch.save(state, tmp)
    # Precise BatchNorm: exact statistics over 2000 training images (the running averages lag behind the
    # weights, badly so with torchvision's MobileNetV3 momentum of 0.01)
    model = model.to(memory_format=torch.contiguous_format)  # type: ignore[call-overload]
    pick = torch.randperm(x_train.shape[0], generator=gen)[:2000]
    calibrate_batchnorm(model, x_train[pick], chunk=200)
    model = model.eval()
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    with atomic_output(out) as tmp:
        torch.save(state, tmp)
    # accuracy of exactly what a user loads: the float16 file cast back into float32
    model.load_state_dict(torch.load(out, map_location="cpu", weights_only=True))
    test_top1 = accuracy(model.to(memory_format=torch.channels_last), x_test, y_test)
    record = {
        "card": card.name,
        "weights": str(out),
        "sha256": sha256_file(out),
        "command": "python -m edgeexport train "
        + shlex.join(sys.argv[2:] if sys.argv[1:2] == ["train"] else []),
        "data": source,
        "steps": args.steps,
        "batch": args.batch,
        "seed": args.seed,
        "test_top1": round(test_top1, 4),
        "train_seconds": round(time.perf_counter() - started, 1),
        "torch": torch.__version__,
    }
    out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    ckpt_path.unlink(missing_ok=True)
    log(json.dumps(record, indent=2))
    return record
