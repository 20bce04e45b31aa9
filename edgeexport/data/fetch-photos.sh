#!/usr/bin/env bash
# Real photographs from two Debian packages, unpacked into edgeexport's user cache WITHOUT installing them
# (darknet would pull OpenCV's libraries; opencv-doc is 95 MB of documentation). Cached: a re-run is a no-op.
# The cache is $EDGEEXPORT_CACHE, else $XDG_CACHE_HOME/edgeexport, else ~/.cache/edgeexport (paths.py).
# Ships inside the package: `make setup` runs it, and an installed edgeexport names it in its error message.
set -euo pipefail
cache=${EDGEEXPORT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeexport}
dest=$cache/photos/debian
stamp=$dest/.ready-1
[ -f "$stamp" ] && exit 0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debs" "$dest"
download() {
  (cd "$work/debs" && apt-get download -qq darknet opencv-doc 2>/dev/null)
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
for deb in "$work"/debs/darknet_*.deb "$work"/debs/opencv-doc_*.deb; do
  dpkg-deb -x "$deb" "$work/unpack"
done
mkdir -p "$dest/darknet" "$dest/opencv"
cp "$work"/unpack/usr/share/darknet/data/*.jpg "$dest/darknet/"
examples=$work/unpack/usr/share/doc/opencv-doc/examples/data
cp "$examples"/*.jpg "$examples"/*.png "$dest/opencv/"
touch "$stamp"
echo "edgeexport: real photos unpacked into $dest"
