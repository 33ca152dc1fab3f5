namespace Nabla.Tests.Core;

/// <summary>
/// The fast paths (vectorised broadcasting, GEMM with transposed operands, row-wise softmax,
/// axis reductions) against plain float64 loops written from the definitions, forward and backward,
/// over many shapes including ones larger than the GEMM's blocks.
/// </summary>
public class ReferenceTests
{
    // ------------------------------------------------------------------ broadcasting

    /// <summary>Random pairs of broadcast-compatible shapes of rank 0–4.</summary>
    public static TheoryData<int[], int[]> BroadcastShapes()
    {
        var d = new TheoryData<int[], int[]>();
        var rng = new Random(42);
        int[] sizes = [1, 2, 3, 5];
        // Distinct pairs only: xUnit derives a test case's ID from its arguments and silently skips repeats.
        var seen = new HashSet<string>();
        for (int c = 0; c < 40;)
        {
            int rank = rng.Next(0, 5);
            var full = Enumerable.Range(0, rank).Select(_ => sizes[rng.Next(sizes.Length)]).ToArray();
            int[] Derive()
            {
                int drop = rng.Next(0, rank + 1);
                return full.Skip(drop).Select(v => rng.Next(3) == 0 ? 1 : v).ToArray();
            }
            var a = Derive();
            var b = Derive();
            if (rng.Next(2) == 0) a = full.Select(v => v).ToArray();
            if (!seen.Add($"[{string.Join(",", a)}] [{string.Join(",", b)}]")) continue;
            d.Add(a, b);
            c++;
        }
        foreach (var (a, b) in new (int[], int[])[] { ([0, 3], [3]), ([2, 1, 4], [3, 1]), ([1, 1, 1], [5]) })
            if (seen.Add($"[{string.Join(",", a)}] [{string.Join(",", b)}]")) d.Add(a, b);
        return d;
    }

    [Theory]
    [MemberData(nameof(BroadcastShapes))]
    public void Broadcast_binary_ops_and_their_gradients_match_index_loops(int[] sa, int[] sb)
    {
        var outShape = Shape.Broadcast(new Shape(sa), new Shape(sb), "test");
        var a = Tensor.Randn(sa, seed: 1);
        var b = Tensor.Randn(sb, seed: 2);
        var bSafe = Tensor.Randn(sb, seed: 2);
        for (int i = 0; i < bSafe.Length; i++) bSafe.Data[i] = 1.5f + MathF.Abs(bSafe.Data[i]); // keep division tame
        var up = Tensor.Randn(outShape.ToArray(), seed: 3);

        (string name, Func<Tensor, Tensor, Tensor> op, Func<double, double, double> f, Func<double, double, double> da, Func<double, double, double> db, Tensor right)[] ops =
        [
            ("Add", (x, y) => x + y, (x, y) => x + y, (x, y) => 1, (x, y) => 1, b),
            ("Sub", (x, y) => x - y, (x, y) => x - y, (x, y) => 1, (x, y) => -1, b),
            ("Mul", (x, y) => x * y, (x, y) => x * y, (x, y) => y, (x, y) => x, b),
            ("Div", (x, y) => x / y, (x, y) => x / y, (x, y) => 1 / y, (x, y) => -x / (y * y), bSafe),
        ];
        foreach (var (name, op, f, da, db, right) in ops)
        {
            var ga = new Tensor(a.ToArray(), a.Shape) { RequiresGrad = true };
            var gb = new Tensor(right.ToArray(), right.Shape) { RequiresGrad = true };
            var r = op(ga, gb);
            Assert.Equal(outShape, r.Shape);
            r.Backward(up);

            var expected = new double[outShape.Size];
            var dA = new double[a.Length];
            var dB = new double[right.Length];
            ForEachIndex(outShape, (flat, idx) =>
            {
                int ia = Offset(a.Shape, idx), ib = Offset(right.Shape, idx);
                double x = a.Data[ia], y = right.Data[ib];
                expected[flat] = f(x, y);
                dA[ia] += up.Data[flat] * da(x, y);
                dB[ib] += up.Data[flat] * db(x, y);
            });
            Expect.Close(expected.Select(v => (float)v).ToArray(), r.Data, 1e-5f, $"{name} {a.Shape} {right.Shape} forward");
            if (a.Length > 0) Expect.Close(dA.Select(v => (float)v).ToArray(), ga.Grad!.Data, 1e-4f, $"{name} d{a.Shape}");
            if (right.Length > 0) Expect.Close(dB.Select(v => (float)v).ToArray(), gb.Grad!.Data, 1e-4f, $"{name} d{right.Shape}");
        }
    }

    /// <summary>Calls <paramref name="body"/> with each flat index of <paramref name="s"/> and its multi-index.</summary>
    private static void ForEachIndex(Shape s, Action<int, int[]> body)
    {
        var idx = new int[s.Rank];
        for (int flat = 0; flat < s.Size; flat++)
        {
            int rem = flat;
            for (int ax = s.Rank - 1; ax >= 0; ax--) { idx[ax] = rem % s[ax]; rem /= s[ax]; }
            body(flat, idx);
        }
    }

    /// <summary>The flat offset in a tensor of shape <paramref name="s"/> of the broadcast multi-index <paramref name="outIdx"/>.</summary>
    private static int Offset(Shape s, int[] outIdx)
    {
        int lead = outIdx.Length - s.Rank, off = 0;
        for (int ax = 0; ax < s.Rank; ax++) off = off * s[ax] + (s[ax] == 1 ? 0 : outIdx[lead + ax]);
        return off;
    }

    // ------------------------------------------------------------------ matrix products

    public static TheoryData<int, int, int> MatMulSizes => new()
    {
        { 1, 1, 1 }, { 3, 5, 7 }, { 1, 300, 1 }, { 128, 64, 1 }, { 1, 64, 96 }, { 33, 17, 65 }, { 70, 130, 45 }, { 6, 256, 32 },
    };

    [Theory]
    [MemberData(nameof(MatMulSizes))]
    public void MatMul_and_its_gradients_match_loops(int m, int k, int n)
    {
        var a = new Tensor(Tensor.Randn([m, k], seed: m * 1000 + k).ToArray(), new Shape(m, k)) { RequiresGrad = true };
        var b = new Tensor(Tensor.Randn([k, n], seed: n * 1000 + k).ToArray(), new Shape(k, n)) { RequiresGrad = true };
        var g = Tensor.Randn([m, n], seed: 7);
        var c = a.MatMul(b);
        c.Backward(g);

        var (ec, da, db) = MatMulReference(a.Data, b.Data, g.Data, m, k, n);
        float tol = 1e-5f * MathF.Sqrt(k) * 4;
        Expect.Close(ec, c.Data, tol, "C");
        Expect.Close(da, a.Grad!.Data, tol * MathF.Sqrt((float)n / k), "dA");
        Expect.Close(db, b.Grad!.Data, tol * MathF.Sqrt((float)m / k), "dB");
    }

    [Theory]
    [MemberData(nameof(MatMulSizes))]
    public void Linear_and_its_gradients_match_loops(int batch, int fin, int fout)
    {
        var x = new Tensor(Tensor.Randn([batch, fin], seed: 11).ToArray(), new Shape(batch, fin)) { RequiresGrad = true };
        var w = new Tensor(Tensor.Randn([fout, fin], seed: 12).ToArray(), new Shape(fout, fin)) { RequiresGrad = true };
        var bias = new Tensor(Tensor.Randn([fout], seed: 13).ToArray(), new Shape(fout)) { RequiresGrad = true };
        var g = Tensor.Randn([batch, fout], seed: 14);
        var y = Ops.Linear(x, w, bias);
        y.Backward(g);

        // y = x·Wᵀ + b  ⇔  MatMul reference with B = Wᵀ.
        var wt = Ops.Transpose(w.Detach());
        var (ey, dx, dwt) = MatMulReference(x.Data, wt.Data, g.Data, batch, fin, fout);
        for (int i = 0; i < batch; i++)
            for (int o = 0; o < fout; o++) ey[i * fout + o] += bias.Data[o];
        var dbias = new float[fout];
        for (int i = 0; i < batch; i++)
            for (int o = 0; o < fout; o++) dbias[o] += g.Data[i * fout + o];
        float tol = 1e-5f * MathF.Sqrt(Math.Max(fin, batch)) * 4;
        Expect.Close(ey, y.Data, tol, "y");
        Expect.Close(dx, x.Grad!.Data, tol * MathF.Sqrt(Math.Max(1f, (float)fout / fin)), "dx");
        Expect.Close(Ops.Transpose(Tensor.FromArray(dwt, fin, fout)).ToArray(), w.Grad!.Data, tol, "dW");
        Expect.Close(dbias, bias.Grad!.Data, tol, "db");
    }

    [Fact]
    public void Batched_matmul_matches_per_batch_products()
    {
        int batch = 3, m = 9, k = 20, n = 11;
        var a = new Tensor(Tensor.Randn([batch, m, k], seed: 21).ToArray(), new Shape(batch, m, k)) { RequiresGrad = true };
        var b = new Tensor(Tensor.Randn([batch, k, n], seed: 22).ToArray(), new Shape(batch, k, n)) { RequiresGrad = true };
        var shared = new Tensor(Tensor.Randn([k, n], seed: 23).ToArray(), new Shape(k, n)) { RequiresGrad = true };
        var g = Tensor.Randn([batch, m, n], seed: 24);
        a.MatMul(b).Backward(g);
        var daBatched = a.Grad!.ToArray();
        a.ZeroGrad();
        a.MatMul(shared).Backward(g);
        var daShared = a.Grad!.ToArray();
        var dShared = new float[k * n];
        for (int i = 0; i < batch; i++)
        {
            var ai = a.Data.Slice(i * m * k, m * k).ToArray();
            var gi = g.Data.Slice(i * m * n, m * n).ToArray();
            var (_, da, db) = MatMulReference(ai, b.Data.Slice(i * k * n, k * n), gi, m, k, n);
            Expect.Close(da, daBatched.AsSpan(i * m * k, m * k), 1e-4f, $"batch {i} dA");
            Expect.Close(db, b.Grad!.Data.Slice(i * k * n, k * n), 1e-4f, $"batch {i} dB");
            var (_, das, dbs) = MatMulReference(ai, shared.Data, gi, m, k, n);
            Expect.Close(das, daShared.AsSpan(i * m * k, m * k), 1e-4f, $"batch {i} dA (shared B)");
            for (int j = 0; j < dShared.Length; j++) dShared[j] += dbs[j];
        }
        Expect.Close(dShared, shared.Grad!.Data, 1e-4f, "dB shared = Σ over the batch");
    }

    private static (float[] c, float[] da, float[] db) MatMulReference(ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> g, int m, int k, int n)
    {
        var c = new float[m * n];
        var da = new float[m * k];
        var db = new float[k * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++) s += (double)a[i * k + p] * b[p * n + j];
                c[i * n + j] = (float)s;
            }
        for (int i = 0; i < m; i++)
            for (int p = 0; p < k; p++)
            {
                double s = 0;
                for (int j = 0; j < n; j++) s += (double)g[i * n + j] * b[p * n + j];
                da[i * k + p] = (float)s;
            }
        for (int p = 0; p < k; p++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int i = 0; i < m; i++) s += (double)a[i * k + p] * g[i * n + j];
                db[p * n + j] = (float)s;
            }
        return (c, da, db);
    }

    // ------------------------------------------------------------------ reductions and softmax

    public static TheoryData<int[], int> AxisCases => new()
    {
        { [7], 0 }, { [3, 5], 0 }, { [3, 5], 1 }, { [2, 3, 4], 0 }, { [2, 3, 4], 1 }, { [2, 3, 4], 2 }, { [4, 1, 3], 1 }, { [2, 3, 2, 5], 2 }, { [1, 9], -1 },
    };

    [Theory]
    [MemberData(nameof(AxisCases))]
    public void Axis_reductions_and_softmax_match_loops(int[] shape, int axis)
    {
        var s = new Shape(shape);
        int ax = s.NormalizeAxis(axis);
        var x = Gen.Distinct(5, shape);
        int outer = 1, inner = 1, dim = shape[ax];
        for (int i = 0; i < ax; i++) outer *= shape[i];
        for (int i = ax + 1; i < shape.Length; i++) inner *= shape[i];

        var sum = new float[outer * inner];
        var max = new float[outer * inner];
        var arg = new int[outer * inner];
        var soft = new float[x.Length];
        var logSoft = new float[x.Length];
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                double acc = 0, m = double.NegativeInfinity;
                int best = 0;
                for (int d = 0; d < dim; d++)
                {
                    float v = x.Data[(o * dim + d) * inner + i];
                    acc += v;
                    if (v > m) { m = v; best = d; }
                }
                sum[o * inner + i] = (float)acc;
                max[o * inner + i] = (float)m;
                arg[o * inner + i] = best;
                double z = 0;
                for (int d = 0; d < dim; d++) z += Math.Exp(x.Data[(o * dim + d) * inner + i] - m);
                for (int d = 0; d < dim; d++)
                {
                    int at = (o * dim + d) * inner + i;
                    soft[at] = (float)(Math.Exp(x.Data[at] - m) / z);
                    logSoft[at] = (float)(x.Data[at] - m - Math.Log(z));
                }
            }

        var reduced = s.ToArray().Where((_, i) => i != ax).ToArray();
        var kept = s.ToArray().Select((v, i) => i == ax ? 1 : v).ToArray();
        Expect.Values(reduced, sum, x.Sum(axis), 1e-5f);
        Expect.Values(kept, sum, x.Sum(axis, keepDim: true), 1e-5f);
        Expect.Values(reduced, sum.Select(v => v / dim).ToArray(), x.Mean(axis), 1e-5f);
        Expect.Values(reduced, max, x.Max(axis), 0f);
        Assert.Equal(arg, x.ArgMax(axis).ToInt32Array());
        Expect.Values(shape, soft, x.Softmax(axis), 1e-6f);
        Expect.Values(shape, logSoft, x.LogSoftmax(axis), 1e-5f);
    }
}
