#!/usr/bin/env bash
# The recurrent benchmarks side by side: `nabla bench --mode lstm_train|gru_train|ctc` and
# bench/compare/torch_recurrent.py, each pinned to one core (1 thread) and to two cores (2 threads)
# with taskset, then a table of the ratios Nabla / PyTorch.
#
#   bench/compare/recurrent.sh [--nabla CMD] [--python PY] [--data DIR] [--quick] [--out DIR] [--modes "lstm_train gru_train ctc"]
#                              [--torch-steps N]   (fewer PyTorch training steps per repeat, for a loaded machine)
#
# --nabla defaults to the Release build's src/Nabla.Cli/bin/Release/net10.0/Nabla.Cli (build it first),
# --python to /usr/bin/python3 (Debian's python3-torch), --data to Fashion-MNIST when installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
NABLA=src/Nabla.Cli/bin/Release/net10.0/Nabla.Cli
PY=/usr/bin/python3
DATA=/usr/share/datasets/fashion-mnist
QUICK=()
OUT=bench/compare/out/recurrent-$(date -u +%Y%m%dT%H%M%SZ)
MODES="lstm_train gru_train ctc"
TORCH_STEPS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --nabla) NABLA=$2; shift 2 ;;
    --python) PY=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    --quick) QUICK=(--quick); shift ;;
    --out) OUT=$2; shift 2 ;;
    --modes) MODES=$2; shift 2 ;;
    --torch-steps) TORCH_STEPS=(--train-steps "$2"); shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[[ -d $DATA ]] || DATA=data/mnist10k
mkdir -p "$OUT"
for mode in $MODES; do
  for t in 1 2; do
    cores=$([[ $t == 1 ]] && echo 0 || echo 0,1)
    echo "== $mode, $t thread(s) on cores $cores"
    OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t MKL_NUM_THREADS=$t taskset -c "$cores" "$PY" bench/compare/torch_recurrent.py \
      --mode "$mode" --threads "$t" --data "$DATA" "${QUICK[@]}" "${TORCH_STEPS[@]}" >"$OUT/torch-$mode-$t.json"
    taskset -c "$cores" "$NABLA" bench --mode "$mode" --threads "$t" --data "$DATA" "${QUICK[@]}" --json "$OUT/nabla-$mode-$t.json" >/dev/null
  done
done
"$PY" - "$OUT" <<'PYEOF'
import glob, json, os, sys
out = sys.argv[1]
rows = []
for path in sorted(glob.glob(os.path.join(out, "nabla-*.json"))):
    n = json.load(open(path))
    t = json.load(open(path.replace("nabla-", "torch-")))
    for r in n["results"]:
        ref = next(x for x in t["results"] if x["name"] == r["name"] and x["threads"] == r["threads"])
        if r["name"] == "ctc":
            rows.append((r["name"], r["threads"], f'{r["latency_us"]:.0f} µs', f'{ref["latency_us"]:.0f} µs', ref["latency_us"] / r["latency_us"]))
        else:
            rows.append((r["name"], r["threads"], f'{r["samples_per_s"]:.0f}/s ({r["cpu_ms_per_step"]:.1f} ms CPU/step)',
                         f'{ref["samples_per_s"]:.0f}/s ({ref["cpu_ms_per_step"]:.1f} ms CPU/step)', r["samples_per_s"] / ref["samples_per_s"]))
print(f'machine: {n["machine"]}; reference {t.get("reference")}; load {t.get("loadavg_start")}')
print("| figure | threads | Nabla | PyTorch | Nabla / PyTorch (speed) |")
print("|---|---|---|---|---|")
for name, th, a, b, ratio in rows:
    print(f"| {name} | {th} | {a} | {b} | {ratio:.2f}x |")
PYEOF
