using Nabla.Autograd;

namespace Nabla;

public static partial class Ops
{
    /// <summary>
    /// Variance Σ(x − mean)² / (n − <paramref name="correction"/>) over <paramref name="dim"/>, or over all elements when
    /// <paramref name="dim"/> is null. The default correction 1 is the unbiased (Bessel) estimate, as PyTorch's default;
    /// 0 gives the population variance. Composed of differentiable ops.
    /// </summary>
    public static Tensor Var(Tensor x, int? dim = null, bool keepDim = false, int correction = 1)
    {
        if (dim is not int d)
        {
            int count = x.Length;
            if (count - correction <= 0)
                throw new ArgumentException($"Var: {count} elements of shape {x.Shape} with correction {correction} leave no degrees of freedom.");
            var dev = Sub(x, Mean(x));
            var all = Mul(Sum(Mul(dev, dev)), 1f / (count - correction));
            return keepDim ? Reshape(all, Enumerable.Repeat(1, x.Rank).ToArray()) : all;
        }
        int ax = x.Shape.NormalizeAxis(d);
        int n = x.Shape[ax];
        if (n - correction <= 0)
            throw new ArgumentException($"Var: axis {ax} of shape {x.Shape} has {n} elements; with correction {correction} no degrees of freedom are left.");
        var diff = Sub(x, Mean(x, ax, keepDim: true));
        return Mul(Sum(Mul(diff, diff), ax, keepDim), 1f / (n - correction));
    }

    /// <summary>Standard deviation: √<see cref="Var"/>, over <paramref name="dim"/> or all elements.</summary>
    public static Tensor Std(Tensor x, int? dim = null, bool keepDim = false, int correction = 1) => Sqrt(Var(x, dim, keepDim, correction));

    /// <summary>
    /// The p-norm (Σ|x|ᵖ)^(1/p) over <paramref name="dim"/>, or of all elements when it is null, p ≥ 1 (default 2: the Euclidean norm). Backward:
    /// ∂‖x‖/∂x = sign(x)·|x|^(p−1) / ‖x‖^(p−1), and 0 when the norm is 0 (the subgradient PyTorch uses).
    /// </summary>
    public static Tensor Norm(Tensor x, float p = 2f, int? dim = null, bool keepDim = false)
    {
        if (dim is null)
        {
            var all = Norm(Reshape(x, x.Length), p, 0);
            return keepDim ? Reshape(all, Enumerable.Repeat(1, x.Rank).ToArray()) : all;
        }
        if (!(p >= 1f) || !float.IsFinite(p)) throw new ArgumentOutOfRangeException(nameof(p), $"Norm: p must be a finite number ≥ 1, got {p}.");
        int ax = x.Shape.NormalizeAxis(dim.Value);
        int outer = x.Shape.Product(0, ax), n = x.Shape[ax], inner = x.Shape.Product(ax + 1, x.Rank);
        var r = new Tensor(x.Shape.With(ax, keepDim ? 1 : null));
        var xd = x.Data;
        var rd = r.Data;
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                double s = 0;
                for (int k = 0; k < n; k++) s += p == 2f ? (double)xd[(o * n + k) * inner + i] * xd[(o * n + k) * inner + i] : Math.Pow(Math.Abs(xd[(o * n + k) * inner + i]), p);
                rd[o * inner + i] = (float)(p == 2f ? Math.Sqrt(s) : Math.Pow(s, 1.0 / p));
            }
        if (Graph.NeedsGrad(x))
            Graph.Record(r, "Norm", [x], g =>
            {
                var gx = x.GradBuffer().Data;
                var gd = g.Data;
                var nd = r.Data;
                var xs = x.Data;
                for (int o = 0; o < outer; o++)
                    for (int i = 0; i < inner; i++)
                    {
                        float norm = nd[o * inner + i];
                        if (norm == 0) continue;
                        float scale = gd[o * inner + i] / MathF.Pow(norm, p - 1f);
                        for (int k = 0; k < n; k++)
                        {
                            int at = (o * n + k) * inner + i;
                            float v = xs[at];
                            gx[at] += scale * SignOrNaN(v) * (p == 2f ? MathF.Abs(v) : MathF.Pow(MathF.Abs(v), p - 1f));
                        }
                    }
            });
        return r;
    }

    /// <summary>
    /// The maxima over <paramref name="dim"/> and where they are (the first on ties), as PyTorch's
    /// <c>torch.max(x, dim)</c>: values are differentiable (the gradient goes to the arg-max), indices are whole
    /// numbers in a float tensor.
    /// </summary>
    public static (Tensor Values, Tensor Indices) MaxWithIndices(Tensor x, int dim, bool keepDim = false) =>
        (Max(x, dim, keepDim), ArgMax(x, dim, keepDim));

    /// <summary>Minimum over <paramref name="dim"/>; the gradient goes to the (first) arg-min.</summary>
    public static Tensor Min(Tensor x, int dim, bool keepDim = false) => Neg(Max(Neg(x), dim, keepDim));

    /// <summary>Minimum of all elements (a scalar).</summary>
    public static Tensor Min(Tensor x) => Neg(Max(Neg(x)));

    /// <summary>The minima over <paramref name="dim"/> and where they are (the first on ties).</summary>
    public static (Tensor Values, Tensor Indices) MinWithIndices(Tensor x, int dim, bool keepDim = false) =>
        (Min(x, dim, keepDim), ArgMin(x, dim, keepDim));

    /// <summary>
    /// Positions of the maxima over <paramref name="dim"/> (the first on ties) as a tensor of whole numbers, with the
    /// axis kept as size 1 when <paramref name="keepDim"/>; with no <paramref name="dim"/>, the flat position of the
    /// largest element (a rank-0 tensor), as PyTorch's argmax. Not differentiable. <see cref="Tensor.ToInt32Array"/>
    /// reads the positions as integers.
    /// </summary>
    public static Tensor ArgMax(Tensor x, int? dim = null, bool keepDim = false) => ArgExtremum(x, dim, keepDim, max: true);

    /// <summary>Positions of the minima over <paramref name="dim"/> (first on ties); see <see cref="ArgMax(Tensor, int?, bool)"/>.</summary>
    public static Tensor ArgMin(Tensor x, int? dim = null, bool keepDim = false) => ArgExtremum(x, dim, keepDim, max: false);

    private static Tensor ArgExtremum(Tensor x, int? dim, bool keepDim, bool max)
    {
        if (x.Length == 0) throw new ArgumentException($"{(max ? "ArgMax" : "ArgMin")}: tensor of shape {x.Shape} is empty.");
        Tensor src = max ? x : Neg(x.Detach());
        if (dim is not int d)
        {
            var flat = ArgMaxIndices(src.Data, 1, x.Length, 1);
            var r0 = Tensor.Scalar(flat[0]);
            return keepDim ? Reshape(r0, Enumerable.Repeat(1, x.Rank).ToArray()) : r0;
        }
        int ax = x.Shape.NormalizeAxis(d);
        int outer = x.Shape.Product(0, ax), n = x.Shape[ax], inner = x.Shape.Product(ax + 1, x.Rank);
        var where = ArgMaxIndices(src.Data, outer, n, inner);
        var r = Tensor.Uninitialized(x.Shape.With(ax, keepDim ? 1 : null));
        var rd = r.Data;
        for (int i = 0; i < where.Length; i++) rd[i] = where[i] / inner % n;
        return r;
    }
}

public partial class Tensor
{
    /// <summary>The elements as integers (for index tensors such as <see cref="ArgMax"/>'s); throws on a non-whole value.</summary>
    public int[] ToInt32Array()
    {
        var d = Data;
        var r = new int[d.Length];
        for (int i = 0; i < d.Length; i++)
        {
            if (d[i] != MathF.Floor(d[i]) || !float.IsFinite(d[i]) || MathF.Abs(d[i]) > int.MaxValue)
                throw new InvalidOperationException($"ToInt32Array: element {i} is {d[i]}, not a whole number.");
            r[i] = (int)d[i];
        }
        return r;
    }

    /// <summary>Positions of the maxima over <paramref name="dim"/> (all elements when null).</summary>
    public Tensor ArgMax(int? dim = null, bool keepDim = false) => Ops.ArgMax(this, dim, keepDim);
    /// <summary>Positions of the minima over <paramref name="dim"/> (all elements when null).</summary>
    public Tensor ArgMin(int? dim = null, bool keepDim = false) => Ops.ArgMin(this, dim, keepDim);
    /// <summary>Maxima over <paramref name="dim"/> and their positions.</summary>
    public (Tensor Values, Tensor Indices) MaxWithIndices(int dim, bool keepDim = false) => Ops.MaxWithIndices(this, dim, keepDim);
    /// <summary>Minimum over an axis.</summary>
    public Tensor Min(int dim, bool keepDim = false) => Ops.Min(this, dim, keepDim);
    /// <summary>Minimum of all elements.</summary>
    public Tensor Min() => Ops.Min(this);
    /// <summary>Maximum of all elements.</summary>
    public Tensor Max() => Ops.Max(this);
    /// <summary>Variance over <paramref name="dim"/> (all elements when null), unbiased by default.</summary>
    public Tensor Var(int? dim = null, bool keepDim = false, int correction = 1) => Ops.Var(this, dim, keepDim, correction);
    /// <summary>Standard deviation over <paramref name="dim"/> (all elements when null).</summary>
    public Tensor Std(int? dim = null, bool keepDim = false, int correction = 1) => Ops.Std(this, dim, keepDim, correction);
    /// <summary>The p-norm over <paramref name="dim"/> (all elements when null; default: Euclidean).</summary>
    public Tensor Norm(float p = 2f, int? dim = null, bool keepDim = false) => Ops.Norm(this, p, dim, keepDim);
}
