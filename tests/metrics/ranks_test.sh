#!/usr/bin/env bash
# One and two ranks write the same result.json metrics on a run with tied scores: the
# demo clip_zeroshot run (msp score) with a tiny random CLIP whose logit scale is so large
# that the softmax of most clips saturates to exactly 1, so right, wrong and unknown clips
# tie at the top. The test first checks that the run has such ties (a score shared by a
# right and a wrong known clip), then that every metric is identical, and that `hesp metrics`
# gives the same numbers from the clips' scores in their order and reversed.
# Skips (77) when mpirun is absent.
set -uo pipefail
hesp="$1"; pack="$2"; src="$3"; mpirun="${4:-}"
[[ -n "$mpirun" ]] && command -v "$mpirun" > /dev/null || { echo "mpirun not found: skipping"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bash "$src/tests/sweep/make_demo_data.sh" "$pack" "$work/data" || { echo "FAIL: data"; exit 1; }
"$hesp" clip init --arch tiny --seed 0 --out "$work/clip.safetensors" > /dev/null || { echo "FAIL: clip init"; exit 1; }
# logit_scale (stored as its log) = 12: logits are e^12 ~ 1.6e5 times the cosine.
python3 - "$work/clip.safetensors" <<'PY' || { echo "FAIL: could not set logit_scale"; exit 1; }
import json, struct, sys
path = sys.argv[1]
with open(path, "r+b") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    entry = json.loads(f.read(n))["logit_scale"]
    fmt = {"F32": "<f", "F64": "<d"}[entry["dtype"]]
    f.seek(8 + n + entry["data_offsets"][0])
    f.write(struct.pack(fmt, 12.0))
PY
sets=(--set "data.manifests=[\"$work/data/afew\"]" --set "model.clip_weights=$work/clip.safetensors")
fail=0
for np in 1 2; do
  OMP_NUM_THREADS=1 "$mpirun" --allow-run-as-root --oversubscribe --bind-to none -np "$np" \
    -x OMP_NUM_THREADS "$hesp" train --config "$src/configs/demo/clip_zeroshot.pbtxt" \
    --run-dir "$work/np$np" "${sets[@]}" > "$work/np$np.log" 2>&1 ||
    { echo "FAIL: the run on $np rank(s)"; tail -20 "$work/np$np.log"; exit 1; }
done
ties=$(python3 - "$work/np1/result.json" <<'PY'
import collections, json, sys
r = json.load(open(sys.argv[1]))
assert r["metrics"]["score"] == "msp", r["metrics"]["score"]
groups = collections.defaultdict(set)
for c in r["clips"]:
    kind = "unknown" if c["label"] < 0 or c["label"] >= r["metrics"]["num_known_classes"] else \
        ("right" if c["prediction"] == c["label"] else "wrong")
    groups[c["score"]].add(kind)
print(sum(1 for kinds in groups.values() if {"right", "wrong"} <= kinds))
PY
)
echo "scores shared by a right and a wrong known clip: $ties"
[[ "${ties:-0}" -ge 1 ]] || { echo "FAIL: the run has no tied right/wrong scores; the test checks nothing"; fail=1; }
if cmp -s <(jq -S .metrics "$work/np1/result.json") <(jq -S .metrics "$work/np2/result.json"); then
  echo "ok: 1 and 2 ranks give identical metrics: $(jq -c '{auroc: .metrics.auroc, oscr: .metrics.oscr}' "$work/np1/result.json")"
else
  echo "FAIL: 1 and 2 ranks differ"
  diff <(jq -S .metrics "$work/np1/result.json") <(jq -S .metrics "$work/np2/result.json")
  fail=1
fi
# The same clips re-evaluated by `hesp metrics` in their order and reversed (one logit row
# per clip whose max is its score, at its prediction): the metrics of result.json again,
# whatever the order of the rows.
python3 - "$work/np1/result.json" "$work" <<'PY' || { echo "FAIL: could not write the scores files"; exit 1; }
import json, sys
r = json.load(open(sys.argv[1]))
k = r["metrics"]["num_known_classes"]
def row(c):
    x = [c["score"] - 1.0] * k
    x[c["prediction"]] = c["score"]
    return x
for name, clips in (("forward", r["clips"]), ("reversed", r["clips"][::-1])):
    known = [c for c in clips if 0 <= c["label"] < k]
    unknown = [c for c in clips if not 0 <= c["label"] < k]
    json.dump({"known_logits": [row(c) for c in known], "known_labels": [c["label"] for c in known],
               "unknown_logits": [row(c) for c in unknown]}, open("%s/%s.json" % (sys.argv[2], name), "w"))
PY
want=$(jq -c '[.metrics.auroc, .metrics.oscr, .metrics.tnr_at_95tpr]' "$work/np1/result.json")
for name in forward reversed; do
  got=$("$hesp" metrics --input "$work/$name.json" | jq -c '[.auroc, .oscr, .tnr_at_95tpr]')
  if [[ "$got" == "$want" ]]; then
    echo "ok: hesp metrics on the clips $name: $got"
  else
    echo "FAIL: hesp metrics on the clips $name: $got, result.json: $want"; fail=1
  fi
done
exit $fail
