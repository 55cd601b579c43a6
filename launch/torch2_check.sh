#!/usr/bin/env bash
# LibTorch 2.x on the CPU (issue 23, part 1): builds hesp against Debian 13's LibTorch
# (libtorch-dev 2.6) in a Debian 13 (trixie) root made with debootstrap, and runs the unit,
# CLIP, model, metrics and trainer tests there. From nothing: makes the root, installs the
# packages into it, configures, builds only the targets those tests need, runs them. Each
# step is skipped when already done, so a second run is an incremental build + the tests.
# This machine's own package sources are never changed: the root gets its own
# sources.list, on the same mirror as this machine's.
#
#   sudo launch/torch2_check.sh [--root DIR] [--jobs N] [--mirror URL] [--nice N] [--opt FLAGS]
#
#   --root DIR   the Debian 13 root (default /var/tmp/hesp-trixie; never under /tmp, where
#                it would not survive, nor inside a git tree)
#   --jobs N     build jobs (default 2)
#   --mirror URL Debian mirror (default: the first http(s) URI of this machine's apt
#                sources that serves .../debian, else http://deb.debian.org/debian)
#   --nice N     niceness of the build and the tests (default 15: a shared machine)
#   --opt FLAGS  the compiler's optimisation flags (default "-O0 -DNDEBUG": this checks that
#                the code compiles and behaves with LibTorch 2.x, not its speed, and
#                unoptimised code compiles fastest; "-O3 -DNDEBUG" is the Release build's)
#
# Needs root (debootstrap, chroot, mount namespaces), debootstrap and network access to the
# mirror. The source tree is bind-mounted read-only at its own path inside the root (and
# ../shared beside it, the shared fixtures); the build tree is <root>/build/hesp. Exit 0
# only when every selected test passes (ctest's own exit status). The result of a run is
# recorded in docs/building.md. HESP_VOCAB names the tree's BPE vocabulary: hesp looks for it
# beside the binary's parent (a build folder inside the source tree), which /build/hesp is not.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$(cd "$here/.." && pwd)"
root=/var/tmp/hesp-trixie
jobs=2
nice_level=15
opt="-O0 -DNDEBUG"
mirror=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --root) root="$2"; shift ;;
    --jobs) jobs="$2"; shift ;;
    --mirror) mirror="$2"; shift ;;
    --nice) nice_level="$2"; shift ;;
    --opt) opt="$2"; shift ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *) echo "torch2_check.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
say() { echo "[torch2_check $(date +%H:%M:%S)] $*"; }
run() { say "+ $*"; "$@"; }
if [[ $(id -u) -ne 0 ]]; then
  echo "torch2_check.sh: needs root (debootstrap, chroot, mount): sudo $0" >&2
  exit 1
fi
case "$root" in
  /tmp/*) echo "torch2_check.sh: --root $root is under /tmp; use /var/tmp or /work/chroots" >&2
          exit 2 ;;
esac

# The packages of the root: the build tools and hesp's libraries (launch/packages.txt's
# core list; OpenCV for hesp-pack, which the trainer tests make their data with).
packages=(build-essential cmake ninja-build ccache pkg-config
  libtorch-dev libopenblas0-pthread openmpi-bin libopenmpi-dev libhdf5-dev hdf5-tools
  protobuf-compiler libprotobuf-dev libgoogle-glog-dev libgtest-dev libgmock-dev
  libcli11-dev libturbojpeg0-dev libjpeg-dev libicu-dev nlohmann-json3-dev libssl-dev
  zlib1g-dev libopencv-dev python3 jq)
# The targets the selected tests run, and the tests (ctest -R).
targets=(hesp hesp-pack unit_tests config_fields_read_test clip_model_test clip_device_test
  clip_cli_test model_tests model_step_fixture_test activation_checkpointing_tests
  metrics_test trainer_tests)
tests='^(unit|config\.fields_read|clip\.(reference|gradients|weight_errors|hf_naming|device|cli)|model|model\.(step_fixture|activation_checkpointing)|metrics\.unit|trainer\.single)$'

# ---------------------------------------------------------------- 1. the Debian 13 root
if [[ -z "$mirror" ]]; then
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
             /etc/apt/sources.list.d/*.sources 2>/dev/null |
           grep -oE 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -1 | tr -d ' ' || true)
  mirror="${mirror:-http://deb.debian.org/debian}"
fi
say "root $root, mirror $mirror, source $src"
# debootstrap deletes <root>/debootstrap when it has finished: its own completion mark.
if [[ ! -e "$root/etc/debian_version" || -d "$root/debootstrap" ]]; then
  command -v debootstrap >/dev/null || {
    echo "torch2_check.sh: debootstrap missing: apt-get install debootstrap" >&2; exit 1; }
  rm -rf "$root"
  run nice -n "$nice_level" debootstrap --variant=minbase trixie "$root" "$mirror"
else
  say "root present: Debian $(cat "$root/etc/debian_version")"
fi
echo "deb $mirror trixie main" >"$root/etc/apt/sources.list"

# Everything inside the root runs in a private mount namespace: /proc, /dev and the source
# tree are mounted for that command only and vanish with it.
in_root() {
  local shared_dir
  shared_dir="$(cd "$src/.." && pwd)/shared"
  local script="mount -t proc proc '$root/proc' && mount --rbind /dev '$root/dev' &&
    mkdir -p '$root$src' && mount --bind '$src' '$root$src' &&
    mount -o remount,bind,ro '$root$src'"
  if [[ -d "$shared_dir" ]]; then
    script+=" && mkdir -p '$root$shared_dir' && mount --bind '$shared_dir' '$root$shared_dir' &&
      mount -o remount,bind,ro '$root$shared_dir'"
  fi
  unshare --mount --propagation private --fork bash -c \
    "$script && exec chroot '$root' /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
       HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive CCACHE_DIR=/var/cache/ccache \
       HESP_VOCAB='$src/src/clip/data/bpe_simple_vocab_16e6.txt.gz' \
       bash -c \"\$1\"" _ "$1"
}

# ---------------------------------------------------------------- 2. packages
missing=()
for p in "${packages[@]}"; do
  chroot "$root" dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -q '^installed' ||
    missing+=("$p")
done
if (( ${#missing[@]} )); then
  say "installing ${#missing[@]} package(s) into the root: ${missing[*]}"
  in_root "apt-get update -q && nice -n $nice_level apt-get install -y -q --no-install-recommends ${missing[*]}"
else
  say "all ${#packages[@]} packages present in the root"
fi
# OpenBLAS, not the reference BLAS (launch/setup.sh does the same on the host).
in_root 'a=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu);
  update-alternatives --set libblas.so.3-$a /usr/lib/$a/openblas-pthread/libblas.so.3 >/dev/null 2>&1 || true'
say "versions in the root:"
in_root 'echo "  Debian $(cat /etc/debian_version)"; echo "  $(g++ --version | head -1)";
  echo "  $(cmake --version | head -1)";
  dpkg-query -W -f="  \${Package} \${Version}\n" libtorch-dev libtorch2.6 libprotobuf-dev \
    libopenmpi-dev libhdf5-dev libgoogle-glog-dev libopencv-dev 2>/dev/null || true;
  grep -h "define TORCH_VERSION_M" /usr/include/torch/csrc/api/include/torch/version.h 2>/dev/null |
    sed "s/^/  /" || true'

# ---------------------------------------------------------------- 3. configure, build
build=/build/hesp
in_root "mkdir -p $build && cd $build && cmake -S '$src' -G Ninja -B . -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS_RELEASE='$opt' -DHESP_BUILD_BENCHMARKS=OFF >cmake.log 2>&1 || { cat cmake.log; exit 1; };
  grep '^-- hesp:' cmake.log"
say "building ${targets[*]}"
in_root "cd $build && nice -n $nice_level cmake --build . -j$jobs --target ${targets[*]} -- -k 0"

# ---------------------------------------------------------------- 4. the tests
say "ctest -R '$tests'"
set +e
in_root "cd $build && nice -n $nice_level ctest --output-on-failure --timeout 1200 -R '$tests'"
rc=$?
set -e
say "result: $([[ $rc -eq 0 ]] && echo PASS || echo "FAIL (ctest exit $rc)")"
exit $rc
