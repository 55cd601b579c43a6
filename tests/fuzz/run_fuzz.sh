#!/bin/sh
# Builds one libFuzzer target with clang++ (whatever compiler the project uses) from the
# LibTorch-free weight readers, seeds it from the CLIP fixtures and fuzzes for N seconds.
#   run_fuzz.sh <target: safetensors|torch_save> <source dir> <work dir> [seconds]
# Exit 77 (ctest skip) when clang++ or libFuzzer is unavailable.
set -eu
target=$1
src=$2
work=$3
seconds=${4:-20}
cxx=${HESP_FUZZ_CXX:-clang++}
if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "clang++ not found: skipping fuzz target $target"
  exit 77
fi
mkdir -p "$work"
readers="$src/src/clip/weights/raw_tensor.cc $src/src/clip/weights/zip_reader.cc
         $src/src/clip/weights/safetensors.cc $src/src/clip/weights/torch_pickle.cc"
flags="-std=c++17 -O1 -g -I$src/src"
if ! echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' |
    "$cxx" -x c++ -fsanitize=fuzzer - -o "$work/probe" >/dev/null 2>&1; then
  echo "$cxx cannot link libFuzzer (libclang-rt dev package missing): skipping $target"
  exit 77
fi
# shellcheck disable=SC2086
"$cxx" $flags -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  $readers "$src/tests/fuzz/${target}_fuzz.cc" -o "$work/${target}_fuzz"
# shellcheck disable=SC2086
"$cxx" $flags $readers "$src/tests/fuzz/make_seeds.cc" -o "$work/make_seeds"
rm -rf "$work/seeds_$target" "$work/corpus_$target"
mkdir -p "$work/seeds_$target" "$work/corpus_$target"
"$work/make_seeds" "$src/tests/data/fixtures/clip" "$work/seeds_$target" "$target"
# New inputs go to corpus_<target>; the seeds stay untouched. Any crash, leak, sanitizer
# report or uncaught exception makes libFuzzer exit non-zero and fails the test.
"$work/${target}_fuzz" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/${target}_" \
  "$work/corpus_$target" "$work/seeds_$target"
