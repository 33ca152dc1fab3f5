#!/usr/bin/env bash
# Runs `nabla bench` and the same workloads in PyTorch and NumPy (OpenBLAS) on this machine, with
# the same threads and data, and prints every figure side by side with its ratio Nabla / reference.
#
#   bench/compare/run.sh [--runs N] [--threads 1,2] [--data DIR] [--optimizer sgd|adam] [--quick] [--out DIR]
#
# --runs N repeats the whole comparison N times (default 3) and the table quotes medians: these
# machines are shared and noisy. The reference is run at every thread setting that fits the
# thread budget (torch.set_num_threads × OPENBLAS_NUM_THREADS: 1×1, 2×1, 1×2, 2×2) and the best
# figure counts. Results land in --out (default bench/compare/out/DATE) and the table in table.md.
set -euo pipefail
cd "$(dirname "$0")/../.."

RUNS=3
THREADS=1,2
DATA=/usr/share/datasets/fashion-mnist
OPT=""
QUICK=()
OUT=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) RUNS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    --optimizer) OPT=$2; shift 2 ;;
    --quick) QUICK=(--quick); shift ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
OUT=${OUT:-bench/compare/out/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"

# Debian's interpreter: its dist-packages hold python3-torch (a pyenv python3 earlier on PATH does not).
PY=/usr/bin/python3

# --- install what is missing -------------------------------------------------------------------
need_install=0
"$PY" -c "import torch, numpy, threadpoolctl" 2>/dev/null || need_install=1
dpkg -s libopenblas0-pthread >/dev/null 2>&1 || need_install=1
[[ -d /usr/share/datasets/fashion-mnist ]] || need_install=1
if [[ $need_install == 1 ]]; then
  echo "== installing python3-torch python3-numpy python3-threadpoolctl libopenblas0-pthread dataset-fashion-mnist"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y python3-torch python3-numpy python3-threadpoolctl \
    libopenblas0-pthread dataset-fashion-mnist
fi
if [[ ! -d $DATA ]]; then
  echo "data folder $DATA not found; using data/mnist10k" >&2
  DATA=data/mnist10k
fi

# --- build Nabla ---------------------------------------------------------------------------------
echo "== building Nabla (Release)"
dotnet build -c Release src/Nabla.Cli/Nabla.Cli.csproj -v quiet -nologo >"$OUT/build.log" 2>&1 \
  || { grep -E "error|warn" "$OUT/build.log" | sort -u | head -20; echo "build failed (log: $OUT/build.log)" >&2; exit 1; }
# Run a copy: other builds in this tree may rewrite bin/ while the benchmarks run.
rm -rf "$OUT/nabla-bin"
cp -r src/Nabla.Cli/bin/Release/net10.0 "$OUT/nabla-bin"
NABLA=(dotnet "$OUT/nabla-bin/Nabla.Cli.dll")

# This machine's environment forces OpenBLAS onto its AVX2 kernels (OPENBLAS_CORETYPE) and a small
# L2 size; the reference runs without them so that it gets its best (AVX-512) kernels. Nabla does
# not read them.
REF_ENV=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)

echo "== BLAS the reference process really uses (threadpoolctl, after importing numpy and torch):"
"${REF_ENV[@]}" OPENBLAS_NUM_THREADS=1 "$PY" - <<'PYEOF'
import numpy, torch, threadpoolctl
numpy.dot(numpy.ones((64, 64), numpy.float32), numpy.ones((64, 64), numpy.float32))
torch.mm(torch.ones(64, 64), torch.ones(64, 64))
for i in threadpoolctl.threadpool_info():
    print("  ", {k: i.get(k) for k in ("user_api", "internal_api", "version", "architecture", "threading_layer", "filepath")})
print("   torch", torch.__version__, "numpy", numpy.__version__)
PYEOF
echo "== machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"

maxthreads=$(tr ',' '\n' <<<"$THREADS" | sort -n | tail -1)
settings=()
for t in 1 2; do for b in 1 2; do
  (( t <= maxthreads && b <= maxthreads )) && settings+=("$t $b")
done; done

for ((run = 1; run <= RUNS; run++)); do
  dir="$OUT/run$run"
  mkdir -p "$dir"
  echo "== run $run/$RUNS: nabla bench (load $(cut -d' ' -f1 /proc/loadavg))"
  "${NABLA[@]}" bench --threads "$THREADS" --data "$DATA" ${OPT:+--optimizer "$OPT"} "${QUICK[@]}" --json "$dir/nabla.json" >"$dir/nabla.txt"
  # Without --optimizer, both sides use the one nabla bench picks by default.
  [[ -n $OPT ]] || OPT=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["optimizer"])' "$dir/nabla.json")
  "${NABLA[@]}" bench --mode train-only --threads "$THREADS" --data "$DATA" --optimizer "$OPT" "${QUICK[@]}" --json "$dir/nabla-train-only.json" >"$dir/nabla-train-only.txt"
  for s in "${settings[@]}"; do
    read -r t b <<<"$s"
    # torch.mm and numpy.dot run on OpenBLAS's threads only: the GEMMs need each BLAS setting once.
    mode=all; (( t > 1 )) && mode=mlp
    echo "== run $run/$RUNS: reference, torch threads $t, OPENBLAS_NUM_THREADS $b ($mode)"
    "${REF_ENV[@]}" OPENBLAS_NUM_THREADS=$b OMP_NUM_THREADS=$t "$PY" bench/compare/torch_bench.py \
      --threads "$t" --mode $mode --data "$DATA" --optimizer "$OPT" "${QUICK[@]}" --json "$dir/torch-t$t-b$b.json"
    "${REF_ENV[@]}" OPENBLAS_NUM_THREADS=$b OMP_NUM_THREADS=$t "$PY" bench/compare/torch_bench.py \
      --threads "$t" --mode train-only --data "$DATA" --optimizer "$OPT" "${QUICK[@]}" --json "$dir/torch-t$t-b$b-train-only.json"
  done
done

echo
"$PY" bench/compare/join.py "$OUT"/run*/*.json | tee "$OUT/table.md"
echo
echo "raw JSON and the table: $OUT"
