#!/usr/bin/env bash
# A run directory written by hesp before the layer split (issue 22; one library per part,
# typed RunResult) still resumes, predicts and reports.
#   tests/data/compat/run_before_layers.tar.gz, made with the build of main at 9912d6b:
#     packed/              hesp-pack synth --layout afew --clips-per-class 3 --frames 9
#                          --size 72 --seed 7, then convert --frames-per-clip 6 --size 72
#     run_part/            configs/demo/hesp.pbtxt, 2 epochs, stopped after epoch 1
#                          (--max-epochs-this-run 1, exit 75): config, checkpoint, metrics
#     full_result.json     the same run uninterrupted: its result.json (no schema_version)
#     full_metrics.jsonl   and its metrics.jsonl
#   The tiny CLIP is made again here (clip init is deterministic); the packed data is
#   shipped because HDF5 shards are not byte-identical between packs.
# 1. the new build resumes run_part (data and weights now at other paths: identity by
#    content) and ends with the uninterrupted run's numbers, clip for clip;
# 2. predict with the old result.json (version 1) and the old checkpoint gives the
#    evaluation's class for every test clip;
# 3. report and summary read the old result.json.
set -uo pipefail
hesp="$1"; src="$2"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
die() { echo "FAIL: $*"; exit 1; }
tar -C "$work" -xzf "$src/tests/data/compat/run_before_layers.tar.gz" || die "unpack the fixture"
"$hesp" clip init --arch tiny --seed 0 --out "$work/clip.safetensors" > /dev/null || die "clip init"
sets=(--set "data.manifests=[\"$work/packed\"]" --set "model.clip_weights=$work/clip.safetensors"
      --set "schedule={kind: custom epochs: 2}" --set "checkpoint.every_epochs=1"
      --set "eval.batch_size=5")

# --- 1. resume ---
run="$work/run_part"
"$hesp" --threads 1 train --config "$src/configs/demo/hesp.pbtxt" --run-dir "$run" "${sets[@]}" \
  > "$work/resume.log" 2>&1 || { tail -20 "$work/resume.log"; die "resume the old run"; }
grep -q "resum" "$work/resume.log" || { tail -20 "$work/resume.log"; die "the run did not resume"; }
python3 - "$run/result.json" "$work/full_result.json" <<'PY' || die "the resumed run's result differs"
import json, sys
new, old = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert new.get("schema_version") == 2, new.get("schema_version")
bad = [k for k in ("metrics", "clips", "train_scores", "known_classes", "unknown_classes",
                   "openness", "selection", "protocol", "config_identity",
                   "manifest_fingerprint", "clip_weights_sha256")
       if new.get(k) != old.get(k)]
for k in bad:
    print(f"{k}: resumed {json.dumps(new.get(k))[:200]} != uninterrupted {json.dumps(old.get(k))[:200]}")
sys.exit(1 if bad else 0)
PY

# --- 2. predict with the old result.json (no schema_version) ---
cp "$work/full_result.json" "$run/result.json"
"$hesp" --threads 1 predict --run "$run" "$work/packed" --split Val_AFEW --output "$work/p.jsonl" \
  2> "$work/predict.err" || { cat "$work/predict.err"; die "predict on the old result.json"; }
python3 - "$work/p.jsonl" "$run/result.json" <<'PY' || die "predict disagrees with the evaluation"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
want = {c["clip_id"]: c for c in json.load(open(sys.argv[2]))["clips"]}
assert len(rows) == len(want), (len(rows), len(want))
bad = [r["clip_id"] for r in rows if r["class_index"] != want[r["clip_id"]]["prediction"]
       or abs(r["score"] - want[r["clip_id"]]["score"]) > 1e-4]
print("\n".join(f"{c}: predicted otherwise" for c in bad))
sys.exit(1 if bad else 0)
PY

# --- 3. summary and report read it ---
"$hesp" summary "$run" > "$work/summary.txt" 2>&1 || { cat "$work/summary.txt"; die "summary"; }
grep -q "hesp" "$work/summary.txt" || { cat "$work/summary.txt"; die "summary names no run"; }
layout=$(python3 -c "
import json; r = json.load(open('$run/result.json'))
print(f\"{len(r['known_classes'])}-{len(r['unknown_classes'])}\")")
mkdir -p "$work/sweep/afew/hesp/$layout/split1" && cp "$run/result.json" "$work/sweep/afew/hesp/$layout/split1/"
"$hesp" report "$work/sweep" --out "$work/report" --format md > "$work/report.log" 2>&1 \
  || { cat "$work/report.log"; die "report on the old result.json"; }
ls "$work/report"/*.md > /dev/null 2>&1 || die "report wrote no table"
echo "old run directory: resumed to the uninterrupted run's numbers, predicted, reported"
