using System.Numerics.Tensors;
using Nabla.Autograd;
using Nabla.Kernels;

namespace Nabla;

/// <summary>
/// The zero padding of a convolution: explicit numbers (an <c>int</c> or a pair converts
/// implicitly, as PyTorch's <c>padding=1</c> or <c>padding=(1, 2)</c>), or one of the notes' modes:
/// <see cref="Valid"/> (none), <see cref="Same"/> (the notes' half padding: output size = input size
/// at stride 1) and <see cref="Full"/> (kernel extent − 1 on every side: the full convolution).
/// </summary>
public readonly record struct Padding
{
    private Padding(PaddingKind kind, int h, int w) { Kind = kind; H = h; W = w; }

    /// <summary>How the padding is determined.</summary>
    public PaddingKind Kind { get; }

    /// <summary>Rows of zeros above and below (explicit padding only).</summary>
    public int H { get; }

    /// <summary>Columns of zeros left and right (explicit padding only).</summary>
    public int W { get; }

    /// <summary>No padding.</summary>
    public static Padding Valid => new(PaddingKind.Valid, 0, 0);

    /// <summary>
    /// As much padding as keeps the output the size of the input at stride 1: (extent − 1) in all,
    /// the odd one after (PyTorch's <c>padding='same'</c>; for odd kernels the notes' ⌊k/2⌋ on each side).
    /// </summary>
    public static Padding Same => new(PaddingKind.Same, 0, 0);

    /// <summary>extent − 1 on every side, extent = dilation·(kernel − 1) + 1 (the full convolution).</summary>
    public static Padding Full => new(PaddingKind.Full, 0, 0);

    /// <summary>Explicit padding of <paramref name="h"/> rows and <paramref name="w"/> columns on each side.</summary>
    public static Padding Explicit(int h, int w)
    {
        if (h < 0 || w < 0) throw new ArgumentOutOfRangeException(nameof(h), $"Padding: ({h}, {w}) must not be negative.");
        return new(PaddingKind.Explicit, h, w);
    }

    /// <summary>The same explicit padding on every side.</summary>
    public static implicit operator Padding(int p) => Explicit(p, p);

    /// <summary>Explicit padding (rows, columns).</summary>
    public static implicit operator Padding((int H, int W) p) => Explicit(p.H, p.W);

    /// <summary>The zeros before and after along one axis for a kernel of <paramref name="extent"/> = dilation·(k − 1) + 1.</summary>
    internal (int Before, int After) Resolve(int extent, int stride, bool height, string op)
    {
        switch (Kind)
        {
            case PaddingKind.Same:
                if (stride != 1) throw new ArgumentException($"{op}: padding 'same' needs stride 1 (got {stride}), as in PyTorch.");
                return ((extent - 1) / 2, extent - 1 - (extent - 1) / 2);
            case PaddingKind.Full: return (extent - 1, extent - 1);
            case PaddingKind.Explicit: int p = height ? H : W; return (p, p);
            default: return (0, 0);
        }
    }

    /// <summary>
    /// The zeros (before, after) along one axis for a kernel of <paramref name="kernel"/> taps and
    /// <paramref name="dilation"/> (what an exporter writes as explicit pads).
    /// </summary>
    public (int Before, int After) ResolveForExport(int kernel, int dilation, int stride, bool height) =>
        Resolve(dilation * (kernel - 1) + 1, stride, height, "Padding");

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        PaddingKind.Explicit => H == W ? H.ToString() : $"({H}, {W})",
        _ => Kind.ToString().ToLowerInvariant(),
    };
}

/// <summary>How a <see cref="Padding"/> is determined.</summary>
public enum PaddingKind
{
    /// <summary>Given numbers.</summary>
    Explicit,
    /// <summary>None.</summary>
    Valid,
    /// <summary>Output size = input size (stride 1).</summary>
    Same,
    /// <summary>Kernel extent − 1 on every side.</summary>
    Full,
}

public static partial class Ops
{
    /// <summary>
    /// 2-D convolution (cross-correlation, as in PyTorch) of x [N, C, H, W] with weight
    /// [O, C/groups, KH, KW] plus bias [O]: output [N, O, OH, OW] with
    /// OH = ⌊(H + padding − dilation·(KH − 1) − 1) / stride⌋ + 1. Optionally fused with an
    /// activation applied in the same pass (inference and training). Backward: dx is the full
    /// convolution of dy with the 180°-rotated filter (computed as GEMM + col2im), dW = Σ dy ⊗
    /// unfolded x, db = Σ dy.
    /// </summary>
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias, (int H, int W) stride, Padding padding, (int H, int W) dilation,
        int groups = 1, Activation activation = Activation.None)
        => Conv2d(x, weight, bias, stride, padding, dilation, groups, activation, packed: null);

    /// <summary>
    /// <see cref="Conv2d(Tensor, Tensor, Tensor?, ValueTuple{int, int}, Padding, ValueTuple{int, int}, int, Activation)"/>
    /// with the packed weights kept in <paramref name="packed"/> between calls, for callers that
    /// own weights which do not change while it is in use (folded batch norm in inference).
    /// </summary>
    internal static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias, (int H, int W) stride, Padding padding, (int H, int W) dilation,
        int groups, Activation activation, ConvImplicit.PackedWeightCache? packed)
        => Conv2d(x, weight, bias, stride, padding, dilation, groups, activation, packed, residual: null);

    /// <summary>
    /// activation(conv(x) + bias + <paramref name="residual"/>) in one pass over the output, for
    /// inference only (nothing is recorded): a ResNet block's second convolution and its shortcut.
    /// </summary>
    internal static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias, (int H, int W) stride, Padding padding, (int H, int W) dilation,
        int groups, Activation activation, ConvImplicit.PackedWeightCache? packed, Tensor? residual)
    {
        const string op = "Conv2d";
        if (x.Rank != 4) throw new ShapeMismatchException(op, x.Shape, weight.Shape, "input must be [N, C, H, W]");
        if (weight.Rank != 4) throw new ShapeMismatchException(op, x.Shape, weight.Shape, "weight must be [O, C/groups, KH, KW]");
        if (groups < 1 || x.Shape[1] % groups != 0 || weight.Shape[0] % groups != 0)
            throw new ShapeMismatchException(op, x.Shape, weight.Shape, $"groups={groups} must divide the input channels and the output channels");
        if (weight.Shape[1] * groups != x.Shape[1])
            throw new ShapeMismatchException(op, x.Shape, weight.Shape, $"input has {x.Shape[1]} channels but the weight expects {weight.Shape[1] * groups} (C/groups = {weight.Shape[1]}, groups = {groups})");
        if (bias is not null && (bias.Rank != 1 || bias.Shape[0] != weight.Shape[0]))
            throw new ShapeMismatchException(op, weight.Shape, bias.Shape, "bias must be [O]");
        var g = Geometry(op, x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], weight.Shape[0], weight.Shape[2], weight.Shape[3], stride, padding, dilation, groups);
        var y = Tensor.Uninitialized(new Shape(g.N, g.O, g.OH, g.OW));
        bool needs = GradMode.IsEnabled && (x.RequiresGrad || weight.RequiresGrad || (bias?.RequiresGrad ?? false));
        if (residual is not null)
        {
            if (needs || (GradMode.IsEnabled && residual.RequiresGrad))
                throw new InvalidOperationException($"{op}: a fused residual is for inference; add it as its own op when recording gradients.");
            if (residual.Shape != y.Shape) throw new ShapeMismatchException(op, y.Shape, residual.Shape, "the residual must have the output's shape");
            ConvKernels.Forward(in g, x.Data, weight.Data, bias is null ? default : bias.Data, y.Data, activation, packed, residual.Data);
            return y;
        }
        // ReLU's backward needs the pre-activation (its subgradient at 0 is ½), so it gets its own buffer.
        bool keepZ = needs && activation == Activation.Relu;
        var z = keepZ ? Tensor.Uninitialized(y.Shape) : y;
        ConvKernels.Forward(in g, x.Data, weight.Data, bias is null ? default : bias.Data, z.Data, keepZ ? Activation.None : activation, packed);
        if (keepZ) TensorPrimitives.Max(z.Data, 0f, y.Data);
        if (!needs) return y;
        string name = activation == Activation.None ? op : op + "+" + activation;
        return Graph.Record(y, name, bias is null ? [x, weight] : [x, weight, bias], gy =>
        {
            ReadOnlySpan<float> dz = ActivationGradient(activation, z, y, gy);
            if (x.RequiresGrad)
            {
                var (dx, overwrite) = x.GradTarget();
                ConvKernels.BackwardData(in g, dz, weight.Data, dx.Data, overwrite);
            }
            if (weight.RequiresGrad) ConvKernels.BackwardWeight(in g, x.Data, dz, weight.GradBuffer().Data);
            if (bias is not null && bias.RequiresGrad) ConvKernels.BackwardBias(dz, g.N, g.O, g.P, bias.GradBuffer().Data);
        });
    }

    /// <summary>
    /// <see cref="Conv2d(Tensor, Tensor, Tensor?, ValueTuple{int, int}, Padding, ValueTuple{int, int}, int, Activation)"/>
    /// with the same stride and dilation along both axes.
    /// </summary>
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias = null, int stride = 1, Padding padding = default, int dilation = 1,
        int groups = 1, Activation activation = Activation.None)
        => Conv2d(x, weight, bias, (stride, stride), padding, (dilation, dilation), groups, activation);

    /// <summary>
    /// 1-D convolution of x [N, C, L] with weight [O, C/groups, K] plus bias [O]: output [N, O, L′]
    /// (the notes' sentence classifier slides it over word embeddings). Computed as a 2-D
    /// convolution of height 1.
    /// </summary>
    public static Tensor Conv1d(Tensor x, Tensor weight, Tensor? bias = null, int stride = 1, Padding padding = default, int dilation = 1,
        int groups = 1, Activation activation = Activation.None)
    {
        if (x.Rank != 3) throw new ShapeMismatchException("Conv1d", x.Shape, weight.Shape, "input must be [N, C, L]");
        if (weight.Rank != 3) throw new ShapeMismatchException("Conv1d", x.Shape, weight.Shape, "weight must be [O, C/groups, K]");
        var pad = padding.Kind == PaddingKind.Explicit ? Padding.Explicit(0, padding.W) : padding;
        var y = Conv2d(Reshape(x, x.Shape[0], x.Shape[1], 1, x.Shape[2]), Reshape(weight, weight.Shape[0], weight.Shape[1], 1, weight.Shape[2]),
            bias, (1, stride), pad, (1, dilation), groups, activation);
        return Reshape(y, y.Shape[0], y.Shape[1], y.Shape[3]);
    }

    /// <summary>
    /// Transposed 2-D convolution (the gradient of <see cref="Conv2d(Tensor, Tensor, Tensor?, int, Padding, int, int, Activation)"/>
    /// with respect to its input, used to upsample in decoders): x [N, Cin, H, W], weight
    /// [Cin, Cout/groups, KH, KW] (PyTorch's layout), bias [Cout]; output [N, Cout, OH, OW] with
    /// OH = (H − 1)·stride − 2·padding + dilation·(KH − 1) + outputPadding + 1.
    /// </summary>
    public static Tensor ConvTranspose2d(Tensor x, Tensor weight, Tensor? bias, (int H, int W) stride, (int H, int W) padding,
        (int H, int W) outputPadding, (int H, int W) dilation, int groups = 1)
    {
        const string op = "ConvTranspose2d";
        if (x.Rank != 4) throw new ShapeMismatchException(op, x.Shape, weight.Shape, "input must be [N, Cin, H, W]");
        if (weight.Rank != 4) throw new ShapeMismatchException(op, x.Shape, weight.Shape, "weight must be [Cin, Cout/groups, KH, KW]");
        if (groups < 1 || weight.Shape[0] % groups != 0)
            throw new ShapeMismatchException(op, x.Shape, weight.Shape, $"groups={groups} must divide the input channels");
        if (weight.Shape[0] != x.Shape[1])
            throw new ShapeMismatchException(op, x.Shape, weight.Shape, $"input has {x.Shape[1]} channels but the weight expects {weight.Shape[0]}");
        if (stride.H < 1 || stride.W < 1 || dilation.H < 1 || dilation.W < 1 || padding.H < 0 || padding.W < 0)
            throw new ArgumentException($"{op}: stride {stride} and dilation {dilation} must be positive, padding {padding} non-negative.");
        if (outputPadding.H < 0 || outputPadding.W < 0 || (outputPadding.H >= stride.H && outputPadding.H >= dilation.H) || (outputPadding.W >= stride.W && outputPadding.W >= dilation.W))
            throw new ArgumentException($"{op}: output padding {outputPadding} must be smaller than the stride {stride} or the dilation {dilation}.");
        int n = x.Shape[0], cin = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        int cout = weight.Shape[1] * groups, kh = weight.Shape[2], kw = weight.Shape[3];
        if (bias is not null && (bias.Rank != 1 || bias.Shape[0] != cout))
            throw new ShapeMismatchException(op, weight.Shape, bias.Shape, $"bias must be [{cout}]");
        int oh = (h - 1) * stride.H - 2 * padding.H + dilation.H * (kh - 1) + outputPadding.H + 1;
        int ow = (w - 1) * stride.W - 2 * padding.W + dilation.W * (kw - 1) + outputPadding.W + 1;
        if (oh <= 0 || ow <= 0)
            throw new ShapeMismatchException(op, x.Shape, weight.Shape, $"output size {oh}×{ow} is not positive (padding {padding} too large)");
        // The convolution this op transposes: its input is our output, its output our input.
        var g = new ConvGeometry(n, cout, oh, ow, cin, kh, kw, stride.H, stride.W, padding.H, padding.W, dilation.H, dilation.W, groups, h, w);
        var y = new Tensor(new Shape(n, cout, oh, ow));
        ConvKernels.BackwardData(in g, x.Data, weight.Data, y.Data);
        if (bias is not null)
            for (int i = 0; i < n; i++)
                for (int c = 0; c < cout; c++)
                {
                    var plane = y.Data.Slice((i * cout + c) * oh * ow, oh * ow);
                    TensorPrimitives.Add(plane, bias.Data[c], plane);
                }
        bool needs = GradMode.IsEnabled && (x.RequiresGrad || weight.RequiresGrad || (bias?.RequiresGrad ?? false));
        if (!needs) return y;
        return Graph.Record(y, op, bias is null ? [x, weight] : [x, weight, bias], gy =>
        {
            if (x.RequiresGrad)
            {
                // dx = conv(dy, W): computed into scratch, then added (the kernel overwrites).
                var dx = TensorArena.Allocate(x.Length, clear: false);
                ConvKernels.Forward(in g, gy.Data, weight.Data, default, dx);
                AddInPlace(x.GradBuffer().Data, dx.AsSpan(0, x.Length));
            }
            if (weight.RequiresGrad) ConvKernels.BackwardWeight(in g, gy.Data, x.Data, weight.GradBuffer().Data);
            if (bias is not null && bias.RequiresGrad) ConvKernels.BackwardBias(gy.Data, n, cout, oh * ow, bias.GradBuffer().Data);
        });
    }

    /// <summary>
    /// <see cref="ConvTranspose2d(Tensor, Tensor, Tensor?, ValueTuple{int, int}, ValueTuple{int, int}, ValueTuple{int, int}, ValueTuple{int, int}, int)"/>
    /// with the same settings along both axes.
    /// </summary>
    public static Tensor ConvTranspose2d(Tensor x, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0,
        int outputPadding = 0, int dilation = 1, int groups = 1)
        => ConvTranspose2d(x, weight, bias, (stride, stride), (padding, padding), (outputPadding, outputPadding), (dilation, dilation), groups);

    internal static ConvGeometry Geometry(string op, int n, int c, int h, int w, int o, int kh, int kw,
        (int H, int W) stride, Padding padding, (int H, int W) dilation, int groups)
    {
        if (stride.H < 1 || stride.W < 1 || dilation.H < 1 || dilation.W < 1)
            throw new ArgumentException($"{op}: stride {stride} and dilation {dilation} must be positive.");
        if (kh < 1 || kw < 1) throw new ArgumentException($"{op}: kernel {kh}×{kw} must be positive.");
        int eh = dilation.H * (kh - 1) + 1, ew = dilation.W * (kw - 1) + 1;
        var (pt, pb) = padding.Resolve(eh, stride.H, true, op);
        var (pl, pr) = padding.Resolve(ew, stride.W, false, op);
        int oh = h + pt + pb - eh, ow = w + pl + pr - ew;
        if (oh < 0 || ow < 0)
            throw new ArgumentException($"{op}: input {h}×{w} with padding {padding} is smaller than the kernel extent {eh}×{ew}.");
        return new ConvGeometry(n, c, h, w, o, kh, kw, stride.H, stride.W, pt, pl, dilation.H, dilation.W, groups, oh / stride.H + 1, ow / stride.W + 1);
    }

    // dz = dy ⊙ act′ for a fused activation (dy itself when there is none).
    private static ReadOnlySpan<float> ActivationGradient(Activation activation, Tensor z, Tensor y, Tensor gy)
    {
        if (activation == Activation.None) return gy.Data;
        var buf = TensorArena.Allocate(y.Length, clear: false).AsSpan(0, y.Length);
        switch (activation)
        {
            case Activation.Relu: ActivationKernels.ReluBackward(z.Data, gy.Data, buf, accumulate: false); break;
            case Activation.Sigmoid: ActivationKernels.SigmoidBackward(y.Data, gy.Data, buf); break;
            case Activation.Tanh: ActivationKernels.TanhBackward(y.Data, gy.Data, buf); break;
        }
        return buf;
    }
}
