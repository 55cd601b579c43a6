#!/usr/bin/env bash
# A disk that fills up while hesp-pack writes (issue 21): on a real 2 MiB tmpfs,
#  1. convert (jpeg and raw) runs out of space in a shard: exit 1 (never a crash in HDF5's
#     clean-up at exit, which was a segfault, 139), one message naming the file and saying
#     the device is full, no shard or temporary file left visible, no manifest;
#  2. the same with room for the shard but not for what is written after it (its sidecar,
#     the reports, the manifest): exit 1 naming that file, no manifest, no temporary file;
#  3. export (PNG frames and FFV1 videos) into a full disk: exit 1 naming the file.
# Skipped (77) only when mounting a tmpfs is not permitted (not root, no CAP_SYS_ADMIN).
set -uo pipefail
pack="$1"
work=$(mktemp -d)
mnt="$work/mnt"
mkdir -p "$mnt"
cleanup() { umount "$mnt" 2> /dev/null; rm -rf "$work"; }
trap cleanup EXIT
if ! mount -t tmpfs -o size=2m tmpfs "$mnt" 2> "$work/mount.err"; then
  echo "SKIP: cannot mount a tmpfs here ($(cat "$work/mount.err")): the full-disk test needs root"
  exit 77
fi
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# 42 clips of 20 frames, 64x64: ~3.9 MB of JPEG sources, far more than 2 MiB once packed raw.
"$pack" synth --layout afew --out "$work/src" --clips-per-class 4 --frames 20 --size 64 --seed 1 \
  > /dev/null || { echo "FAIL: synth"; exit 1; }

# check_failed LOG RC WHAT: exit 1, one hesp-pack line naming a file under the mount.
check_failed() {
  local log="$1" rc="$2" what="$3"
  [[ $rc -eq 1 ]] || bad "$what: exit $rc, 1 expected (139 = the HDF5 clean-up crash)"
  grep -q "^hesp-pack: .*$mnt/out" "$log" || bad "$what: no message naming the file: $(tail -2 "$log")"
  grep -qiE "no space left|disk full" "$log" || bad "$what: the message does not say the disk is full"
}

# --- 1. a shard does not fit ---
for enc in jpeg raw; do
  "$pack" convert --format afew --root "$work/src" --output "$mnt/out" --size 64 --encoding $enc \
    --threads 1 > "$work/c1.$enc" 2>&1
  check_failed "$work/c1.$enc" $? "convert --encoding $enc"
  leftovers=$(ls -A "$mnt/out" 2> /dev/null)
  [[ -z $leftovers ]] || bad "convert --encoding $enc left files behind: $leftovers"
  rm -rf "$mnt/out"
done

# --- 2. the shard fits, what follows it does not ---
# A small pack measured on a roomy disk; then the tmpfs is filled so that only the shard's
# own pages are left free.
"$pack" synth --layout afew --out "$work/small" --clips-per-class 1 --frames 3 --size 32 --seed 2 \
  > /dev/null || { echo "FAIL: synth small"; exit 1; }
args=(convert --format afew --root "$work/small" --size 32 --encoding raw --threads 1)
"$pack" "${args[@]}" --output "$work/roomy" > /dev/null 2>&1 || { echo "FAIL: roomy convert"; exit 1; }
shard_kib=$(( ($(stat -c %s "$work"/roomy/shard-00000.h5) + 4095) / 4096 * 4 ))
mkdir -p "$mnt/out"
free_kib=$(df -k --output=avail "$mnt" | tail -1 | tr -d ' ')
# One page more: the writable-directory probe's file comes and goes before the shard.
fallocate -l $(( (free_kib - shard_kib - 4) * 1024 )) "$mnt/filler" || { echo "FAIL: fallocate"; exit 1; }
"$pack" "${args[@]}" --output "$mnt/out" > "$work/c2" 2>&1
check_failed "$work/c2" $? "convert with room for the shard only"
[[ -e $mnt/out/manifest.pbtxt ]] && bad "a manifest was written on a full disk"
ls -A "$mnt/out" | grep -qE '\.tmp\.|\.partial$' && bad "temporary files left: $(ls -A "$mnt/out")"
rm -rf "$mnt/out" "$mnt/filler"

# --- 3. export into a full disk ---
for as in frames video; do
  fallocate -l $(( ($(df -k --output=avail "$mnt" | tail -1 | tr -d ' ') - 8) * 1024 )) "$mnt/filler"
  "$pack" export "$work/roomy" --as $as --out "$mnt/out" > "$work/e.$as" 2>&1
  check_failed "$work/e.$as" $? "export --as $as"
  rm -rf "$mnt/out" "$mnt/filler"
done

[[ $fail -eq 0 ]] && echo "disk full test: OK"
exit $fail
