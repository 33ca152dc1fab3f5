#!/usr/bin/env bash
# Does overlapping the all-reduce with backward pay? 2 ranks (in-process and MPI, --bind-to none),
# with and without --overlap and at several bucket sizes, each REPEATS times, measured as in run.sh
# (the difference of an E1- and an E2-epoch run). Same environment variables as run.sh.
# Usage: bench/distributed/overlap.sh [E1 E2 REPEATS]   (default 2 12 3)
set -euo pipefail
cd "$(dirname "$0")/../.."
e1="${1:-2}"; e2="${2:-12}"; repeats="${3:-3}"
if [ -z "${NABLA:-}" ]; then
  dotnet build src/Nabla.Cli -c Release -v q >/dev/null
  NABLA="$PWD/src/Nabla.Cli/bin/Release/net10.0/nabla"
fi
data="${DATA:-/usr/share/datasets/fashion-mnist}"
samples="${SAMPLES:-48000}"
mpirun=(mpirun --oversubscribe --bind-to none)
[ "$(id -u)" = 0 ] && mpirun+=(--allow-run-as-root)
# shellcheck disable=SC2206
mpirun+=(${MPI_ARGS:-})
common=(train --data "$data" --no-augment --schedule constant --batch 64 --threads 1 --out /tmp/nabla-overlap-bench.safetensors)
export NO_COLOR=1

measure() {
  local name="$1"; shift
  local t0 t1 t2
  t0=$(date +%s.%N); "$@" --epochs "$e1" >/dev/null
  t1=$(date +%s.%N); "$@" --epochs "$e2" >/dev/null
  t2=$(date +%s.%N)
  awk -v name="$name" -v a="$t0" -v b="$t1" -v c="$t2" -v e="$((e2 - e1))" -v n="$samples" \
    'BEGIN { d = (c - b) - (b - a); printf "%-48s %7.4f s/epoch  %8.0f samples/s\n", name, d / e, n * e / d }'
}

echo "== $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
for r in $(seq "$repeats"); do
  echo "-- round $r"
  measure "in-process, no overlap, 4 MiB bucket" "$NABLA" "${common[@]}" --data-parallel 2
  measure "in-process, overlap, 256 KiB buckets" "$NABLA" "${common[@]}" --data-parallel 2 --overlap --bucket-kb 256
  measure "in-process, overlap, 64 KiB buckets" "$NABLA" "${common[@]}" --data-parallel 2 --overlap --bucket-kb 64
  measure "MPI, no overlap, 4 MiB bucket" "${mpirun[@]}" -np 2 "$NABLA" "${common[@]}" --distributed
  measure "MPI, overlap, 256 KiB buckets" "${mpirun[@]}" -np 2 "$NABLA" "${common[@]}" --distributed --overlap --bucket-kb 256
done
