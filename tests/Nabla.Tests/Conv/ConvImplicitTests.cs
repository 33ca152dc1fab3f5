using Nabla.Autograd;
using Nabla.Kernels;
using static Nabla.Tests.Core.Gen;

namespace Nabla.Tests.Conv;

/// <summary>
/// The implicit-GEMM convolution (unit stride, B read from the padded image) against the im2col +
/// GEMM path and the seven-loop definition on the shapes it is for (the ResNet's 3×3 layers, LeNet's
/// 5×5), on shapes that leave partial tiles in both directions, and with a batch of one split over
/// threads. In the Kernels category so that CI runs it on the AVX2 tile as well.
/// </summary>
[Trait("Category", "Kernels")]
public class ConvImplicitTests
{
    private static void Close(float[] expected, float[] actual, float tol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(MathF.Abs(expected[i] - actual[i]) <= tol * Math.Max(1f, MathF.Abs(expected[i])),
                $"{what} element {i}: expected {expected[i]}, got {actual[i]}");
    }

    private static (float[] Y, float[] Dx, float[] Dw) Run(ConvPath path, Tensor x0, Tensor w0, Tensor b0, Padding pad, int dilation, int groups, Activation act, Tensor up, int stride = 1)
    {
        using var forced = ConvDirect.Force(path);
        var y = Ops.Conv2d(x0, w0, b0, stride, pad, dilation, groups, activation: act).ToArray();
        // The gradients without the fused ReLU: a pre-activation within rounding of zero would flip
        // its mask between the two paths (seen at 1e-6 on the 7×7 layer).
        var x = x0.Clone(); var w = w0.Clone(); var b = b0.Clone();
        x.RequiresGrad = w.RequiresGrad = b.RequiresGrad = true;
        Ops.Conv2d(x, w, b, stride, pad, dilation, groups).Backward(up);
        return (y, x.Grad!.ToArray(), w.Grad!.ToArray());
    }

    [Theory]
    // n, c, h, w, o, k, padding (-1: same, -2: full), dilation, groups, relu
    [InlineData(3, 16, 28, 28, 16, 3, 1, 1, 1, true)]   // ResNet stage 1
    [InlineData(2, 32, 14, 14, 32, 3, 1, 1, 1, false)]  // ResNet stage 2
    [InlineData(2, 64, 7, 7, 64, 3, 1, 1, 1, true)]     // ResNet stage 3
    [InlineData(3, 6, 14, 14, 16, 5, 0, 1, 1, false)]   // LeNet conv2
    [InlineData(2, 1, 28, 28, 6, 5, 2, 1, 1, true)]     // LeNet conv1: 6 of 8 tile rows
    [InlineData(2, 3, 7, 9, 5, 3, -1, 2, 1, false)]     // same padding, dilation 2, odd sizes
    [InlineData(3, 4, 9, 7, 6, 5, -2, 1, 2, false)]     // full padding, two groups
    [InlineData(1, 8, 20, 23, 12, 3, 1, 1, 1, true)]    // one image: the grid split over threads
    [InlineData(1, 2, 5, 3, 7, 5, 3, 1, 1, false)]      // padding beyond the kernel's reach
    [InlineData(37, 5, 6, 5, 7, 3, 1, 1, 1, false)]     // many small grids per pass, channels off the tile
    [InlineData(1, 520, 5, 6, 8, 3, 1, 1, 1, false)]    // K = 4680: the row-offset table off the stack
    public void Implicit_GEMM_matches_the_im2col_path_forward_and_backward(int n, int c, int h, int w, int o, int k, int p, int d, int groups, bool relu)
    {
        var pad = p switch { -1 => Padding.Same, -2 => Padding.Full, _ => (Padding)p };
        var x = N(900 + c, n, c, h, w);
        var wt = N(910 + o, o, c / groups, k, k);
        var b = N(920, o);
        var g = Ops.Geometry("test", n, c, h, w, o, k, k, (1, 1), pad, (d, d), groups);
        Assert.True(ConvImplicit.Supports(in g, ConvPass.Forward) || !Gemm.IsSupported(GemmPath.Avx2));
        var up = N(930, n, o, g.OH, g.OW);
        var act = relu ? Activation.Relu : Activation.None;
        var gemm = Run(ConvPath.Gemm, x, wt, b, pad, d, groups, act, up);
        var implicitPath = Run(ConvPath.Implicit, x, wt, b, pad, d, groups, act, up);
        Close(gemm.Y, implicitPath.Y, 1e-4f, "y");
        Close(gemm.Dx, implicitPath.Dx, 1e-4f, "dx");
        Close(gemm.Dw, implicitPath.Dw, 1e-3f, "dw");

        var expected = new float[g.N * g.O * g.P];
        ConvKernels.Reference(in g, x.Data, wt.Data, b.Data, expected);
        if (relu) for (int i = 0; i < expected.Length; i++) expected[i] = MathF.Max(expected[i], 0f);
        Close(expected, implicitPath.Y, 1e-4f, "y against the definition");
    }

    [Theory]
    // n, c, h, w, o, k, stride, padding, dilation
    [InlineData(3, 16, 28, 28, 32, 3, 2, 1, 1)]  // ResNet's downsampling 3×3
    [InlineData(3, 16, 28, 28, 32, 1, 2, 0, 1)]  // and its 1×1 shortcut
    [InlineData(2, 3, 9, 11, 5, 3, 2, 0, 1)]     // odd sizes, no padding
    [InlineData(2, 4, 13, 10, 9, 5, 3, 2, 2)]    // stride 3, dilation 2
    [InlineData(37, 5, 8, 7, 6, 3, 2, 1, 1)]     // many small grids per weight-gradient pass
    public void Strided_convolution_runs_on_phase_planes_and_matches_the_im2col_path(int n, int c, int h, int w, int o, int k, int stride, int p, int d)
    {
        var x = N(950 + c, n, c, h, w);
        var wt = N(960 + o, o, c, k, k);
        var b = N(970, o);
        var g = Ops.Geometry("test", n, c, h, w, o, k, k, (stride, stride), p, (d, d), 1);
        var up = N(980, n, o, g.OH, g.OW);
        var gemm = Run(ConvPath.Gemm, x, wt, b, p, d, 1, Activation.Relu, up, stride);
        var implicitPath = Run(ConvPath.Implicit, x, wt, b, p, d, 1, Activation.Relu, up, stride);
        Close(gemm.Y, implicitPath.Y, 1e-4f, "y");
        Close(gemm.Dx, implicitPath.Dx, 1e-4f, "dx"); // the input gradient of a strided layer stays on the GEMM
        Close(gemm.Dw, implicitPath.Dw, 1e-3f, "dw");
        var expected = new float[g.N * g.O * g.P];
        ConvKernels.Reference(in g, x.Data, wt.Data, b.Data, expected);
        for (int i = 0; i < expected.Length; i++) expected[i] = MathF.Max(expected[i], 0f);
        Close(expected, implicitPath.Y, 1e-4f, "y against the definition");
    }

    [Fact]
    public void Gradients_accumulate_into_what_is_there()
    {
        // dx += convᵀ(dy, w): run the kernel directly on a buffer that already holds values.
        var g = Ops.Geometry("test", 2, 8, 11, 13, 10, 3, 3, (1, 1), 1, (1, 1), 1);
        var w = N(940, g.O, g.Cg, 3, 3).ToArray();
        var dy = N(941, g.N, g.O, g.OH, g.OW).ToArray();
        var start = N(942, g.N, g.C, g.H, g.W).ToArray();
        var viaGemm = (float[])start.Clone();
        var viaImplicit = (float[])start.Clone();
        ConvKernels.BackwardDataGemm(in g, dy, w, viaGemm);
        ConvImplicit.BackwardData(in g, dy, w, viaImplicit);
        Close(viaGemm, viaImplicit, 1e-4f, "dx");

        var x = N(943, g.N, g.C, g.H, g.W).ToArray();
        var dwStart = N(944, g.O, g.Cg, 3, 3).ToArray();
        var dwGemm = (float[])dwStart.Clone();
        var dwImplicit = (float[])dwStart.Clone();
        ConvKernels.BackwardWeightGemm(in g, x, dy, dwGemm);
        ConvImplicit.BackwardWeight(in g, x, dy, dwImplicit);
        Close(dwGemm, dwImplicit, 1e-4f, "dw");
    }

    [Fact]
    public void Auto_choice_takes_unit_stride_layers_whose_grid_and_tile_are_mostly_useful()
    {
        using var auto = ConvDirect.Force(ConvPath.Auto);
        if (!ConvImplicit.Supports(Ops.Geometry("t", 1, 16, 28, 28, 16, 3, 3, (1, 1), 1, (1, 1), 1), ConvPass.Forward)) return;
        foreach (var (c, s, o) in new[] { (16, 28, 16), (32, 14, 32), (64, 7, 64) })
        {
            var resnet = Ops.Geometry("t", 8, c, s, s, o, 3, 3, (1, 1), 1, (1, 1), 1);
            Assert.True(ConvImplicit.Choose(resnet, ConvPass.Forward));
            Assert.True(ConvImplicit.Choose(resnet, ConvPass.BackwardData));
            // The weight gradient: implicit on grids of 128 floats or more, im2col + GEMM on 7×7 (a 7×9 grid).
            Assert.Equal(s > 7, ConvImplicit.Choose(resnet, ConvPass.BackwardWeight));
        }
        // LeNet's second layer: forward on it (100 of 160 grid columns kept), but its input gradient,
        // a full correlation of an unpadded layer's gradient, would multiply mostly padding.
        var lenet2 = Ops.Geometry("t", 8, 6, 14, 14, 16, 5, 5, (1, 1), 0, (1, 1), 1);
        Assert.True(ConvImplicit.Choose(lenet2, ConvPass.Forward));
        Assert.False(ConvImplicit.Choose(lenet2, ConvPass.BackwardData));
        var down = Ops.Geometry("t", 8, 16, 28, 28, 32, 3, 3, (2, 2), 1, (1, 1), 1); // stride 2: phase planes
        Assert.True(ConvImplicit.Choose(down, ConvPass.Forward));
        Assert.True(ConvImplicit.Choose(down, ConvPass.BackwardWeight));
        Assert.False(ConvImplicit.Choose(down, ConvPass.BackwardData)); // stays on the GEMM
        Assert.False(ConvImplicit.Choose(Ops.Geometry("t", 8, 1, 28, 28, 16, 3, 3, (1, 1), 1, (1, 1), 1), ConvPass.Forward)); // depth 9: too shallow
        Assert.False(ConvImplicit.Choose(Ops.Geometry("t", 8, 32, 14, 14, 64, 1, 1, (1, 1), 0, (1, 1), 1), ConvPass.Forward)); // 1×1: a plain GEMM already
    }
}
