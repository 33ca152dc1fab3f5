#!/usr/bin/env bash
# Training throughput of data-parallel `nabla train` (docs/DISTRIBUTED.md): one process with 1 and 2
# kernel threads against 2 (and more) ranks in-process and over MPI (1 kernel thread each), all at the
# same global batch (128) and model (784-256-128-10 MLP, SGD momentum 0.9, constant lr), then the
# all-reduce table in-process and over MPI. Each configuration runs twice, for E1 and E2 epochs; the
# difference of the wall times gives the time of E2 - E1 epochs without start-up, JIT warm-up, test
# and save, and training samples/s from it (an epoch also validates a quarter as many samples as it
# trains on, about 4 % of its work).
#
# Usage: bench/distributed/run.sh [E1 E2]   (default 2 8)
#   NABLA=path      the nabla executable (default: build src/Nabla.Cli)
#   DATA=dir        MNIST-style data (default /usr/share/datasets/fashion-mnist: 48,000 training samples)
#   SAMPLES=n       training samples per epoch of DATA (default 48000; data/mnist10k: 6000)
#   MPI_ARGS=...    extra mpirun arguments (on a shared, oversubscribed machine: --mca mpi_yield_when_idle 1)
#   RANKS="2 4"     rank counts to run (default 2)
set -euo pipefail
cd "$(dirname "$0")/../.."
e1="${1:-2}"
e2="${2:-8}"
if [ -z "${NABLA:-}" ]; then
  dotnet build src/Nabla.Cli -c Release -v q >/dev/null
  NABLA="$PWD/src/Nabla.Cli/bin/Release/net10.0/nabla"
fi
data="${DATA:-/usr/share/datasets/fashion-mnist}"
samples="${SAMPLES:-48000}"
mpirun=(mpirun --oversubscribe)
[ "$(id -u)" = 0 ] && mpirun+=(--allow-run-as-root)
# shellcheck disable=SC2206
mpirun+=(${MPI_ARGS:-})
common=(train --data "$data" --no-augment --schedule constant --out /tmp/nabla-dist-bench.safetensors)
export NO_COLOR=1

# measure NAME COMMAND...: runs COMMAND --epochs E1 and --epochs E2 and prints the difference.
measure() {
  local name="$1"; shift
  local t0 t1 t2 acc
  t0=$(date +%s.%N); "$@" --epochs "$e1" >/dev/null
  t1=$(date +%s.%N); acc=$("$@" --epochs "$e2" | sed 's/\x1b\[[0-9;?]*[a-zA-Z=]//g' | grep -E '^test +loss' || true)
  t2=$(date +%s.%N)
  awk -v name="$name" -v a="$t0" -v b="$t1" -v c="$t2" -v e="$((e2 - e1))" -v n="$samples" -v acc="$acc" \
    'BEGIN { d = (c - b) - (b - a); printf "%-50s %7.3f s/epoch  %8.0f samples/s  %s\n", name, d / e, n * e / d, acc }'
}

echo "== $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ), $("${mpirun[0]}" --version 2>&1 | head -1)"
measure "1 process, 1 thread, batch 128" "$NABLA" "${common[@]}" --batch 128 --threads 1
measure "1 process, 2 threads, batch 128" "$NABLA" "${common[@]}" --batch 128 --threads 2
measure "1 MPI rank, batch 128" "${mpirun[@]}" -np 1 "$NABLA" "${common[@]}" --batch 128 --threads 1 --distributed
for n in ${RANKS:-2}; do
  b=$((128 / n))
  [ "$n" -gt 2 ] && measure "1 process, $n threads, batch 128" "$NABLA" "${common[@]}" --batch 128 --threads "$n"
  measure "$n ranks in-process, $b each" "$NABLA" "${common[@]}" --batch "$b" --threads 1 --data-parallel "$n"
  measure "$n ranks in-process, overlap, 256 KiB buckets" "$NABLA" "${common[@]}" --batch "$b" --threads 1 --data-parallel "$n" --overlap --bucket-kb 256
  measure "$n MPI ranks, $b each" "${mpirun[@]}" -np "$n" "$NABLA" "${common[@]}" --batch "$b" --threads 1 --distributed
  measure "$n MPI ranks, $b each, --bind-to none" "${mpirun[@]}" -np "$n" --bind-to none "$NABLA" "${common[@]}" --batch "$b" --threads 1 --distributed
  measure "$n MPI ranks, overlap, 256 KiB buckets" "${mpirun[@]}" -np "$n" "$NABLA" "${common[@]}" --batch "$b" --threads 1 --distributed --overlap --bucket-kb 256
done

echo "== all-reduce, 2 ranks"
"$NABLA" allreduce --data-parallel 2
"${mpirun[@]}" -np 2 "$NABLA" allreduce --distributed
