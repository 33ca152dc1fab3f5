namespace Nabla.Kernels;

/// <summary>
/// Single-precision general matrix multiply on row-major spans:
/// C[m,n] = alpha · op(A)[m,k] · op(B)[k,n] + beta · C, where op(X) is X or Xᵀ.
/// </summary>
/// <remarks>
/// A is stored as [m,k] (or [k,m] when <c>transA</c>), B as [k,n] (or [n,k] when <c>transB</c>);
/// lda/ldb/ldc are the row strides. When beta is 0, C is overwritten (NaNs in C do not propagate).
/// </remarks>
public static class Gemm
{
    /// <summary>C = alpha·op(A)·op(B) + beta·C (row-major).</summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k,
        float alpha, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc)
    {
        // Placeholder reference implementation; the packed SIMD kernel replaces it.
        for (int i = 0; i < m; i++)
        {
            var crow = c.Slice(i * ldc, n);
            if (beta == 0f) crow.Clear(); else if (beta != 1f) System.Numerics.Tensors.TensorPrimitives.Multiply(crow, beta, crow);
            for (int p = 0; p < k; p++)
            {
                float av = alpha * (transA ? a[p * lda + i] : a[i * lda + p]);
                if (av == 0f) continue;
                if (!transB)
                    System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(b.Slice(p * ldb, n), av, crow, crow);
                else
                    for (int j = 0; j < n; j++) crow[j] += av * b[j * ldb + p];
            }
        }
    }
}
