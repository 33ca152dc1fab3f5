#!/usr/bin/env bash
# Whole-process comparison (issue #11): `nabla train` against the same PyTorch script
# (torch_train.py: same model, optimiser, lr, batch, epochs, threads and data), each run under
# /usr/bin/time for wall time and peak RSS. Usage:
#   bench/compare/train_compare.sh [--runs N] [--data DIR] [--epochs 5] [--threads "1 2"] [--optimizers "sgd adam"]
# Needs a built nabla (dotnet build -c Release) and Debian's /usr/bin/python3 with torch (python3-torch; a python3 earlier on PATH may lack it).
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=3; data=/usr/share/datasets/fashion-mnist; epochs=5; threads="1 2"; optimizers="sgd adam"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2;; --data) data=$2; shift 2;; --epochs) epochs=$2; shift 2;;
    --threads) threads=$2; shift 2;; --optimizers) optimizers=$2; shift 2;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
source bench/compare/require-openblas.sh
nabla="dotnet src/Nabla.Cli/bin/Release/net10.0/Nabla.Cli.dll"
out=$(mktemp -d)
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; load $(cut -d' ' -f1 /proc/loadavg); $(date -u +%FT%TZ)"
printf '%-6s %-4s %-7s %10s %10s\n' opt thr tool wall_s rss_mib
for opt in $optimizers; do
  # nabla's "momentum" optimiser is SGD with momentum 0.9, torch_train.py's "sgd" the same.
  nopt=momentum; lr=0.05; [ "$opt" = adam ] && { nopt=adam; lr=0.001; }
  for t in $threads; do
    for r in $(seq "$runs"); do
      /usr/bin/time -f "%e %M" -o "$out/n" $nabla train --data "$data" --layers 256,128 --epochs "$epochs" --batch 128 \
        --optimizer "$nopt" --lr $lr --threads "$t" --no-augment --seed $r > "$out/n.log" 2>&1
      /usr/bin/time -f "%e %M" -o "$out/p" /usr/bin/python3 bench/compare/torch_train.py --data "$data" --epochs "$epochs" --batch 128 \
        --optimizer "$opt" --lr $lr --momentum 0.9 --threads "$t" --seed $r > "$out/p.log" 2>&1
      read -r nw nk < "$out/n"; read -r pw pk < "$out/p"
      printf '%-6s %-4s %-7s %10s %10.0f\n' "$opt" "$t" nabla "$nw" "$(echo "$nk/1024" | bc -l)"
      printf '%-6s %-4s %-7s %10s %10.0f\n' "$opt" "$t" pytorch "$pw" "$(echo "$pk/1024" | bc -l)"
      echo "       ratio wall $(echo "$nw/$pw" | bc -l | cut -c1-5), rss $(echo "$nk/$pk" | bc -l | cut -c1-5); nabla: $(grep -c '' "$out/n.log") lines, last: $(tail -1 "$out/n.log" | cut -c1-80)"
    done
  done
done
rm -rf "$out"
