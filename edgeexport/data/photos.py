"""Real photographs that install offline with the project's own set-up.

scikit-image ships a handful of photos in ``skimage/data``, scikit-learn two in its sample images, and
two Debian packages (darknet's sample images, OpenCV's documentation examples) more; ``make setup``
unpacks those into the user cache (``fetch-photos.sh`` beside this file; paths.cache_dir) without
installing the packages. They are
read as files (no network fetch), split deterministically into a calibration part and a held-out part.
Far too few to claim an ImageNet accuracy: they measure agreement with PyTorch, not accuracy.
"""

from __future__ import annotations

from importlib import util
from pathlib import Path

from edgeexport import images
from edgeexport.data.imageset import SOURCES, ImageSet
from edgeexport.defaults import cache_dir
from edgeexport.errors import DataError

# Natural photographs only (no synthetic test patterns, text pages or binary masks). Grayscale ones are
# converted to RGB by preprocessing when the model wants colour.
SKIMAGE_PHOTOS = (
    "astronaut.png",
    "brick.png",
    "camera.png",
    "chelsea.png",
    "clock_motion.png",
    "coffee.png",
    "coins.png",
    "grass.png",
    "gravel.png",
    "hubble_deep_field.jpg",
    "ihc.png",
    "microaneurysms.png",
    "moon.png",
    "motorcycle_left.png",
    "motorcycle_right.png",
    "retina.jpg",
    "rocket.jpg",
)
SKLEARN_PHOTOS = ("china.jpg", "flower.jpg")
FETCH_SCRIPT = Path(__file__).resolve().parent / "fetch-photos.sh"
DARKNET_PHOTOS = ("dog.jpg", "eagle.jpg", "giraffe.jpg", "horses.jpg", "kite.jpg", "person.jpg", "scream.jpg")
OPENCV_PHOTOS = (
    "HappyFish.jpg",
    "aero1.jpg",
    "aero3.jpg",
    "aloeL.jpg",
    "apple.jpg",
    "baboon.jpg",
    "basketball1.png",
    "building.jpg",
    "butterfly.jpg",
    "chicky_512.png",
    "ela_original.jpg",
    "fruits.jpg",
    "graf1.png",
    "home.jpg",
    "leuvenA.jpg",
    "messi5.jpg",
    "orange.jpg",
    "rubberwhale1.png",
    "smarties.png",
    "squirrel_cls.jpg",
    "starry_night.jpg",
    "stuff.jpg",
)

# Held out from calibration: every third photo in name order, so both parts mix kinds of scenes.
HELDOUT_EVERY = 3


def _package_dir(package: str, sub: str) -> Path:
    spec = util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"real photos need the {package!r} package; run `make setup`")
    return Path(next(iter(spec.submodule_search_locations))) / sub


def photo_paths() -> list[tuple[str, Path]]:
    paths = [(f"skimage:{n}", _package_dir("skimage", "data") / n) for n in SKIMAGE_PHOTOS]
    paths += [(f"sklearn:{n}", _package_dir("sklearn", "datasets/images") / n) for n in SKLEARN_PHOTOS]
    debian = cache_dir() / "photos" / "debian"
    paths += [(f"darknet:{n}", debian / "darknet" / n) for n in DARKNET_PHOTOS]
    paths += [(f"opencv:{n}", debian / "opencv" / n) for n in OPENCV_PHOTOS]
    missing = [str(p) for _, p in paths if not p.exists()]
    if missing:
        raise DataError(
            f"{len(missing)} real photos missing (e.g. {missing[0]}); unpack them once with "
            f"`bash {FETCH_SCRIPT}` (Debian; `make setup` does it in a checkout)"
        )
    return sorted(paths)


@SOURCES.register("real_photos")
def real_photos(split: str) -> ImageSet:
    """``calibration`` (two thirds), ``heldout`` (every third), ``test`` (= heldout), ``train`` (= all).
    No ``val``: the photos are unlabelled, so nothing tunes on them, and a val equal to the calibration
    set would only pretend to be held out."""
    if split == "val":
        raise DataError("real_photos has no val split (unlabelled photos); name labelled data for val")
    items = photo_paths()
    if split in ("heldout", "test"):
        items = items[HELDOUT_EVERY - 1 :: HELDOUT_EVERY]
    elif split == "calibration":
        items = [item for i, item in enumerate(items) if i % HELDOUT_EVERY != HELDOUT_EVERY - 1]
    return ImageSet(
        name=f"real_photos:{split}",
        ids=tuple(name for name, _ in items),
        images=tuple(images.read_image(path) for _, path in items),
    )
