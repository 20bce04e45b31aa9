"""Data sources: Fashion-MNIST splits, real photos, ImageFolder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgeexport import data
from edgeexport.errors import DataError, UnknownNameError


def test_fashion_mnist_is_the_real_labelled_set() -> None:
    test = data.load("fashion_mnist", "test")
    assert len(test) == 10_000 and test.images[0].shape == (28, 28)
    assert test.labels is not None and np.bincount(test.labels).tolist() == [1000] * 10
    assert len(data.load("fashion_mnist", "train")) == 60_000


def test_calibration_and_val_are_disjoint_train_subsets() -> None:
    cal = data.load("fashion_mnist", "calibration")
    val = data.load("fashion_mnist", "val")
    assert (len(cal), len(val)) == (1000, 2000)
    assert all(i.startswith("calibration:") for i in cal.ids)
    cal_index = {int(i.split(":")[1]) for i in cal.ids}
    val_index = {int(i.split(":")[1]) for i in val.ids}
    assert not cal_index & val_index
    assert cal.digest() == data.load("fashion_mnist", "calibration").digest()  # seeded: stable


def test_real_photos_split_without_overlap() -> None:
    cal = data.load("real_photos", "calibration")
    held = data.load("real_photos", "heldout")
    assert len(cal) >= 10 and len(held) >= 5
    assert not set(cal.ids) & set(held.ids)


def test_unknown_split_and_source() -> None:
    with pytest.raises(DataError, match="unknown split 'tset'"):
        data.load("fashion_mnist", "tset")
    with pytest.raises(UnknownNameError, match="did you mean 'fashion_mnist'"):
        data.load("fashion_mnst", "test")


def test_image_folder(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for cls in ("daisy", "rose"):
        (tmp_path / cls).mkdir()
        for i in range(10):
            Image.fromarray(rng.integers(0, 255, (20, 24, 3), dtype=np.uint8)).save(
                tmp_path / cls / f"{i}.png"
            )
    train = data.load(f"folder:{tmp_path}", "train")
    test = data.load(f"folder:{tmp_path}", "test")
    assert len(train) + len(test) == 20 and len(test) > 0
    assert not set(train.ids) & set(test.ids)
    assert train.labels is not None and set(train.labels.tolist()) == {0, 1}
    assert train.images[0].shape == (20, 24, 3)
    calibration = data.load(f"folder:{tmp_path}", "calibration")
    val = data.load(f"folder:{tmp_path}", "val")
    assert len(val) == len(train) // 4 and len(calibration) == len(train) - len(val)
    assert not set(val.ids) & set(calibration.ids)  # the int8 search never tunes on its calibration set
    assert set(val.ids) | set(calibration.ids) == set(train.ids)
    assert data.load(f"folder:{tmp_path}", "val").ids == val.ids  # seeded: the same split every time


def test_real_photos_offer_no_val_that_is_their_calibration_set() -> None:
    with pytest.raises(DataError, match="no val split"):
        data.load("real_photos", "val")


def test_image_folder_errors_name_the_layout(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="expected root/<class>/<image>"):
        data.load(f"folder:{tmp_path / 'nope'}", "train")
