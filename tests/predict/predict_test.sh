#!/usr/bin/env bash
# hesp predict on a finished run (docs/predict.md):
#  1. the run's own test clips through the packed dataset, PNG frame folders (a list
#     file of them) and lossless AVI videos (hesp-pack export) get the class and score
#     that the evaluation wrote to result.json, and P_H, the threshold and the box;
#  2. CSV output has a row per clip and a column per known class;
#  3. bad inputs (missing path, folder without frames, unreadable video, an empty list)
#     are named on one line each, the other inputs are still predicted, exit 1;
#  4. runs that cannot predict (training not finished, no finished checkpoint, a
#     checkpoint of another config, weights that are not CLIP's) are refused by name;
#  5. clip_zeroshot (no checkpoint) predicts too; under mpirun -np 2 rank 0 writes every
#     clip, in input order, with the single-process results.
set -uo pipefail
hesp="$1"; pack="$2"; mpirun="${3:-}"; src="$4"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
fail=0
die() { echo "FAIL: $*"; exit 1; }

# --- a small dataset, a tiny CLIP, two finished runs ---
"$pack" synth --layout afew --out "$work/synth" --clips-per-class 3 --frames 9 --size 72 --seed 7 \
  > /dev/null || die "synth"
"$pack" convert --format afew --root "$work/synth" --output "$work/packed" --frames-per-clip 6 \
  --size 72 --threads 1 > /dev/null 2>&1 || die "convert"
"$hesp" clip init --arch tiny --seed 0 --out "$work/clip.safetensors" > /dev/null || die "clip init"
sets=(--set "data.manifests=[\"$work/packed\"]" --set "model.clip_weights=$work/clip.safetensors"
      --set "schedule={kind: custom epochs: 2}" --set "checkpoint.every_epochs=1"
      --set "eval.batch_size=5")
for method in hesp clip_zeroshot; do
  "$hesp" --threads 1 train --config "$src/configs/demo/$method.pbtxt" --run-dir "$work/$method" \
    "${sets[@]}" > "$work/train_$method.log" 2>&1 || { tail -20 "$work/train_$method.log"; die "train $method"; }
done
run="$work/hesp"

# --- 1. the three input kinds give the evaluation's per-clip results ---
"$pack" export "$work/packed" --split Val_AFEW --as frames --out "$work/frames" > /dev/null || die "export frames"
"$pack" export "$work/packed" --split Val_AFEW --as video --out "$work/videos" > /dev/null || die "export videos"
predict() { "$hesp" --threads 1 predict "$@"; }
predict --run "$run" "$work/packed" --split Val_AFEW --output "$work/p_packed.jsonl" 2> "$work/e1" \
  || { cat "$work/e1"; fail=1; echo "FAIL: predict packed"; }
predict --run "$run" "$work/frames/clips.txt" --output "$work/p_frames.jsonl" --batch-size 3 2> "$work/e2" \
  || { cat "$work/e2"; fail=1; echo "FAIL: predict frames"; }
mapfile -t videos < <(sed "s|^|$work/videos/|" "$work/videos/clips.txt")
predict --run "$run" "${videos[@]}" --output "$work/p_videos.jsonl" 2> "$work/e3" \
  || { cat "$work/e3"; fail=1; echo "FAIL: predict videos"; }
compare() {  # compare PREDICTIONS ID_MAP(or -) RESULT
  python3 - "$@" <<'PY'
import json, sys, math, os
preds, idmap, result = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
names = {}
if idmap != "-":
    for line in open(idmap):
        path, cid = line.rstrip("\n").split("\t")
        names[path] = cid
want = {c["clip_id"]: c for c in result["clips"]}
known = result["known_classes"]; t = result["metrics"]["threshold"]
rows = [json.loads(l) for l in open(preds)]
bad = 0
if len(rows) != len(want):
    print(f"{preds}: {len(rows)} predictions, {len(want)} test clips"); bad = 1
for r in rows:
    cid = r["clip_id"] if idmap == "-" else names[os.path.basename(r["clip_id"].rstrip("/"))]
    w = want[cid]
    ok = (r["class_index"] == w["prediction"] and r["class"] == known[w["prediction"]]
          and math.isclose(r["score"], w["score"], rel_tol=1e-5, abs_tol=1e-5)
          and r["threshold"] == t and r["unknown"] == (r["score"] < t)
          and r["prediction"] == ("unknown" if r["unknown"] else r["class"])
          and abs(sum(r["probabilities"].values()) - 1) < 1e-6
          and sorted(r["probabilities"]) == sorted(known)
          and r["box"] is not None and r["box"]["size"] == 16)
    if not ok:
        print(f"{preds}: clip {cid}: {r} but the evaluation has {w}"); bad = 1
sys.exit(bad)
PY
}
compare "$work/p_packed.jsonl" - "$run/result.json" || { fail=1; echo "FAIL: packed != evaluation"; }
compare "$work/p_frames.jsonl" "$work/frames/clip_ids.tsv" "$run/result.json" \
  || { fail=1; echo "FAIL: frame folders != evaluation"; }
compare "$work/p_videos.jsonl" "$work/videos/clip_ids.tsv" "$run/result.json" \
  || { fail=1; echo "FAIL: videos != evaluation"; }

# --- 2. CSV ---
predict --run "$run" "$work/packed" --split Val_AFEW --output "$work/p.csv" 2> /dev/null || { fail=1; echo "FAIL: csv"; }
n_test=$(jq '.clips | length' "$run/result.json")
[[ $(wc -l < "$work/p.csv") -eq $((n_test + 1)) ]] || { fail=1; echo "FAIL: csv rows"; }
head -1 "$work/p.csv" | grep -q "^input,clip_id,prediction,class,score,threshold,box_top,box_left,box_size,p_" \
  || { fail=1; echo "FAIL: csv header: $(head -1 "$work/p.csv")"; }

# --- 3. bad inputs: named, the others predicted, exit 1 ---
mkdir -p "$work/bad/empty_folder"
head -c 600 "${videos[0]}" > "$work/bad/truncated.avi"
: > "$work/bad/empty_list.txt"
predict --run "$run" "$work/bad/missing.mp4" "$work/bad/empty_folder" "$work/bad/truncated.avi" \
  "$work/bad/empty_list.txt" "${videos[0]}" "$work/frames/clips.txt" \
  --output "$work/p_bad.jsonl" 2> "$work/e_bad"; rc=$?
[[ $rc -eq 1 ]] || { fail=1; echo "FAIL: bad inputs exit $rc, 1 expected"; }
for name in missing.mp4 empty_folder truncated.avi empty_list.txt; do
  [[ $(grep -c "^error: .*$name" "$work/e_bad") -eq 1 ]] || { fail=1; echo "FAIL: $name not named once:"; cat "$work/e_bad"; }
done
[[ $(wc -l < "$work/p_bad.jsonl") -eq $((n_test + 1)) ]] || { fail=1; echo "FAIL: the good inputs were not all predicted"; }

# --- 4. runs that cannot predict ---
refused() {  # refused PATTERN ARGS...
  local pattern="$1"; shift
  predict "$@" "${videos[0]}" > /dev/null 2> "$work/e_run" && { fail=1; echo "FAIL: accepted $*"; return; }
  grep -q "$pattern" "$work/e_run" || { fail=1; echo "FAIL: '$pattern' not in:"; cat "$work/e_run"; }
}
cp -r "$run" "$work/unfinished"; rm "$work/unfinished/result.json"
refused "has not finished training" --run "$work/unfinished"
cp -r "$run" "$work/no_final"; rm "$work/no_final"/checkpoints/ckpt-000002-*
refused "has no finished checkpoint" --run "$work/no_final"
"$hesp" --threads 1 train --config "$src/configs/demo/hesp.pbtxt" --run-dir "$work/other" "${sets[@]}" \
  --set "prompts.visual.size=8" > /dev/null 2>&1 || die "train other"
refused "belongs to another config" --run "$run" --checkpoint "$(ls "$work"/other/checkpoints/*.hespckpt | tail -1)"
refused "$work/result-as-weights" --run "$run" --weights "$work/result-as-weights"  # missing file
cp "$run/result.json" "$work/not-clip.pt"
refused "not-clip.pt" --run "$run" --weights "$work/not-clip.pt"

# --- 5. clip_zeroshot; mpirun ---
predict --run "$work/clip_zeroshot" "$work/packed" --split Val_AFEW --output "$work/p_zs.jsonl" 2> "$work/e5" \
  || { cat "$work/e5"; fail=1; echo "FAIL: clip_zeroshot predict"; }
python3 - "$work/p_zs.jsonl" "$work/clip_zeroshot/result.json" <<'PY' || { fail=1; echo "FAIL: clip_zeroshot != evaluation"; }
import json, sys, math
want = {c["clip_id"]: c for c in json.load(open(sys.argv[2]))["clips"]}
rows = [json.loads(l) for l in open(sys.argv[1])]
bad = len(rows) != len(want)
for r in rows:
    w = want[r["clip_id"]]
    if r["class_index"] != w["prediction"] or not math.isclose(r["score"], w["score"], rel_tol=1e-6, abs_tol=1e-7) or r["box"] is not None:
        print(r, w); bad = True
sys.exit(1 if bad else 0)
PY
if [[ -n "$mpirun" ]] && command -v "$mpirun" > /dev/null; then
  "$mpirun" --allow-run-as-root --oversubscribe --bind-to none -np 2 -x OMP_NUM_THREADS \
    "$hesp" --threads 1 predict --run "$run" "$work/frames/clips.txt" --batch-size 3 \
    --output "$work/p_mpi.jsonl" > /dev/null 2>&1 || { fail=1; echo "FAIL: mpirun predict"; }
  # The same clips in the same order with the same results (scores to float precision:
  # the ranks' batches hold other clips).
  python3 - "$work/p_mpi.jsonl" "$work/p_frames.jsonl" <<'PY' || { fail=1; echo "FAIL: mpirun output differs"; }
import json, sys, math
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
ok = len(a) == len(b) and all(
    x["clip_id"] == y["clip_id"] and x["prediction"] == y["prediction"] and x["box"] == y["box"]
    and math.isclose(x["score"], y["score"], rel_tol=1e-5, abs_tol=1e-5) for x, y in zip(a, b))
sys.exit(0 if ok else 1)
PY
else
  echo "mpirun not found: the two-rank check is skipped"
fi
# --- 6. names and containers people have (issue 21, docs/predict.md) ---
# A Latin-1 name (not UTF-8) is predicted and written escaped (\xNN, backslashes doubled,
# "escaped": true) so that its bytes are recoverable; a name with a comma and quotes
# survives the CSV; .3gp/.MTS/.wmv/.flv videos are videos by content, never text lists.
mkdir -p "$work/in"
latin="$work/in/$(printf 'caf\xe9 1\\x.avi')"
quoted="$work/in/happy, take \"2\".avi"
cp "${videos[0]}" "$latin" && cp "${videos[0]}" "$quoted" || die "copy inputs"
predict --run "$run" "$latin" "$quoted" --output "$work/p6.jsonl" 2> "$work/e6" \
  || { cat "$work/e6"; fail=1; echo "FAIL: predict on a Latin-1 name"; }
predict --run "$run" "$latin" "$quoted" --output "$work/p6.csv" 2> "$work/e6c" \
  || { cat "$work/e6c"; fail=1; echo "FAIL: predict on a Latin-1 name (csv)"; }
python3 - "$work/p6.jsonl" "$work/p6.csv" "$latin" "$quoted" <<'PY' || { fail=1; echo "FAIL: names not carried"; }
import csv, json, os, re, sys
def unescape(s):
    out, i, b = bytearray(), 0, s.encode("utf-8")
    while i < len(b):
        if b[i:i + 2] == b"\\\\": out += b"\\"; i += 2
        elif b[i:i + 2] == b"\\x": out.append(int(b[i + 2:i + 4], 16)); i += 4
        else: out.append(b[i]); i += 1
    return bytes(out)
latin, quoted = os.fsencode(sys.argv[3]), sys.argv[4]
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
bad = len(rows) != 2
bad |= not (rows[0].get("escaped") is True and unescape(rows[0]["input"]) == latin)
bad |= not ("escaped" not in rows[1] and rows[1]["input"] == quoted)
table = list(csv.reader(open(sys.argv[2], newline="", encoding="utf-8")))
bad |= len(table) != 3 or any(len(r) != len(table[0]) for r in table)
bad |= unescape(table[1][0]) != latin or table[2][0] != quoted
if bad: print(rows, table)
sys.exit(1 if bad else 0)
PY
if command -v ffmpeg > /dev/null; then
  t="testsrc=s=176x144:d=0.8:r=10"
  ffmpeg -loglevel error -f lavfi -i "$t" -c:v h263 -f 3gp "$work/in/phone.3gp" &&
    ffmpeg -loglevel error -f lavfi -i "$t" -c:v mpeg2video -f mpegts "$work/in/cam.MTS" &&
    ffmpeg -loglevel error -f lavfi -i "$t" -c:v wmv2 -f asf "$work/in/old.wmv" &&
    ffmpeg -loglevel error -f lavfi -i "$t" -c:v flv1 -f flv "$work/in/clip.flv" || die "ffmpeg"
  predict --run "$run" "$work/in/phone.3gp" "$work/in/cam.MTS" "$work/in/old.wmv" \
    "$work/in/clip.flv" --output "$work/p7.jsonl" 2> "$work/e7" \
    || { cat "$work/e7"; fail=1; echo "FAIL: containers by content"; }
  [[ $(wc -l < "$work/p7.jsonl") -eq 4 ]] || { fail=1; echo "FAIL: not 4 container predictions"; }
else
  echo "ffmpeg not found (apt-get install ffmpeg): the container check is skipped"
fi
[[ $fail -eq 0 ]] && echo "predict test: OK"
exit $fail
