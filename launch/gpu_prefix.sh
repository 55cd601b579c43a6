#!/usr/bin/env bash
# Makes .gpu/, the folder that travels to a GPU machine that has CUDA, a compiler, cmake,
# ninja and PyTorch (with its LibTorch) but none of the other libraries hesp needs and no
# network (docs/building.md, "GPU machine without packages"):
#   .gpu/deps.tar.xz   Debian 12 packages (protobuf, glog/gflags, HDF5, OpenMPI, TurboJPEG,
#                      ICU, OpenSSL, zlib, CLI11, nlohmann-json, GoogleTest and their runtime
#                      libraries), unpacked with `dpkg -x` into one prefix, pruned (docs, man
#                      pages, unused static libraries) and packed; launch/gpu_check.sh unpacks
#                      it to a folder of its choice (the paths inside are relative).
#   .gpu/fixtures/     the shared fixtures the device checks read (step fixture).
#   .gpu/demo/packed/  the demo dataset, packed here (hesp-pack needs OpenCV, which the GPU
#                      machine lacks).
#   .gpu/sizes.txt     what each part weighs (the device tool carries at most 64 MiB,
#                      working tree included).
#
#   launch/gpu_prefix.sh [--out DIR] [--shared DIR] [--pack BIN] [--keep-debs]
# Needs apt-get (downloads only; installs nothing), dpkg-deb, xz and, for the demo data,
# a built hesp-pack (default build/bin/hesp-pack). Re-running replaces .gpu/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
out="$root/.gpu"
shared="$root/../shared"

pack="$root/build/bin/hesp-pack"
keep_debs=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) out="$2"; shift ;;
    --shared) shared="$2"; shift ;;
    --pack) pack="$2"; shift ;;
    --keep-debs) keep_debs=1 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "gpu_prefix.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
log() { echo "[gpu_prefix] $*"; }

# The -dev packages for building, the tools the build runs (protoc) or the checks run
# (mpirun for the one-rank NCCL test), and their runtime libraries. The runtime closure is
# completed below from what the unpacked libraries actually load.
packages=(
  libprotobuf-dev libprotobuf32 protobuf-compiler libprotoc32
  libgoogle-glog-dev libgoogle-glog0v6 libgflags-dev libgflags2.2 libunwind-dev libunwind8
  libhdf5-dev libhdf5-103-1 libhdf5-hl-100 libsz2 libaec0 libaec-dev
  libopenmpi-dev libopenmpi3 openmpi-bin openmpi-common libhwloc15 libevent-core-2.1-7
  libevent-pthreads-2.1-7 libpmix2
  libturbojpeg0-dev libturbojpeg0
  libicu-dev libicu72
  libssl-dev libssl3
  zlib1g-dev zlib1g
  libcli11-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev
)
# Libraries every glibc >= 2.36 system with a C++ compiler has: never carried.
base_re='^(libc|libm|libdl|libpthread|librt|libresolv|libutil|ld-linux-x86-64|libstdc\+\+|libgcc_s|linux-vdso)\.so'

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
debs="$work/debs"
prefix="$work/prefix"
mkdir -p "$debs" "$prefix"

fetch() {  # fetch PKG...: download the .debs we do not have yet and unpack them.
  (cd "$debs" && apt-get download -q "$@" >/dev/null)
  for p in "$@"; do
    for f in "$debs/${p}"_*.deb; do dpkg -x "$f" "$prefix"; done
  done
}

log "downloading ${#packages[@]} packages"
if ! (cd "$debs" && apt-get download -q "${packages[@]}" >/dev/null 2>"$work/err"); then
  cat "$work/err" >&2
  echo "gpu_prefix.sh: apt-get download failed (run 'apt-get update' first?)" >&2
  exit 1
fi
for f in "$debs"/*.deb; do dpkg -x "$f" "$prefix"; done

# One node, at most a few ranks over shared memory: OpenMPI's network transports (UCX,
# libfabric, PSM, verbs, netlink) and their library stacks stay behind. OpenMPI skips a
# component it cannot find.
ompi_components="$prefix/usr/lib/x86_64-linux-gnu/openmpi/lib/openmpi3"
rm -f "$ompi_components"/mca_{mtl_ofi,mtl_psm,mtl_psm2,btl_ofi,btl_openib,btl_uct,pml_ucx,osc_ucx,spml_ucx,sshmem_ucx,atomic_ucx,reachable_netlink}.so
find "$prefix" -path '*pmix*' -name 'mca_psec_munge.so' -delete
rm -f "$prefix"/usr/lib/x86_64-linux-gnu/libmca_common_{ucx,ofi,verbs}*
# ICU: hesp calls only character-property and case-mapping functions (u_charType,
# u_isUWhiteSpace, u_strToLower), whose tables are compiled into libicuuc itself; the
# 31 MB libicudata.so holds locale and collation data that hesp never loads. It is
# replaced by ICU's own "stub data" library (an empty table of contents), so that
# libicuuc loads. The i18n library is not linked.
rm -f "$prefix"/usr/lib/x86_64-linux-gnu/libicu{data,i18n,io,test,tu}.so*
rm -f "$prefix"/usr/lib/x86_64-linux-gnu/pkgconfig/icu-{i18n,io}.pc
icu_major=$(sed -n 's/^Version: *\([0-9]*\).*/\1/p' "$prefix"/usr/lib/x86_64-linux-gnu/pkgconfig/icu-uc.pc)
cat >"$work/icu_stubdata.c" <<STUB
/* ICU's stubdata/stubdata.cpp: a data entry point with an empty table of contents. */
#include <stdint.h>
typedef struct {
  uint16_t size, reserved_word;
  uint8_t is_big_endian, charset_family, sizeof_uchar, reserved_byte;
  uint8_t data_format[4], format_version[4], data_version[4];
} DataInfo;
typedef struct {
  uint16_t header_size;
  uint8_t magic1, magic2;
  DataInfo info;
  char padding[8];
  uint32_t count, reserved;
  int fake_name_and_data[4];
} DataHeader;
__attribute__((visibility("default"))) const DataHeader icudt${icu_major}_dat = {
    32, 0xda, 0x27,
    {sizeof(DataInfo), 0, 0, 0, 2, 0, {0x54, 0x6f, 0x43, 0x50}, {1, 0, 0, 0}, {0, 0, 0, 0}},
    {0}, 0, 0, {0, 0, 0, 0}};
STUB
gcc -shared -fPIC -O2 -Wl,-soname,libicudata.so.$icu_major -o \
  "$prefix/usr/lib/x86_64-linux-gnu/libicudata.so.$icu_major" "$work/icu_stubdata.c"
ln -sf "libicudata.so.$icu_major" "$prefix/usr/lib/x86_64-linux-gnu/libicudata.so"

# Runtime closure: every ELF file in the prefix must load with the prefix's libraries and
# the base set alone. What it still takes from this system is added as the package that
# owns it, until nothing is missing.
libdirs() {
  find "$prefix" -name '*.so*' \( -type f -o -type l \) -printf '%h\n' | sort -u | tr '\n' ':'
}
for round in 1 2 3 4 5 6; do
  ld_path="$(libdirs)"
  missing=()
  while IFS= read -r lib; do
    [[ -n "$lib" ]] || continue
    # Merged /usr: dpkg knows a library under /lib or under /usr/lib, not both.
    owner=""
    for cand in "$lib" "/usr${lib#/usr}" "${lib#/usr}" "$(readlink -f "$lib")"; do
      owner=$(dpkg -S "$cand" 2>/dev/null | head -1 | cut -d: -f1 || true)
      [[ -n "$owner" ]] && break
    done
    if [[ -z "$owner" ]]; then
      echo "gpu_prefix.sh: $lib is needed but no installed package owns it" >&2
      exit 1
    fi
    missing+=("$owner")
  done < <(find "$prefix" -type f \( -name '*.so*' -o -path '*/bin/*' \) -print0 |
             xargs -0 file -N 2>/dev/null | grep -E 'ELF 64-bit.*(shared object|executable)' |
             cut -d: -f1 |
             xargs -r env LD_LIBRARY_PATH="$ld_path" ldd 2>/dev/null |
             awk '/=> \// {print $1, $3}' | grep -vE "$base_re" |
             awk -v p="$prefix" 'index($2, p) != 1 {print $2}' | sort -u)
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sed '/^$/d' | sed 's/:.*//' | sort -u)
  (( ${#missing[@]} )) || break
  log "round $round: adding runtime packages ${missing[*]}"
  fetch "${missing[@]}"
done

# The names Debian's alternatives would make (dpkg -x runs no maintainer scripts).
for tool in mpirun mpiexec; do
  [[ -e "$prefix/usr/bin/$tool.openmpi" ]] && ln -sf "$tool.openmpi" "$prefix/usr/bin/$tool"
done

# Prune what neither the build nor the run reads.
rm -rf "$prefix"/usr/share/{doc,man,info,lintian,locale,bash-completion,javascript} \
  "$prefix"/usr/src "$prefix"/usr/share/openmpi/amca-param-sets
# Static libraries, except those a CMake package file names (its targets must exist).
cmake_refs=$(find "$prefix" -name '*.cmake' -print0 | xargs -0 cat | grep -o 'lib[A-Za-z0-9_+-]*\.a' | sort -u || true)
find "$prefix" -name '*.a' -print0 | while IFS= read -r -d '' a; do
  grep -qx "$(basename "$a")" <<<"$cmake_refs" || rm -f "$a"
done
# ICU and OpenSSL headers: only those hesp's sources include, and what they include.
prune_headers() {  # prune_headers DIR HEADER...: keep HEADERs of include/DIR and their closure
  local dir="$1"; shift
  printf '#include <%s>\n' "$@" >"$work/headers.c"
  local keep
  keep=$(gcc -M -I"$prefix/usr/include" -I"$prefix/usr/include/x86_64-linux-gnu" \
    "$work/headers.c" | tr ' \\' '\n\n' | grep -E "$prefix/usr/include/(x86_64-linux-gnu/)?$dir/" |
    sed -E "s|.*/include/(x86_64-linux-gnu/)?||" | sort -u)
  (cd "$prefix/usr/include" && find "$dir" x86_64-linux-gnu/"$dir" -name '*.h' 2>/dev/null || true) |
    while read -r h; do
      grep -qx "${h#x86_64-linux-gnu/}" <<<"$keep" || rm -f "$prefix/usr/include/$h"
    done
}
prune_headers unicode unicode/uchar.h unicode/ustring.h unicode/utf16.h
prune_headers openssl openssl/evp.h
# Keep one flavour of HDF5 (serial) and drop the Fortran and C++ wrappers.
find "$prefix" \( -name 'libhdf5*fortran*' -o -name 'libhdf5*cpp*' -o -name '*.mod' \) -delete
# OpenMPI's Java and Fortran bindings.
find "$prefix" \( -name 'libmpi_mpifh*' -o -name 'libmpi_usempi*' -o -name 'mpi.jar' \
  -o -name 'libmpi_java*' -o -name 'libmpi_cxx*' \) -delete

rm -rf "$out"
mkdir -p "$out/fixtures/hesp_step" "$out/demo"
log "packing the prefix"
tar -C "$prefix" -cf - usr etc 2>/dev/null | xz -T2 -9 >"$out/deps.tar.xz"
if (( keep_debs )); then mkdir -p "$out/debs" && cp "$debs"/*.deb "$out/debs/"; fi
ls "$debs" | sed 's/_amd64\.deb$//;s/_all\.deb$//' >"$out/packages.txt"

# Fixtures that live beside the repository (../shared): copy what the device reads.
if [[ -f "$shared/fixtures/hesp_step/hesp_step_a.h5" ]]; then
  cp "$shared/fixtures/hesp_step/hesp_step_a.h5" "$shared/fixtures/hesp_step/README.md" \
    "$out/fixtures/hesp_step/"
else
  log "no $shared/fixtures/hesp_step: the device's 'hesp step' check will be skipped"
fi

# The demo dataset, made as launch/demo.sh makes it.
if [[ -x "$pack" ]]; then
  log "packing the demo dataset with $pack"
  # Smaller than launch/demo.sh's (8 clips per class, 64 px), to fit the carry limit.
  "$pack" synth --layout afew --out "$work/synth" --clips-per-class 8 --frames 8 --size 64 \
    --seed 7 >/dev/null
  "$pack" convert --format afew --root "$work/synth" --output "$out/demo/packed" \
    --frames-per-clip 8 --size 64 --shard-size-mb 4 >/dev/null
else
  log "no $pack: build hesp-pack first for the demo data (the training checks need it)"
fi

{
  echo "# sizes in bytes (device carry limit: 64 MiB = 67108864, working tree included)"
  echo "prefix_unpacked $(du -sb "$prefix" | cut -f1)"
  echo "deps.tar.xz $(stat -c %s "$out/deps.tar.xz")"
  echo "fixtures $(du -sb "$out/fixtures" | cut -f1)"
  echo "demo $(du -sb "$out/demo" | cut -f1)"
  echo "total_carried $(du -sb --exclude=debs "$out" | cut -f1)"
  echo "tracked_tree $(cd "$root" && git ls-files -z | xargs -0 stat -c %s 2>/dev/null | paste -sd+ | bc)"
  echo "packages $(wc -l <"$out/packages.txt")"
} >"$out/sizes.txt"
cat "$out/sizes.txt"
log "done: $out (carry it as .gpu)"
