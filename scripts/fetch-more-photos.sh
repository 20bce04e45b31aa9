#!/usr/bin/env bash
# More real photos for measuring int8 agreement (benchmarks/int8_agreement.py --extra): 22 natural photos
# from the PyPI package mvtb-images 1.1 (the Machine Vision Toolbox's images; its sdist does not build, so
# the file is fetched from PyPI by its pinned sha256 and unpacked, never installed). One of each stereo pair
# or image sequence; no synthetic targets. Opt-in (90 MB), not part of `make setup`. Cached.
set -euo pipefail
cache=${EDGEEXPORT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeexport}
dest=$cache/more-photos/mvtb
[ -f "$dest/.ready-1" ] && { echo "$dest"; exit 0; }
url=https://files.pythonhosted.org/packages/05/3c/333d0acf1ae93e90cbecfb5d17ae17eb5b2b959e2153481ff4da8cf49f59/mvtb-images-1.1.tar.gz
sha=393d676e654f850275e322b3635564da3570290a12914278771aefd507c90ea9
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
curl -fsSL -o "$tmp/mvtb.tar.gz" "$url"
echo "$sha  $tmp/mvtb.tar.gz" | sha256sum -c --quiet
tar xzf "$tmp/mvtb.tar.gz" -C "$tmp"
mkdir -p "$dest"
for n in 58060.png Image18.png building2-1.png butterfly.jpg castle.png church.png eiffel2-1.png \
  flowers1.png greenscreen.png lena.png monalisa.png notre-dame.png parks.png penguins.png road.png \
  rocks2-l.png roof.png im.001.png street.png tomato_124.png tomato_54.png walls-l.png; do
  cp "$(find "$tmp" -name "$n" -print -quit)" "$dest/"
done
touch "$dest/.ready-1"
echo "$dest"
