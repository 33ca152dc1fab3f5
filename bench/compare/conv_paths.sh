#!/usr/bin/env bash
# Per-layer convolution GFLOP/s (forward | input gradient | weight gradient | the GEMM of the same
# size) with each kernel path forced in turn, interleaved rounds (docs/BENCHMARKS.md, issue #7).
#
#   PATHS="gemm implicit auto" bench/compare/conv_paths.sh [ROUNDS=1] [THREADS=1]
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build -c Release src/Nabla.Cli > /dev/null
cli=src/Nabla.Cli/bin/Release/net10.0/Nabla.Cli.dll
json=$(mktemp)
trap 'rm -f "$json"' EXIT
for r in $(seq 1 "${1:-1}"); do
  for p in ${PATHS:-gemm implicit auto}; do
    NABLA_CONV_PATH=$p dotnet $cli bench --mode conv --threads "${2:-1}" --json "$json" > /dev/null
    /usr/bin/python3 - "$p" "$json" <<'PY'
import json, sys
d = json.load(open(sys.argv[2]))
for r in d["results"]:
    if r.get("name") == "conv":
        print(sys.argv[1], r["threads"], r["layer"], r["forward_gflops"], r["backward_data_gflops"],
              r["backward_weight_gflops"], r["gemm_same_size_gflops"], sep=" | ")
PY
  done
done
