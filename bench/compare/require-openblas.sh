# Sourced by the bench/compare scripts before they run PyTorch. Debian's python3-torch does its
# matrix products through whatever libblas.so.3 the alternatives system points to; without OpenBLAS
# that is the netlib reference BLAS, about 10x slower (512x512 matmul: 5.8 against 62 GFLOP per CPU
# second, measured 2026-11-26), which would make every ratio against PyTorch meaningless. The
# reference must be PyTorch at its best, so the comparison refuses to run without OpenBLAS.
if ! dpkg -s libopenblas0-pthread >/dev/null 2>&1 && [[ -z "${NABLA_ALLOW_REFERENCE_BLAS:-}" ]]; then
  echo "error: libopenblas0-pthread is not installed, so PyTorch would use the slow reference BLAS." >&2
  echo "       Install it (apt-get install libopenblas0-pthread), or set NABLA_ALLOW_REFERENCE_BLAS=1 to compare anyway." >&2
  exit 2
fi
