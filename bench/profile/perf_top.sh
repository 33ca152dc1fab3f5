#!/usr/bin/env bash
# Where a .NET process spends its CPU time, by Linux perf (exact, unlike the runtime's sampler).
#
#   bench/profile/perf_top.sh OUT.perf dotnet src/Nabla.Cli/bin/Release/net10.0/Nabla.Cli.dll bench --mode cnn_infer --threads 1
#
# Prints the functions with the most samples (self time), JIT-compiled methods by name. Needs
# `perf` (Debian: linux-perf). The runtime writes /tmp/perf-PID.map for its JIT code
# (DOTNET_PerfMapEnabled=1); W^X double mapping is switched off so that perf can attribute samples
# to those addresses. Why not dotnet-trace: its sampler can only stop a thread at a GC safe point,
# so time in loops without one (most span kernels) is charged to the next allocation. Session 7
# saw 49 % of a batch-1 ResNet forward charged to Object.MemberwiseClone that way; perf put it on
# weight packing (19 %) and batch-norm folding (9 %) instead.
set -euo pipefail
out=${1:?usage: perf_top.sh OUT.perf COMMAND...}
shift
DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 perf record -e cpu-clock -F 999 -g -o "$out" -- "$@" > /dev/null
perf report -i "$out" --no-children --sort dso,symbol -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -${TOP:-30} | cut -c1-180
