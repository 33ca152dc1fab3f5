namespace Nabla.Tests.Core;

/// <summary>Creation, access, printing and shapes of tensors, and the values of the basic ops against hand-computed results.</summary>
public class TensorBasicsTests
{
    // ------------------------------------------------------------------ creation

    [Fact]
    public void Zeros_ones_full_scalar()
    {
        Expect.Values([2, 3], [0, 0, 0, 0, 0, 0], Tensor.Zeros(2, 3));
        Expect.Values([3], [1, 1, 1], Tensor.Ones(3));
        Expect.Values([2, 1], [2.5f, 2.5f], Tensor.Full(2.5f, 2, 1));
        var s = Tensor.Scalar(4f);
        Assert.Equal(0, s.Rank);
        Assert.Equal(1, s.Length);
        Assert.Equal(4f, s.Item());
        Assert.Equal(new Shape(2, 3), Tensor.ZerosLike(Tensor.Ones(2, 3)).Shape);
        Assert.Equal(0, Tensor.Zeros(0, 4).Length);
    }

    [Fact]
    public void Arange()
    {
        Expect.Values([5], [0, 1, 2, 3, 4], Tensor.Arange(5));
        Expect.Values([4], [1, 1.25f, 1.5f, 1.75f], Tensor.Arange(1f, 2f, 0.25f));
        Expect.Values([3], [5, 3, 1], Tensor.Arange(5f, 0f, -2f));
        Assert.Equal(0, Tensor.Arange(3f, 1f).Length);
        Assert.Throws<ArgumentException>(() => Tensor.Arange(0f, 1f, 0f));
    }

    [Fact]
    public void FromArray_copies_and_checks_the_count()
    {
        var src = new[] { 1f, 2f, 3f, 4f, 5f, 6f };
        var t = Tensor.FromArray(src, 2, 3);
        src[0] = 99f;
        Expect.Values([2, 3], [1, 2, 3, 4, 5, 6], t);
        Expect.Values([3], [7, 8, 9], Tensor.FromArray([7f, 8f, 9f]));
        Expect.Values([2, 2], [1, 2, 3, 4], Tensor.FromArray(new float[,] { { 1, 2 }, { 3, 4 } }));
        var ex = Assert.Throws<ArgumentException>(() => Tensor.FromArray(src, 4, 2));
        Assert.Contains("[4, 2]", ex.Message);
    }

    [Fact]
    public void Random_tensors_are_reproducible_per_seed()
    {
        Assert.Equal(Tensor.Randn([4, 5], seed: 7).ToArray(), Tensor.Randn([4, 5], seed: 7).ToArray());
        Assert.NotEqual(Tensor.Randn([4, 5], seed: 7).ToArray(), Tensor.Randn([4, 5], seed: 8).ToArray());
        var u1 = Tensor.Uniform(new Shape(50), -1f, 1f, new Random(3));
        var u2 = Tensor.Uniform(new Shape(50), -1f, 1f, new Random(3));
        Assert.Equal(u1.ToArray(), u2.ToArray());
        var n1 = Tensor.Normal(new Shape(7), 2f, 3f, new Random(4));
        var n2 = Tensor.Normal(new Shape(7), 2f, 3f, new Random(4));
        Assert.Equal(n1.ToArray(), n2.ToArray());
    }

    [Fact]
    public void Normal_has_the_requested_mean_and_std()
    {
        var t = Tensor.Normal(new Shape(20_001), 1.5f, 0.5f, new Random(11)); // odd: Box–Muller's last single value
        var (mean, std) = Moments(t.Data);
        Expect.Close(1.5, mean, 0.02, "mean");
        Expect.Close(0.5, std, 0.02, "std");
        var (m0, s0) = Moments(Tensor.Randn([10_000], seed: 12).Data);
        Expect.Close(0, m0, 0.05, "randn mean");
        Expect.Close(1, s0, 0.05, "randn std");
    }

    [Fact]
    public void Uniform_stays_in_range_with_the_right_mean()
    {
        var t = Tensor.Uniform(new Shape(10_000), -2f, 4f, new Random(5));
        Assert.All(t.ToArray(), v => Assert.InRange(v, -2f, 4f));
        var (mean, std) = Moments(t.Data);
        Expect.Close(1.0, mean, 0.1, "mean");
        Expect.Close(6 / Math.Sqrt(12), std, 0.05, "std");
    }

    private static (double mean, double std) Moments(ReadOnlySpan<float> d)
    {
        double s = 0, s2 = 0;
        foreach (float v in d) { s += v; s2 += (double)v * v; }
        double m = s / d.Length;
        return (m, Math.Sqrt(s2 / d.Length - m * m));
    }

    // ------------------------------------------------------------------ access and printing

    [Fact]
    public void Indexing_reads_and_writes_row_major()
    {
        var t = Tensor.Arange(6).Reshape(2, 3);
        Assert.Equal(5f, t[1, 2]);
        Assert.Equal(3f, t[-1, 0]);
        t[0, 1] = 10f;
        Assert.Equal(10f, t.Data[1]);
        Assert.Throws<IndexOutOfRangeException>(() => t[2, 0]);
        Assert.Equal([3f, 4f, 5f], t[1].ToArray()); // one index on a matrix: a row, as PyTorch
        var ex = Assert.Throws<InvalidOperationException>(() => t.Item());
        Assert.Contains("[2, 3]", ex.Message);
    }

    [Fact]
    public void ToString_is_readable_and_shows_the_shape()
    {
        var t = Tensor.FromArray([1f, 2.5f, -3f, 4f, 5f, 6f], 2, 3);
        string s = t.ToString();
        Assert.Contains("shape=[2, 3]", s);
        Assert.Contains("2.5", s);
        Assert.Contains("-3", s);
        Assert.StartsWith("tensor([[1, 2.5, -3]", s);

        var x = new Tensor(new Shape(2)) { RequiresGrad = true };
        Assert.Contains("requires_grad", x.ToString());
        Assert.Contains("grad_fn=Mul", (x * x).ToString());
        Assert.Contains("shape=[]", Tensor.Scalar(1.5f).ToString());

        // Small values must not print as 0 (gradients are often that small).
        string small = Tensor.FromArray([3e-6f, -1.5e-9f, 0f, 0.25f]).ToString();
        Assert.Contains("3e-6", small);
        Assert.Contains("-1.5e-9", small);
        Assert.Contains("0.25", small);
        Assert.Contains("NaN", Tensor.FromArray([float.NaN, 1f]).ToString());

        var big = Tensor.Arange(2000).ToString(); // more than PrintOptions.Threshold (1000) elements
        Assert.Contains("...", big);
        Assert.Contains("1999", big);
        Assert.True(big.Length < 200, big);
    }

    [Fact]
    public void Shape_basics()
    {
        var s = new Shape(2, 3, 4);
        Assert.Equal(3, s.Rank);
        Assert.Equal(24, s.Size);
        Assert.Equal(4, s[-1]);
        Assert.Equal(4, s.Last);
        Assert.Equal("[2, 3, 4]", s.ToString());
        Assert.True(s == new Shape(2, 3, 4));
        Assert.True(s != new Shape(2, 4, 3));
        Assert.Equal(s.GetHashCode(), new Shape(2, 3, 4).GetHashCode());
        Assert.Equal(1, new Shape().Size);
        Assert.Equal("[]", new Shape().ToString());
        Assert.Throws<ArgumentException>(() => new Shape(2, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => s.NormalizeAxis(3));
        Assert.Equal(new Shape(4, 2, 3), Shape.Broadcast(new Shape(4, 1, 3), new Shape(2, 1), "t"));
        Assert.Equal(new Shape(2, 3), Shape.Broadcast(new Shape(), new Shape(2, 3), "t"));
    }

    // ------------------------------------------------------------------ values of the ops

    [Fact]
    public void Broadcast_arithmetic_values()
    {
        var m = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        Expect.Values([2, 3], [11, 22, 33, 14, 25, 36], m + Tensor.FromArray([10f, 20f, 30f]));
        Expect.Values([2, 3], [0, 1, 2, 2, 3, 4], m - Tensor.FromArray([1f, 2f], 2, 1));
        Expect.Values([2, 3], [10, 20, 30, 20, 40, 60], Tensor.FromArray([1f, 2f], 2, 1) * Tensor.FromArray([10f, 20f, 30f], 1, 3));
        Expect.Values([2, 3], [2, 1, 2f / 3, 0.5f, 0.4f, 1f / 3], Tensor.Full(2f) / m, 1e-6f);
        Expect.Values([2, 3], [0.5f, 1, 1.5f, 2, 2.5f, 3], m / 2f);
        Expect.Values([2, 3], [-1, -2, -3, -4, -5, -6], -m);
        Expect.Values([2, 3], [9, 8, 7, 6, 5, 4], 10f - m);
        // [3,1,2] with [2,1] → [3,2,2]: out[i,j,k] = a[i,0,k] + b[j,0]
        var a = Tensor.Arange(6).Reshape(3, 1, 2);
        var b = Tensor.FromArray([100f, 200f], 2, 1);
        Expect.Values([3, 2, 2], [100, 101, 200, 201, 102, 103, 202, 203, 104, 105, 204, 205], a + b);
        // [2,1,3] with [4,1] → [2,4,3]: a column broadcast in the middle of a rank-3 result
        var c = Tensor.Arange(6).Reshape(2, 1, 3);
        var d = Tensor.FromArray([0f, 10f, 20f, 30f], 4, 1);
        var cd = c * d;
        Assert.Equal(new Shape(2, 4, 3), cd.Shape);
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 4; j++)
                for (int k = 0; k < 3; k++)
                    Assert.Equal((i * 3 + k) * (j * 10f), cd[i, j, k]);
    }

    [Fact]
    public void Unary_values()
    {
        var x = Tensor.FromArray([-2f, 0f, 1f, 4f]);
        Expect.Values([4], [4, 0, 1, 16], x.Pow(2f));
        Expect.Values([4], [2, 0, 1, 4], x.Abs());
        Expect.Values([4], [MathF.Exp(-2), 1, MathF.E, MathF.Exp(4)], x.Exp(), 1e-4f);
        Expect.Values([3], [0, 1, 2], Tensor.FromArray([0f, 1f, 4f]).Sqrt());
        Expect.Values([2], [0, 1], Tensor.FromArray([1f, MathF.E]).Log(), 1e-6f);
        Expect.Values([2], [-0.5f, 0.25f], Tensor.FromArray([-2f, 4f]).Pow(-1f));
        Expect.Values([2], [-8f, 27f], Tensor.FromArray([-2f, 3f]).Pow(3f), 1e-5f);
        Expect.Values([3], [0.5f, 1 / (1 + MathF.Exp(-2)), 1 / (1 + MathF.Exp(2))], Tensor.FromArray([0f, 2f, -2f]).Sigmoid(), 1e-6f);
        Expect.Values([2], [0, MathF.Tanh(1)], Tensor.FromArray([0f, 1f]).Tanh(), 1e-6f);
        Expect.Values([3], [-0.02f, 0, 3], Ops.LeakyRelu(Tensor.FromArray([-2f, 0f, 3f])), 1e-7f);
    }

    [Fact]
    public void MatMul_values()
    {
        var a = Tensor.FromArray(new float[,] { { 1, 2 }, { 3, 4 } });
        var b = Tensor.FromArray(new float[,] { { 5, 6 }, { 7, 8 } });
        Expect.Values([2, 2], [19, 22, 43, 50], a.MatMul(b));
        // [2,3]·[3,1]
        Expect.Values([2, 1], [14, 32], Tensor.Arange(1f, 7f).Reshape(2, 3).MatMul(Tensor.FromArray([1f, 2f, 3f], 3, 1)));
        // batched: each batch its own matrix
        var ab = Ops.Concat([a.Reshape(1, 2, 2), b.Reshape(1, 2, 2)]);
        var eye2 = Tensor.FromArray([1f, 0f, 0f, 1f, 0f, 1f, 1f, 0f], 2, 2, 2); // I and the swap
        Expect.Values([2, 2, 2], [1, 2, 3, 4, 6, 5, 8, 7], ab.MatMul(eye2));
        // [b,m,k]·[k,n]: one matrix shared by the batch
        Expect.Values([2, 2, 2], [19, 22, 43, 50, 5 * 5 + 6 * 7, 5 * 6 + 6 * 8, 7 * 5 + 8 * 7, 7 * 6 + 8 * 8], ab.MatMul(b));
        // Linear: x·Wᵀ + b
        var x = Tensor.FromArray(new float[,] { { 1, 2 }, { 3, 4 } });
        var w = Tensor.FromArray(new float[,] { { 1, 0 }, { 0, 1 }, { 1, 1 } });
        Expect.Values([2, 3], [11, 22, 33, 13, 24, 37], Ops.Linear(x, w, Tensor.FromArray([10f, 20f, 30f])));
        Expect.Values([2, 3], [1, 2, 3, 3, 4, 7], Ops.Linear(x, w, null));
    }

    [Fact]
    public void Reduction_values()
    {
        var m = Tensor.FromArray([1f, 5f, 3f, 4f, 2f, 6f], 2, 3);
        Assert.Equal(21f, m.Sum().Item());
        Assert.Equal(0, m.Sum().Rank);
        Assert.Equal(3.5f, m.Mean().Item());
        Expect.Values([3], [5, 7, 9], m.Sum(0));
        Expect.Values([2], [9, 12], m.Sum(1));
        Expect.Values([2, 1], [9, 12], m.Sum(-1, keepDim: true));
        Expect.Values([1, 3], [2.5f, 3.5f, 4.5f], m.Mean(0, keepDim: true));
        Expect.Values([2], [3, 4], m.Mean(1));
        Expect.Values([3], [4, 5, 6], m.Max(0));
        Expect.Values([2, 1], [5, 6], m.Max(1, keepDim: true));
        Assert.Equal(6f, Ops.Max(m).Item());
        Assert.Equal([1, 0, 1], m.ArgMax(0).ToInt32Array());
        Assert.Equal([1, 2], m.ArgMax(1).ToInt32Array());
        Assert.Equal([1, 2], m.ArgMax(-1).ToInt32Array());
        // rank 3, middle axis
        var t = Tensor.Arange(24).Reshape(2, 3, 4);
        Expect.Values([2, 4], [12, 15, 18, 21, 48, 51, 54, 57], t.Sum(1));
        Expect.Values([2, 4], [8, 9, 10, 11, 20, 21, 22, 23], t.Max(1));
        Assert.Equal(Enumerable.Repeat(2, 8).ToArray(), t.ArgMax(1).ToInt32Array());
        // ties go to the first maximum
        Assert.Equal([0], Tensor.FromArray([3f, 3f, 1f], 1, 3).ArgMax(-1).ToInt32Array());
        // a sum of many values stays accurate
        Assert.Equal(1_000_000f, Tensor.Ones(1_000_000).Sum().Item());
    }

    [Fact]
    public void Reshape_infers_minus_one_and_shares_storage()
    {
        var x = Tensor.Arange(12).Reshape(2, 6);
        var r = x.Reshape(3, -1);
        Assert.Equal(new Shape(3, 4), r.Shape);
        Assert.Equal(new Shape(12), x.Reshape(-1).Shape);
        Assert.Equal(new Shape(2, 2, 3), x.Reshape(2, -1, 3).Shape);
        r[0, 0] = 42f;
        Assert.Equal(42f, x[0, 0]);
        var ex = Assert.Throws<ShapeMismatchException>(() => x.Reshape(5, -1));
        Assert.Contains("Reshape", ex.Message);
        var ex2 = Assert.Throws<ShapeMismatchException>(() => x.Reshape(5, 2));
        Assert.Contains("[2, 6]", ex2.Message);
        Assert.Contains("[5, 2]", ex2.Message);
        Assert.Equal(new Shape(2, 12), Tensor.Zeros(2, 3, 4).Flatten().Shape);
        foreach (var bad in new[] { new[] { -1, -1 }, new[] { 3, -2 }, new[] { 0, -1 } })
        {
            var e = Assert.Throws<ShapeMismatchException>(() => x.Reshape(bad));
            Assert.StartsWith("Reshape", e.Message);
            Assert.Contains("[" + string.Join(", ", bad) + "]", e.Message);
            Assert.Contains("[2, 6]", e.Message);
        }
    }

    [Fact]
    public void Shape_op_values()
    {
        var m = Tensor.Arange(6).Reshape(2, 3);
        Expect.Values([3, 2], [0, 3, 1, 4, 2, 5], m.T);
        var t = Tensor.Arange(24).Reshape(2, 3, 4);
        var p = Ops.Permute(t, 2, 0, 1);
        Assert.Equal(new Shape(4, 2, 3), p.Shape);
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                for (int k = 0; k < 4; k++)
                    Assert.Equal(t[i, j, k], p[k, i, j]);
        Expect.Values([2, 2], [1, 2, 4, 5], Ops.Narrow(m, 1, 1, 2));
        Expect.Values([1, 3], [3, 4, 5], m.SliceRows(1, 1));
        Expect.Values([3, 3], [0, 1, 2, 3, 4, 5, 7, 8, 9], Ops.Concat([m, Tensor.FromArray([7f, 8f, 9f], 1, 3)], 0));
        Expect.Values([2, 4], [0, 1, 2, 7, 3, 4, 5, 8], Ops.Concat([m, Tensor.FromArray([7f, 8f], 2, 1)], 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Ops.Narrow(m, 1, 2, 2));
        Assert.Throws<ArgumentException>(() => Ops.Permute(t, 0, 0, 1));
    }

    [Fact]
    public void Every_permutation_of_four_axes_moves_each_value_and_its_gradient_to_the_right_place()
    {
        // Covers both copies: element by element, and whole rows where the last axis stays last.
        int[] dims = [2, 3, 4, 5];
        var rng = new Random(3);
        foreach (var perm in Permutations([0, 1, 2, 3]))
        {
            var x = Tensor.FromArray(Enumerable.Range(0, 120).Select(_ => (float)rng.NextDouble()).ToArray(), dims);
            x.RequiresGrad = true;
            var p = Ops.Permute(x, perm);
            var upstream = Enumerable.Range(0, 120).Select(_ => (float)rng.NextDouble()).ToArray();
            var earlier = Enumerable.Range(0, 120).Select(_ => (float)rng.NextDouble()).ToArray();
            x.Grad = Tensor.FromArray((float[])earlier.Clone(), dims); // backward adds to a gradient already there
            (p * Tensor.FromArray(upstream, p.Shape.ToArray())).Sum().Backward();
            var at = new int[4];
            for (at[0] = 0; at[0] < 2; at[0]++)
                for (at[1] = 0; at[1] < 3; at[1]++)
                    for (at[2] = 0; at[2] < 4; at[2]++)
                        for (at[3] = 0; at[3] < 5; at[3]++)
                        {
                            int src = ((at[0] * 3 + at[1]) * 4 + at[2]) * 5 + at[3];
                            int[] o = [at[perm[0]], at[perm[1]], at[perm[2]], at[perm[3]]];
                            int dst = ((o[0] * dims[perm[1]] + o[1]) * dims[perm[2]] + o[2]) * dims[perm[3]] + o[3];
                            Assert.Equal(x.Data[src], p.Data[dst]);
                            Assert.Equal(earlier[src] + upstream[dst], x.Grad!.Data[src]);
                        }
        }

        static IEnumerable<int[]> Permutations(int[] items) => items.Length <= 1 ? [items]
            : items.SelectMany(first => Permutations(items.Where(i => i != first).ToArray()).Select(rest => (int[])[first, .. rest]));
    }

    // ------------------------------------------------------------------ errors name the op and the shapes

    public static TheoryData<string, string, string[]> MismatchCases => new()
    {
        { "Add", "Add", ["[2, 3]", "[4]"] },
        { "Sub", "Sub", ["[2, 3]", "[4]"] },
        { "Mul", "Mul", ["[2, 3]", "[4]"] },
        { "Div", "Div", ["[2, 3]", "[4]"] },
        { "MatMul", "MatMul", ["[2, 3]", "[4, 5]", "inner"] },
        { "MatMulBatched", "MatMul", ["[2, 3, 4]", "[3, 4, 5]"] },
        { "MatMulRank", "MatMul", ["[3]", "[3, 2]"] },
        { "Linear", "Linear", ["[2, 3]", "[5, 4]"] },
        { "Concat", "Concat", ["[2, 3]", "[2, 4]"] },
        { "MseLoss", "MseLoss", ["[2, 3]", "[3, 2]"] },
        { "CrossEntropy", "CrossEntropy", ["[2, 3]", "[2, 4]"] },
    };

    [Theory]
    [MemberData(nameof(MismatchCases))]
    public void Shape_mismatch_errors_name_the_op_and_both_shapes(string which, string op, string[] mentions)
    {
        var a23 = Tensor.Zeros(2, 3);
        Action act = which switch
        {
            "Add" => () => _ = a23 + Tensor.Zeros(4),
            "Sub" => () => _ = a23 - Tensor.Zeros(4),
            "Mul" => () => _ = a23 * Tensor.Zeros(4),
            "Div" => () => _ = a23 / Tensor.Zeros(4),
            "MatMul" => () => _ = a23.MatMul(Tensor.Zeros(4, 5)),
            "MatMulBatched" => () => _ = Tensor.Zeros(2, 3, 4).MatMul(Tensor.Zeros(3, 4, 5)),
            "MatMulRank" => () => _ = Tensor.Zeros(3).MatMul(Tensor.Zeros(3, 2)),
            "Linear" => () => _ = Ops.Linear(a23, Tensor.Zeros(5, 4), null),
            "Concat" => () => _ = Ops.Concat([a23, Tensor.Zeros(2, 4)], 0),
            "MseLoss" => () => _ = Ops.MseLoss(a23, Tensor.Zeros(3, 2)),
            "CrossEntropy" => () => _ = Ops.CrossEntropy(a23, Tensor.Zeros(2, 4)),
            _ => throw new ArgumentException(which),
        };
        var ex = Assert.Throws<ShapeMismatchException>(act);
        Assert.Equal(op, ex.Op);
        Assert.StartsWith(op, ex.Message);
        foreach (var m in mentions) Assert.Contains(m, ex.Message);
    }

    [Fact]
    public void Class_target_errors_are_clear()
    {
        var logits = Tensor.Zeros(2, 3);
        var e1 = Assert.Throws<ArgumentException>(() => Ops.CrossEntropy(logits, [0]));
        Assert.Contains("CrossEntropy", e1.Message);
        var e2 = Assert.Throws<ArgumentOutOfRangeException>(() => Ops.NllLoss(logits, [0, 3]));
        Assert.Contains("NllLoss", e2.Message);
        Assert.Contains("3", e2.Message);
    }
}
