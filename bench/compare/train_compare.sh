#!/usr/bin/env bash
# Whole-process comparison (issue #11): `nabla train` against the same PyTorch script
# (torch_train.py: same model, optimiser, constant lr, batch, epochs, threads, data and 80/20
# train/validation split with validation every epoch and the test file at the end), each run under
# /usr/bin/time for wall time and peak RSS. Usage:
#   bench/compare/train_compare.sh [--runs N] [--data DIR] [--epochs 5] [--threads "1 2"] [--optimizers "sgd adam"]
#                                  [--forms "jit r2r aot"]
# Forms of the tool (each is timed against the same reference runs):
#   jit  the build output run by `dotnet` (what `dotnet run`, `dotnet tool install` and the build give);
#   r2r  `dotnet publish -r RID -p:PublishReadyToRun=true`: the same, with the code precompiled;
#   aot  the native executable of `dotnet publish -p:PublishAot=true -p:IlcInstructionSet=native` (README).
# r2r and aot are published into a temporary folder first (about a minute each; aot needs clang).
# Needs a built nabla (dotnet build -c Release) and Debian's /usr/bin/python3 with torch (python3-torch; a python3 earlier on PATH may lack it).
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=3; data=/usr/share/datasets/fashion-mnist; epochs=5; threads="1 2"; optimizers="sgd adam"; forms="jit r2r aot"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2;; --data) data=$2; shift 2;; --epochs) epochs=$2; shift 2;;
    --threads) threads=$2; shift 2;; --optimizers) optimizers=$2; shift 2;; --forms) forms=$2; shift 2;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
source bench/compare/require-openblas.sh
# As in run.sh: the reference gets OpenBLAS's own best kernels, whatever this machine's environment forces.
REF_ENV=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
case "$(uname -m)" in x86_64) rid=linux-x64;; aarch64) rid=linux-arm64;; *) rid=linux-$(uname -m);; esac
declare -A cmd
for f in $forms; do
  case "$f" in
    jit) cmd[jit]="dotnet src/Nabla.Cli/bin/Release/net10.0/Nabla.Cli.dll";;
    r2r) dotnet publish src/Nabla.Cli -c Release -r "$rid" --self-contained false -p:PublishReadyToRun=true -o "$out/r2r" --nologo > "$out/r2r.log" 2>&1 \
           || { tail -20 "$out/r2r.log"; echo "error: the ReadyToRun publish failed" >&2; exit 1; }
         cmd[r2r]="dotnet $out/r2r/Nabla.Cli.dll";;
    aot) dotnet publish src/Nabla.Cli -c Release -r "$rid" -p:PublishAot=true -p:IlcInstructionSet=native -o "$out/aot" --nologo > "$out/aot.log" 2>&1 \
           || { tail -20 "$out/aot.log"; echo "error: the native AOT publish failed (it needs clang)" >&2; exit 1; }
         cmd[aot]="$out/aot/Nabla.Cli";;
    *) echo "unknown form $f (jit, r2r or aot)" >&2; exit 2;;
  esac
done
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
      declare -A nwall=() nrss=()
      for f in $forms; do
        /usr/bin/time -f "%e %U %S %M" -o "$out/n" ${cmd[$f]} train --data "$data" --layers 256,128 --epochs "$epochs" --batch 128 \
          --optimizer "$nopt" --lr $lr --schedule constant --threads "$t" --no-augment --seed $r --out "$out/model.safetensors" > "$out/n-$f.log" 2>&1
        read -r nw nu ns nk < "$out/n"
        nwall[$f]=$nw; nrss[$f]=$nk
        printf '%-6s %-4s %-13s %8s %8.2f %8.0f\n' "$opt" "$t" "nabla $f" "$nw" "$(echo "$nu+$ns" | bc -l)" "$(echo "$nk/1024" | bc -l)"
      done
      best=""; bestk=""; bests=""
      for s in $(settings_for "$t"); do
        tt=${s%x*}; bt=${s#*x}
        "${REF_ENV[@]}" OPENBLAS_NUM_THREADS=$bt /usr/bin/time -f "%e %U %S %M" -o "$out/p" /usr/bin/python3 bench/compare/torch_train.py \
          --data "$data" --epochs "$epochs" --batch 128 --optimizer "$opt" --lr $lr --momentum 0.9 --threads "$tt" --seed $r > "$out/p.log" 2>&1
        read -r pw pu ps pk < "$out/p"
        printf '%-6s %-4s %-13s %8s %8.2f %8.0f\n' "$opt" "$t" "pytorch $s" "$pw" "$(echo "$pu+$ps" | bc -l)" "$(echo "$pk/1024" | bc -l)"
        if [ -z "$best" ] || [ "$(echo "$pw < $best" | bc -l)" = 1 ]; then best=$pw; bestk=$pk; bests=$s; fi
      done
      for f in $forms; do
        echo "       $f: ratio wall $(echo "${nwall[$f]}/$best" | bc -l | cut -c1-5) (PyTorch's best: $bests), rss $(echo "${nrss[$f]}/$bestk" | bc -l | cut -c1-5); last line: $(tail -1 "$out/n-$f.log" | cut -c1-70)"
      done
    done
  done
done
