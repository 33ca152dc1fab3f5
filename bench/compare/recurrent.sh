#!/usr/bin/env bash
# The recurrent benchmarks side by side: `nabla bench --mode lstm_train|gru_train|ctc` and
# bench/compare/torch_recurrent.py, each pinned to one core (1 thread) and to two cores (2 threads)
# with taskset, then a table of the ratios Nabla / PyTorch.
#
#   bench/compare/recurrent.sh [--nabla CMD] [--python PY] [--data DIR] [--quick] [--out DIR] [--modes "lstm_train gru_train ctc"]
#                              [--torch-steps N]   (fewer PyTorch training steps per repeat, for a loaded machine)
#                              [--repeats R]       (R interleaved rounds of PyTorch, then Nabla; the table gives medians)
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
REPEATS=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --nabla) NABLA=$2; shift 2 ;;
    --python) PY=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    --quick) QUICK=(--quick); shift ;;
    --out) OUT=$2; shift 2 ;;
    --modes) MODES=$2; shift 2 ;;
    --torch-steps) TORCH_STEPS=(--train-steps "$2"); shift 2 ;;
    --repeats) REPEATS=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[[ -d $DATA ]] || DATA=data/mnist10k
source bench/compare/require-openblas.sh
mkdir -p "$OUT"
# Rounds interleave the two sides (PyTorch, Nabla, PyTorch, Nabla…) so that a change of the machine's
# load hits both; each figure is the median over the rounds.
for r in $(seq 1 "$REPEATS"); do
  for mode in $MODES; do
    for t in 1 2; do
      cores=$([[ $t == 1 ]] && echo 0 || echo 0,1)
      echo "== round $r: $mode, $t thread(s) on cores $cores (load $(cut -d' ' -f1 /proc/loadavg))"
      # Passive OpenMP waiting: on a shared machine spinning PyTorch threads burn the time slices they wait for.
      OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t MKL_NUM_THREADS=$t taskset -c "$cores" "$PY" bench/compare/torch_recurrent.py \
        --mode "$mode" --threads "$t" --data "$DATA" "${QUICK[@]}" "${TORCH_STEPS[@]}" >"$OUT/torch-$mode-$t-r$r.json"
      # Tier-up without the 100 ms quiet period: on a loaded core that period keeps restarting and the
      # hot loops stay in unoptimised tier-0 code for the whole run (CTC measured 3-5x slower so).
      DOTNET_TC_CallCountingDelayMs=0 taskset -c "$cores" "$NABLA" bench --mode "$mode" --threads "$t" --data "$DATA" "${QUICK[@]}" --json "$OUT/nabla-$mode-$t-r$r.json" >/dev/null
    done
  done
done
"$PY" - "$OUT" <<'PYEOF'
import glob, json, os, re, statistics, sys
out = sys.argv[1]
runs = {}  # (side, mode, threads) -> [result rows over the rounds]
loads, machine, reference = [], None, None
for path in sorted(glob.glob(os.path.join(out, "*-r*.json"))):
    side, mode, threads = re.match(r"(nabla|torch)-(\w+?)-(\d)-r\d+\.json", os.path.basename(path)).groups()
    doc = json.load(open(path))
    machine = doc["machine"] if side == "nabla" else machine
    reference = doc.get("reference", reference)
    loads += [doc.get("loadavg_start"), doc.get("loadavg_end")]
    runs.setdefault((side, mode, int(threads)), []).extend(r for r in doc["results"] if r["threads"] == int(threads))
med = lambda rows, key: statistics.median(r[key] for r in rows if r.get(key) is not None)
loads = [l for l in loads if l is not None]
print(f"machine: {machine}; reference {reference}; load {min(loads):.1f}-{max(loads):.1f}; medians of {max(len(v) for v in runs.values())} interleaved rounds")
print("| figure | threads | Nabla | PyTorch | Nabla / PyTorch wall | by CPU time |")
print("|---|---|---|---|---|---|")
for (side, mode, th), n in sorted(runs.items()):
    if side != "nabla" or (("torch", mode, th) not in runs):
        continue
    t = runs[("torch", mode, th)]
    if mode == "ctc":
        cpu = f'{med(t, "cpu_ms_per_call") / med(n, "cpu_ms_per_call"):.2f}x' if all("cpu_ms_per_call" in r for r in n + t) else "-"
        print(f'| ctc | {th} | {med(n, "latency_us") / 1000:.2f} ms ({med(n, "cpu_ms_per_call"):.2f} ms CPU) | '
              f'{med(t, "latency_us") / 1000:.2f} ms ({med(t, "cpu_ms_per_call"):.2f} ms CPU) | {med(t, "latency_us") / med(n, "latency_us"):.2f}x | {cpu} |')
    else:
        print(f'| {mode} | {th} | {med(n, "samples_per_s"):.0f}/s ({med(n, "cpu_ms_per_step"):.1f} ms CPU/step) | '
              f'{med(t, "samples_per_s"):.0f}/s ({med(t, "cpu_ms_per_step"):.1f} ms CPU/step) | '
              f'{med(n, "samples_per_s") / med(t, "samples_per_s"):.2f}x | {med(t, "cpu_ms_per_step") / med(n, "cpu_ms_per_step"):.2f}x |')
PYEOF
