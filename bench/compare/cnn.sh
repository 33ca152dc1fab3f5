#!/usr/bin/env bash
# The convolutional workloads against PyTorch, interleaved rounds on the same machine, medians and
# ratios at the end (docs/BENCHMARKS.md, issue #7).
#
#   bench/compare/cnn.sh [ROUNDS=3] ["lenet_train resnet_train cnn_infer"] [OUT=bench/compare/results/cnn-HHMM]
#
# Runs the CLI from a copy of its build folder, so that rebuilding while it runs changes nothing.
# PyTorch: Debian's /usr/bin/python3 with the same thread count (oneDNN convolutions).
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
modes=${2:-lenet_train resnet_train cnn_infer}
out=${3:-bench/compare/results/cnn-$(date -u +%H%M)}
data=${DATA:-/usr/share/datasets/fashion-mnist}
mkdir -p "$out"
dotnet build -c Release src/Nabla.Cli > /dev/null
cli=$(mktemp -d)
trap 'rm -rf "$cli"' EXIT
cp -r src/Nabla.Cli/bin/Release/net10.0/. "$cli"
git log --oneline -1 > "$out/commit.txt"
lscpu > "$out/lscpu.txt"
for r in $(seq 1 "$rounds"); do
  for t in 1 2; do
    for m in $modes; do
      echo "== round $r, $t thread(s), $m, $(date -u +%T), load $(cut -d' ' -f1 /proc/loadavg)" | tee -a "$out/progress.txt"
      dotnet "$cli/Nabla.Cli.dll" bench --mode "$m" --threads "$t" --data "$data" --json "$out/nabla-$m-t$t-r$r.json" > "$out/nabla-$m-t$t-r$r.txt" 2>&1
      env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS="$t" OPENBLAS_NUM_THREADS="$t" \
        /usr/bin/python3 bench/compare/torch_conv.py --threads "$t" --mode "$m" > "$out/torch-$m-t$t-r$r.txt" 2>&1
    done
  done
done
/usr/bin/python3 bench/compare/cnn_summary.py "$out" | tee "$out/summary.txt"
