#!/usr/bin/env bash
# Synthesises and packs the demo sweep's two datasets into $2/afew and $2/mafw.
#   make_demo_data.sh HESP_PACK OUT_DIR
set -euo pipefail
pack="$1"; out="$2"
mkdir -p "$out"
"$pack" synth --layout afew --out "$out/src-afew" --clips-per-class 4 --frames 4 --size 64 --seed 5 > /dev/null
"$pack" convert --format afew --root "$out/src-afew" --output "$out/afew" --frames-per-clip 2 \
  --size 64 --threads 1 > /dev/null 2>&1
"$pack" synth --layout mafw --out "$out/src-mafw" --clips-per-class 5 --frames 4 --size 64 --seed 6 > /dev/null
"$pack" convert --format mafw --mafw-set 1 --root "$out/src-mafw" --output "$out/mafw" \
  --frames-per-clip 2 --size 64 --threads 1 > /dev/null 2>&1
rm -rf "$out/src-afew" "$out/src-mafw"
