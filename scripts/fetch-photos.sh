#!/usr/bin/env bash
# Real photographs from two Debian packages, unpacked into .data/debian/ WITHOUT installing them (darknet
# would pull OpenCV's libraries; opencv-doc is 95 MB of documentation). Cached: a re-run is a no-op.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.data/debian
stamp=$dest/.ready-1
[ -f "$stamp" ] && exit 0
mkdir -p .data/debs "$dest"
download() {
  (cd .data/debs && apt-get download -qq darknet opencv-doc 2>/dev/null)
}
if ! download; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    download
  else
    echo "edgeexport: cannot download the photo packages; run as root once: sudo apt-get update" >&2
    exit 1
  fi
fi
for deb in .data/debs/darknet_*.deb .data/debs/opencv-doc_*.deb; do
  dpkg-deb -x "$deb" .data/unpack
done
mkdir -p "$dest/darknet" "$dest/opencv"
cp .data/unpack/usr/share/darknet/data/*.jpg "$dest/darknet/"
cp .data/unpack/usr/share/doc/opencv-doc/examples/data/*.jpg .data/unpack/usr/share/doc/opencv-doc/examples/data/*.png "$dest/opencv/"
rm -rf .data/unpack .data/debs
touch "$stamp"
echo "edgeexport: real photos unpacked into $dest"
