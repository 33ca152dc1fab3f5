#!/bin/bash
# Runs torch_unet_search.py recipes side by side on one GPU (CUDA MPS where available, so that the
# small kernels of different processes overlap), each in its own process, all lines into one log.
#   bench/compare/unet_search_gpu.sh SECONDS OUT_LOG recipe...
limit=$1; log=$2; shift 2
nvidia-cuda-mps-control -d 2>/dev/null && echo "MPS on" >> "$log"
for r in "$@"; do
  timeout "$limit" python3 -u bench/compare/torch_unet_search.py "$r" >> "$log" 2>&1 &
done
wait
echo "all done" >> "$log"
