using Nabla.Autograd;
using Nabla.Kernels;

namespace Nabla;

/// <summary>How <see cref="Ops.Upsample"/> interpolates.</summary>
public enum UpsampleMode
{
    /// <summary>Each output pixel copies the nearest input pixel (PyTorch's 'nearest').</summary>
    Nearest,
    /// <summary>Bilinear interpolation with align_corners = false (PyTorch's 'bilinear').</summary>
    Bilinear,
}

public static partial class Ops
{
    private static PoolGeometry PoolGeometryOf(string op, Tensor x, (int H, int W) kernel, (int H, int W)? stride, (int H, int W) padding, bool ceilMode)
    {
        if (x.Rank != 4) throw new ShapeMismatchException(op, x.Shape, null, "input must be [N, C, H, W]");
        var s = stride ?? kernel;
        if (kernel.H < 1 || kernel.W < 1 || s.H < 1 || s.W < 1)
            throw new ArgumentException($"{op}: kernel {kernel} and stride {s} must be positive.");
        if (padding.H < 0 || padding.W < 0 || padding.H * 2 > kernel.H || padding.W * 2 > kernel.W)
            throw new ArgumentException($"{op}: padding {padding} must be between 0 and half the kernel {kernel}.");
        int h = x.Shape[2], w = x.Shape[3];
        int oh = PoolGeometry.OutSize(h, kernel.H, s.H, padding.H, ceilMode), ow = PoolGeometry.OutSize(w, kernel.W, s.W, padding.W, ceilMode);
        if (oh <= 0 || ow <= 0)
            throw new ShapeMismatchException(op, x.Shape, null, $"input {h}×{w} is smaller than the kernel {kernel.H}×{kernel.W} with padding {padding}");
        return new PoolGeometry(x.Shape[0] * x.Shape[1], h, w, kernel.H, kernel.W, s.H, s.W, padding.H, padding.W, oh, ow);
    }

    /// <summary>
    /// 2-D max pooling of x [N, C, H, W] (stride defaults to the kernel) together with the indices
    /// of the maxima: flat positions ih·W + iw within each input plane, stored exactly as floats
    /// (for <see cref="MaxUnpool2d"/>). Backward: each window's gradient goes to its maximum.
    /// </summary>
    public static (Tensor Output, Tensor Indices) MaxPool2dWithIndices(Tensor x, (int H, int W) kernel, (int H, int W)? stride = null,
        (int H, int W) padding = default, bool ceilMode = false)
    {
        var g = PoolGeometryOf("MaxPool2d", x, kernel, stride, padding, ceilMode);
        var shape = new Shape(x.Shape[0], x.Shape[1], g.OH, g.OW);
        var y = Tensor.Uninitialized(shape);
        var idx = new int[shape.Size];
        PoolKernels.MaxForward(g, x.data, y.data, idx);
        var indices = Tensor.Uninitialized(shape);
        for (int i = 0; i < idx.Length; i++) indices.data[i] = idx[i];
        if (Graph.NeedsGrad(x))
            Graph.Record(y, "MaxPool2d", [x], gy => PoolKernels.MaxBackward(g, gy.Data, idx, x.GradBuffer().Data));
        return (y, indices);
    }

    /// <summary>2-D max pooling (see <see cref="MaxPool2dWithIndices"/>). Keeps the maxima's
    /// positions only when a gradient needs them.</summary>
    public static Tensor MaxPool2d(Tensor x, (int H, int W) kernel, (int H, int W)? stride = null, (int H, int W) padding = default, bool ceilMode = false)
    {
        var g = PoolGeometryOf("MaxPool2d", x, kernel, stride, padding, ceilMode);
        var y = Tensor.Uninitialized(new Shape(x.Shape[0], x.Shape[1], g.OH, g.OW));
        bool grad = Graph.NeedsGrad(x);
        var idx = grad ? new int[y.data.Length] : null;
        PoolKernels.MaxForward(g, x.data, y.data, idx);
        if (grad)
            Graph.Record(y, "MaxPool2d", [x], gy => PoolKernels.MaxBackward(g, gy.Data, idx!, x.GradBuffer().Data));
        return y;
    }

    /// <summary>2-D max pooling with a square kernel (stride defaults to the kernel).</summary>
    public static Tensor MaxPool2d(Tensor x, int kernel, int? stride = null, int padding = 0, bool ceilMode = false)
        => MaxPool2d(x, (kernel, kernel), stride is int s ? (s, s) : null, (padding, padding), ceilMode);

    /// <summary>
    /// 2-D average pooling of x [N, C, H, W] (stride defaults to the kernel). With
    /// <paramref name="countIncludePad"/> (PyTorch's default) the zeros of the padding count in
    /// the mean. Backward: each window's gradient is shared equally by its elements.
    /// </summary>
    public static Tensor AvgPool2d(Tensor x, (int H, int W) kernel, (int H, int W)? stride = null, (int H, int W) padding = default,
        bool ceilMode = false, bool countIncludePad = true)
    {
        var g = PoolGeometryOf("AvgPool2d", x, kernel, stride, padding, ceilMode);
        var y = Tensor.Uninitialized(new Shape(x.Shape[0], x.Shape[1], g.OH, g.OW));
        PoolKernels.AvgForward(g, x.data, y.data, countIncludePad);
        if (Graph.NeedsGrad(x))
            Graph.Record(y, "AvgPool2d", [x], gy => PoolKernels.AvgBackward(g, gy.Data, x.GradBuffer().Data, countIncludePad));
        return y;
    }

    /// <summary>2-D average pooling with a square kernel.</summary>
    public static Tensor AvgPool2d(Tensor x, int kernel, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true)
        => AvgPool2d(x, (kernel, kernel), stride is int s ? (s, s) : null, (padding, padding), ceilMode, countIncludePad);

    /// <summary>
    /// Average pooling of x [N, C, H, W] to a fixed output size [N, C, OH, OW]: output (i, j)
    /// averages rows ⌊i·H/OH⌋ … ⌈(i+1)·H/OH⌉ − 1 and the same for columns (PyTorch's windows).
    /// (1, 1) is global average pooling.
    /// </summary>
    public static Tensor AdaptiveAvgPool2d(Tensor x, (int H, int W) outputSize)
    {
        if (x.Rank != 4) throw new ShapeMismatchException("AdaptiveAvgPool2d", x.Shape, null, "input must be [N, C, H, W]");
        if (outputSize.H < 1 || outputSize.W < 1) throw new ArgumentException($"AdaptiveAvgPool2d: output size {outputSize} must be positive.");
        int planes = x.Shape[0] * x.Shape[1], h = x.Shape[2], w = x.Shape[3], oh = outputSize.H, ow = outputSize.W;
        if (h == 0 || w == 0) throw new ShapeMismatchException("AdaptiveAvgPool2d", x.Shape, null, "input planes are empty");
        var y = Tensor.Uninitialized(new Shape(x.Shape[0], x.Shape[1], oh, ow));
        PoolKernels.AdaptiveAvgForward(planes, h, w, oh, ow, x.Data, y.Data);
        if (Graph.NeedsGrad(x))
            Graph.Record(y, "AdaptiveAvgPool2d", [x], gy => PoolKernels.AdaptiveAvgBackward(planes, h, w, oh, ow, gy.Data, x.GradBuffer().Data));
        return y;
    }

    /// <summary>Global average pooling: [N, C, H, W] → [N, C] (the mean of each plane).</summary>
    public static Tensor GlobalAvgPool2d(Tensor x)
    {
        var y = AdaptiveAvgPool2d(x, (1, 1));
        return Reshape(y, y.Shape[0], y.Shape[1]);
    }

    /// <summary>
    /// The partial inverse of max pooling: x [N, C, H, W] and the indices from
    /// <see cref="MaxPool2dWithIndices"/> give [N, C, OH, OW] zeros except that each value returns
    /// to the position its maximum came from (the notes' unpooling).
    /// </summary>
    public static Tensor MaxUnpool2d(Tensor x, Tensor indices, (int H, int W) outputSize)
    {
        if (x.Rank != 4 || indices.Shape != x.Shape)
            throw new ShapeMismatchException("MaxUnpool2d", x.Shape, indices.Shape, "input [N, C, H, W] and indices must have the same shape");
        if (outputSize.H < 1 || outputSize.W < 1) throw new ArgumentException($"MaxUnpool2d: output size {outputSize} must be positive.");
        int planes = x.Shape[0] * x.Shape[1], inPlane = x.Shape[2] * x.Shape[3], outPlane = outputSize.H * outputSize.W;
        foreach (float v in indices.Data)
            if (!(v >= 0 && v < outPlane) || v != MathF.Floor(v))
                throw new ArgumentException($"MaxUnpool2d: index {v} is outside the output plane of {outputSize.H}×{outputSize.W}.");
        var y = Tensor.Uninitialized(new Shape(x.Shape[0], x.Shape[1], outputSize.H, outputSize.W));
        PoolKernels.MaxUnpoolForward(planes, inPlane, outPlane, x.Data, indices.Data, y.Data);
        if (Graph.NeedsGrad(x))
            Graph.Record(y, "MaxUnpool2d", [x], gy =>
            {
                var gx = x.GradBuffer().Data;
                var g = gy.Data;
                var ix = indices.Data;
                for (int p = 0; p < planes; p++)
                    for (int i = 0; i < inPlane; i++) gx[p * inPlane + i] += g[p * outPlane + (int)ix[p * inPlane + i]];
            });
        return y;
    }

    /// <summary>
    /// Resizes x [N, C, H, W] to [N, C, OH, OW] by <paramref name="mode"/> (nearest, or bilinear with
    /// align_corners = false, as PyTorch's <c>interpolate</c>).
    /// </summary>
    public static Tensor Upsample(Tensor x, (int H, int W) size, UpsampleMode mode = UpsampleMode.Nearest)
    {
        if (x.Rank != 4) throw new ShapeMismatchException("Upsample", x.Shape, null, "input must be [N, C, H, W]");
        if (size.H < 1 || size.W < 1) throw new ArgumentException($"Upsample: output size {size} must be positive.");
        int planes = x.Shape[0] * x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        if (h == 0 || w == 0) throw new ShapeMismatchException("Upsample", x.Shape, null, "input planes are empty");
        bool linear = mode == UpsampleMode.Bilinear;
        var rows = PoolKernels.ResizeTable(h, size.H, linear);
        var cols = PoolKernels.ResizeTable(w, size.W, linear);
        var y = Tensor.Uninitialized(new Shape(x.Shape[0], x.Shape[1], size.H, size.W));
        PoolKernels.ResizeForward(planes, h, w, size.H, size.W, rows, cols, x.Data, y.Data);
        if (Graph.NeedsGrad(x))
            Graph.Record(y, "Upsample" + mode, [x], gy => PoolKernels.ResizeBackward(planes, h, w, size.H, size.W, rows, cols, gy.Data, x.GradBuffer().Data));
        return y;
    }
}
