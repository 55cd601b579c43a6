#!/usr/bin/env bash
# The paper's ablation sweeps (configs/sweeps/ablations/) plan the paper's rows: every
# config parses and validates, each (setting, split) gets one run per configuration
# (Table 5's "Baseline 2" row is clip_arpl alone, its other rows hesp), and the
# configurations are those of Tables 5-6 and Fig. 3 (a)-(c). A variant restricted to a
# method the sweep does not train is a config error (exit 2) naming it.
set -uo pipefail
hesp="$1"; src="$2"
export HESP_DATA=/nonexistent HESP_CLIP_WEIGHTS=/nonexistent/clip.pt
fail=0
dirs() {  # the "<method>" folders of a plan, in first-seen order
  "$hesp" sweep --config "$src/configs/sweeps/ablations/$1.pbtxt" --list --skip-data-check \
    | awk '{ split($2, p, "/"); print p[2] }' | awk '!seen[$0]++' | tr '\n' ' '
}
count() { "$hesp" sweep --config "$src/configs/sweeps/ablations/$1.pbtxt" --list --skip-data-check | wc -l; }
check() {  # config runs "dirs"
  local n d
  n=$(count "$1"); d=$(dirs "$1")
  [[ "$n" -eq "$2" ]] || { echo "FAIL: $1 plans $n runs, $2 expected"; fail=1; }
  [[ "$d" == "$3 " ]] || { echo "FAIL: $1 rows '$d', expected '$3'"; fail=1; }
}
# 2 settings (AFEW 5:2, MAFW 8:3) x 5 reference splits x configurations.
check table5_modules 30 "clip_arpl-baseline2 hesp-text hesp-text_visual"
check table6_losses 40 "hesp-kn_ce hesp-supcon hesp-ne_ce hesp-neg_clip"
check fig3a_negative_text 20 "hesp-fixed hesp-learnable"
check fig3b_visual_prompt 30 "hesp-cam hesp-padding hesp-random_patch"
check fig3c_prompt_size 40 "hesp-vp14 hesp-vp28 hesp-vp56 hesp-vp112"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
sed 's/methods: \[clip_arpl, hesp\]/methods: [hesp]/' \
  "$src/configs/sweeps/ablations/table5_modules.pbtxt" > "$work/bad.pbtxt"
sed -i "s#\.\./\.\./#$src/configs/#g" "$work/bad.pbtxt"
"$hesp" sweep --config "$work/bad.pbtxt" --list --skip-data-check > /dev/null 2> "$work/err"; rc=$?
[[ $rc -eq 2 ]] && grep -q "variant baseline2: method clip_arpl is not among the sweep's methods" "$work/err" \
  || { echo "FAIL: a variant for a missing method: exit $rc"; cat "$work/err"; fail=1; }
[[ $fail -eq 0 ]] && echo "ablation plans: OK"
exit $fail
