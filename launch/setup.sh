#!/usr/bin/env bash
# Sets up a Debian 12 machine for hesp and builds it (Release) into build/.
# Idempotent: installs only missing packages, re-configures only when needed, and a
# second run with nothing to do is an incremental build.
#   launch/setup.sh [--no-build] [--build-dir DIR]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
build_dir="$root/build"
do_build=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-build) do_build=0 ;;
    --build-dir) build_dir="$2"; shift ;;
    *) echo "setup.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

log() { echo "[setup] $*"; }

# 1. Packages: install only what dpkg does not already have.
mapfile -t wanted < <(grep -v '^\s*#' "$here/packages.txt" | sed '/^\s*$/d')
missing=()
for p in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$p")
done
if (( ${#missing[@]} )); then
  log "installing ${#missing[@]} package(s): ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup.sh: need root to install: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  log "all ${#wanted[@]} packages present"
fi

# 2. BLAS: LibTorch's matrix products go through libblas.so.3. The reference BLAS is
#    about 26x slower than OpenBLAS, so insist on OpenBLAS.
arch_triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
blas_link="libblas.so.3-$arch_triplet"
openblas="/usr/lib/$arch_triplet/openblas-pthread/libblas.so.3"
current=$(readlink -f "/usr/lib/$arch_triplet/libblas.so.3" || true)
if [[ "$current" != *openblas* ]]; then
  if [[ $(id -u) -eq 0 && -e "$openblas" ]]; then
    log "libblas.so.3 -> $current (reference BLAS); switching to OpenBLAS"
    update-alternatives --set "$blas_link" "$openblas"
    lapack="/usr/lib/$arch_triplet/openblas-pthread/liblapack.so.3"
    [[ -e "$lapack" ]] && update-alternatives --set "liblapack.so.3-$arch_triplet" "$lapack" || true
  else
    echo "setup.sh: libblas.so.3 resolves to $current, the slow reference BLAS." >&2
    echo "  fix: sudo update-alternatives --set $blas_link $openblas" >&2
    exit 1
  fi
fi
log "BLAS: $(readlink -f "/usr/lib/$arch_triplet/libblas.so.3")"

# 3. ccache keeps rebuilds on the same machine short.
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
mkdir -p "$CCACHE_DIR"
ccache --max-size=8G >/dev/null 2>&1 || true
# PCH-friendly settings (the library precompiles LibTorch's headers).
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$root}"
export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}"

(( do_build )) || exit 0

# 4. Configure once (or when the cache is gone), then build.
if [[ ! -f "$build_dir/build.ninja" ]]; then
  log "configuring $build_dir (Release)"
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
jobs="${HESP_BUILD_JOBS:-$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)}"
log "building with $jobs job(s)"
cmake --build "$build_dir" -j "$jobs"
log "done: $build_dir/bin/hesp, $build_dir/bin/hesp-pack"
