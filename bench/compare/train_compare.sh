#!/usr/bin/env bash
# Whole-process comparison (issue #11): `nabla train` against the same PyTorch script
# (torch_train.py: same model, optimiser, constant lr, batch, epochs, threads, data and 80/20
# train/validation split with validation every epoch and the test file at the end), each run under
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
# As in run.sh: the reference gets OpenBLAS's own best kernels, whatever this machine's environment forces.
REF_ENV=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)
out=$(mktemp -d)
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; load $(cut -d' ' -f1 /proc/loadavg); $(date -u +%FT%TZ)"
# PyTorch's matrix products run on OpenBLAS's own threads, which torch.set_num_threads does not limit: left
# unset, OPENBLAS_NUM_THREADS lets a "1-thread" run use every core. So the reference runs at each setting
# torch threads x OpenBLAS threads whose both counts fit the thread budget (1x1 for 1 thread; 1x1, 2x1 and
# 1x2 for 2), and its best wall time counts. 2x2 is left out: with both pools spinning on two cores it
# ran 4-5x slower than 1x1 in every earlier measurement (17.7-27.2 s against 4.2-7.8 s).
settings_for() { if [ "$1" = 1 ]; then echo "1x1"; else echo "1x1 ${1}x1 1x${1}"; fi; }
printf '%-6s %-4s %-13s %8s %8s %8s\n' opt thr tool wall_s cpu_s rss_mib
for opt in $optimizers; do
  # nabla's "momentum" optimiser is SGD with momentum 0.9, torch_train.py's "sgd" the same.
  nopt=momentum; lr=0.05; [ "$opt" = adam ] && { nopt=adam; lr=0.001; }
  for t in $threads; do
    for r in $(seq "$runs"); do
      /usr/bin/time -f "%e %U %S %M" -o "$out/n" $nabla train --data "$data" --layers 256,128 --epochs "$epochs" --batch 128 \
        --optimizer "$nopt" --lr $lr --schedule constant --threads "$t" --no-augment --seed $r --out "$out/model.safetensors" > "$out/n.log" 2>&1
      read -r nw nu ns nk < "$out/n"
      printf '%-6s %-4s %-13s %8s %8.2f %8.0f\n' "$opt" "$t" nabla "$nw" "$(echo "$nu+$ns" | bc -l)" "$(echo "$nk/1024" | bc -l)"
      best=""; bestk=""; bests=""
      for s in $(settings_for "$t"); do
        tt=${s%x*}; bt=${s#*x}
        "${REF_ENV[@]}" OPENBLAS_NUM_THREADS=$bt /usr/bin/time -f "%e %U %S %M" -o "$out/p" /usr/bin/python3 bench/compare/torch_train.py \
          --data "$data" --epochs "$epochs" --batch 128 --optimizer "$opt" --lr $lr --momentum 0.9 --threads "$tt" --seed $r > "$out/p.log" 2>&1
        read -r pw pu ps pk < "$out/p"
        printf '%-6s %-4s %-13s %8s %8.2f %8.0f\n' "$opt" "$t" "pytorch $s" "$pw" "$(echo "$pu+$ps" | bc -l)" "$(echo "$pk/1024" | bc -l)"
        if [ -z "$best" ] || [ "$(echo "$pw < $best" | bc -l)" = 1 ]; then best=$pw; bestk=$pk; bests=$s; fi
      done
      echo "       ratio wall $(echo "$nw/$best" | bc -l | cut -c1-5) (PyTorch's best: $bests), rss $(echo "$nk/$bestk" | bc -l | cut -c1-5); nabla: $(grep -c '' "$out/n.log") lines, last: $(tail -1 "$out/n.log" | cut -c1-80)"
    done
  done
done
rm -rf "$out"
