using Nabla.Autograd;
using Nabla.Kernels;
using Nabla.Models;
using Nabla.Nn;
using static Nabla.Tests.Core.Gen;

namespace Nabla.Tests.Conv;

/// <summary>
/// The direct convolution kernel against the im2col + GEMM path on larger shapes than the
/// gradient check can afford (LeNet's layers, depthwise with long rows, batches split over
/// threads), and batch norm folded into the convolution for inference.
/// </summary>
public class ConvDirectTests
{
    private static void Close(float[] expected, float[] actual, float tol)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(MathF.Abs(expected[i] - actual[i]) <= tol * Math.Max(1f, MathF.Abs(expected[i])),
                $"element {i}: expected {expected[i]}, got {actual[i]}");
    }

    private static (float[] Y, float[] Dx, float[] Dw, float[] Db) Run(ConvPath path, Tensor x0, Tensor w0, Tensor b0, int stride, Padding pad, int dilation, int groups, Tensor up)
    {
        using var forced = ConvDirect.Force(path);
        var x = x0.Clone(); var w = w0.Clone(); var b = b0.Clone();
        x.RequiresGrad = w.RequiresGrad = b.RequiresGrad = true;
        var y = Ops.Conv2d(x, w, b, (stride, 1), pad, (dilation, dilation), groups);
        y.Backward(up);
        return (y.ToArray(), x.Grad!.ToArray(), w.Grad!.ToArray(), b.Grad!.ToArray());
    }

    [Theory]
    // n, c, h, w, o, k, row stride, padding (-1: same), dilation, groups
    [InlineData(8, 1, 28, 28, 6, 5, 1, 2, 1, 1)]     // LeNet conv1 (batch split over threads)
    [InlineData(8, 6, 14, 14, 16, 5, 1, 0, 1, 1)]    // LeNet conv2
    [InlineData(4, 16, 15, 41, 16, 3, 1, 1, 1, 16)]  // depthwise, rows over one 32-wide block
    [InlineData(3, 8, 12, 9, 16, 3, 1, -1, 2, 8)]    // depthwise ×2, same padding, dilation 2
    [InlineData(2, 3, 11, 13, 5, 3, 2, 1, 1, 1)]     // row stride 2 (dX falls back to the GEMM)
    [InlineData(1, 2, 5, 3, 7, 5, 1, 3, 1, 1)]       // padding larger than the kernel reach
    public void Direct_kernel_matches_the_GEMM_path_forward_and_backward(int n, int c, int h, int w, int o, int k, int stride, int p, int d, int groups)
    {
        var pad = p < 0 ? Padding.Same : (Padding)p;
        var x = N(200 + c, n, c, h, w);
        var wt = N(300 + o, o, c / groups, k, k);
        var b = N(400, o);
        var g = Ops.Geometry("test", n, c, h, w, o, k, k, (stride, 1), pad, (d, d), groups);
        var up = N(500, n, o, g.OH, g.OW);
        var gemm = Run(ConvPath.Gemm, x, wt, b, stride, pad, d, groups, up);
        var direct = Run(ConvPath.Direct, x, wt, b, stride, pad, d, groups, up);
        Close(gemm.Y, direct.Y, 1e-4f);
        Close(gemm.Dx, direct.Dx, 1e-4f);
        Close(gemm.Dw, direct.Dw, 1e-3f); // sums over the whole batch: larger magnitudes
        Close(gemm.Db, direct.Db, 1e-4f);
        var expected = new float[g.N * g.O * g.P];
        ConvKernels.Reference(in g, x.Data, wt.Data, b.Data, expected);
        Close(expected, direct.Y, 1e-4f);
    }

    [Theory]
    // widths 1..40 reach every run length of the unfolding's vector copies (under 4, 4-7, 8-15,
    // 16 and more with a tail); padding 0/2/7 crops runs on the left, right or both sides.
    [InlineData(0, 1)]
    [InlineData(2, 1)]
    [InlineData(7, 1)]
    [InlineData(2, 2)]
    public void Unfolding_and_folding_match_their_definitions_at_every_run_length(int pad, int dilation)
    {
        var rng = new Random(7);
        for (int w = 1; w <= 40; w++)
        {
            int c = 2, h = 5, k = 3;
            if (w + 2 * pad < (k - 1) * dilation + 1) continue; // no output column
            var g = Ops.Geometry("test", 1, c, h, w, 1, k, k, (1, 1), pad, (dilation, dilation), 1);
            var x = new float[c * h * w];
            for (int i = 0; i < x.Length; i++) x[i] = (float)rng.NextDouble() - 0.5f;
            var cols = new float[g.K * g.P];
            Array.Fill(cols, float.NaN); // every element must be written, padding included
            ConvKernels.Im2Col(in g, x, cols);
            for (int ci = 0; ci < c; ci++)
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < k; j++)
                        for (int oh = 0; oh < g.OH; oh++)
                            for (int ow = 0; ow < g.OW; ow++)
                            {
                                int ih = oh - pad + i * dilation, iw = ow - pad + j * dilation;
                                float expected = ih >= 0 && ih < h && iw >= 0 && iw < w ? x[(ci * h + ih) * w + iw] : 0f;
                                Assert.Equal(expected, cols[((ci * k + i) * k + j) * g.P + oh * g.OW + ow]);
                            }

            // Folding is the adjoint: <im2col(x), C> = <x, col2im(C)>, and col2im adds to what is there.
            var cc = new float[cols.Length];
            for (int i = 0; i < cc.Length; i++) cc[i] = (float)rng.NextDouble() - 0.5f;
            var folded = new float[x.Length];
            Array.Fill(folded, 1f);
            ConvKernels.Col2Im(in g, cc, folded);
            double left = 0, right = 0;
            for (int i = 0; i < cols.Length; i++) left += (double)cols[i] * cc[i];
            for (int i = 0; i < x.Length; i++) right += (double)x[i] * (folded[i] - 1f);
            Assert.True(Math.Abs(left - right) < 1e-4, $"width {w}: <im2col(x), C> = {left} but <x, col2im(C)> = {right}");
        }
    }

    [Fact]
    public void Auto_choice_takes_the_direct_kernel_for_depthwise_convolutions()
    {
        using var auto = ConvDirect.Force(ConvPath.Auto);
        bool vectors = ConvDirect.Supports(Ops.Geometry("t", 1, 1, 8, 8, 6, 5, 5, (1, 1), 0, (1, 1), 1), ConvPass.Forward);
        var lenet1 = Ops.Geometry("t", 4, 1, 28, 28, 6, 5, 5, (1, 1), 2, (1, 1), 1);
        Assert.False(ConvDirect.Choose(lenet1, ConvPass.Forward)); // LeNet conv1: GEMM forward and input gradient,
        Assert.False(ConvDirect.Choose(lenet1, ConvPass.BackwardData));
        // Direct weight gradient (6×25 < one tile), unless the implicit kernel takes it.
        Assert.Equal(vectors && !ConvImplicit.Choose(lenet1, ConvPass.BackwardWeight), ConvDirect.Choose(lenet1, ConvPass.BackwardWeight));
        Assert.False(ConvDirect.Choose(Ops.Geometry("t", 4, 1, 28, 28, 16, 5, 5, (1, 1), 2, (1, 1), 1), ConvPass.BackwardWeight)); // 16×25 > one tile
        Assert.Equal(vectors, ConvDirect.Choose(Ops.Geometry("t", 4, 32, 14, 14, 32, 3, 3, (1, 1), 1, (1, 1), 32), ConvPass.BackwardWeight));
        Assert.Equal(vectors, ConvDirect.Choose(Ops.Geometry("t", 1, 8, 14, 14, 16, 3, 3, (1, 1), 1, (1, 1), 8), ConvPass.Forward)); // multiplier 2
        Assert.False(ConvDirect.Choose(Ops.Geometry("t", 4, 6, 14, 14, 16, 5, 5, (1, 1), 0, (1, 1), 1), ConvPass.Forward));
        Assert.False(ConvDirect.Choose(Ops.Geometry("t", 4, 1, 28, 28, 6, 5, 5, (2, 2), 2, (1, 1), 1), ConvPass.Forward)); // column stride 2
        var x = N(600, 3, 4, 20, 20);
        var w = N(601, 4, 1, 5, 5);
        var y = Ops.Conv2d(x, w, null, 1, 2, groups: 4);
        var g = Ops.Geometry("test", 3, 4, 20, 20, 4, 5, 5, (1, 1), 2, (1, 1), 4);
        var expected = new float[g.N * g.O * g.P];
        ConvKernels.Reference(in g, x.Data, w.Data, default, expected);
        Close(expected, y.ToArray(), 1e-4f);
    }

    private static void Randomise(BatchNorm2d bn, int seed)
    {
        var r = new Random(seed);
        for (int i = 0; i < bn.NumFeatures; i++)
        {
            bn.RunningMean!.Data[i] = (float)(r.NextDouble() - 0.5);
            bn.RunningVar!.Data[i] = (float)(0.5 + r.NextDouble());
            bn.Weight!.Data[i] = (float)(0.5 + r.NextDouble());
            bn.Bias!.Data[i] = (float)(r.NextDouble() - 0.5);
        }
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void Batch_norm_folds_into_the_conv_in_evaluation(bool convBias, bool relu)
    {
        var conv = new Conv2d(3, 8, 3, 1, 1, bias: convBias, rng: new Random(1));
        var bn = new BatchNorm2d(8);
        Randomise(bn, 2);
        var model = relu ? new Sequential(conv, bn, new ReLU()) : new Sequential(conv, bn);
        model.Eval();
        var x = N(700, 2, 3, 9, 10);
        // Grad recording on: no folding, the three layers as written.
        var plain = model.Forward(x).ToArray();
        var manual = bn.Forward(conv.Forward(x));
        if (relu) manual = Ops.Relu(manual);
        Assert.Equal(manual.ToArray(), plain);
        Tensor folded;
        using (GradMode.NoGrad()) folded = model.Forward(x);
        Close(plain, folded.ToArray(), 1e-5f);
        // Training mode never folds: batch statistics.
        model.Train();
        using (GradMode.NoGrad()) Assert.Equal(bn.Forward(conv.Forward(x)).Shape, model.Forward(x).Shape);
    }

    [Fact]
    public void Folding_is_used_only_without_gradients_and_in_evaluation()
    {
        var conv = new Conv2d(2, 4, 3, rng: new Random(3));
        var bn = new BatchNorm2d(4);
        var x = N(710, 1, 2, 5, 5);
        Assert.False(ConvBatchNormFusion.CanFold(conv, bn, x)); // training mode
        bn.Eval();
        Assert.False(ConvBatchNormFusion.CanFold(conv, bn, x)); // parameters need gradients
        using (GradMode.NoGrad()) Assert.True(ConvBatchNormFusion.CanFold(conv, bn, x));
        var untracked = new BatchNorm2d(4, trackRunningStats: false);
        untracked.Eval();
        using (GradMode.NoGrad()) Assert.False(ConvBatchNormFusion.CanFold(conv, untracked, x)); // batch statistics
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_fold_is_kept_between_calls_and_redone_when_any_source_value_changes(bool implicitPath)
    {
        using var forced = ConvDirect.Force(implicitPath ? ConvPath.Implicit : ConvPath.Gemm);
        var conv = new Conv2d(4, 8, 3, 1, 1, rng: new Random(11));
        var bn = new BatchNorm2d(8);
        Randomise(bn, 12);
        var model = new Sequential(conv, bn, new ReLU());
        model.Eval();
        var x = N(730, 2, 4, 12, 13);
        float[] Folded() { using (GradMode.NoGrad()) return model.Forward(x).ToArray(); }
        var first = Folded();
        var fold = conv.Folded;
        Assert.NotNull(fold);
        Assert.Equal(first, Folded());
        Assert.Same(fold, conv.Folded); // nothing changed: the fold and its packed weights are reused
        var changes = new Action[]
        {
            () => conv.Weight.Data[37] += 0.5f, // an optimizer step writes in place
            () => conv.Bias!.Data[2] -= 1f,
            () => bn.Weight!.Data[1] = -1f,
            () => bn.Bias!.Data[0] += 1f,
            () => bn.RunningMean!.Data[3] += 1f,
            () => bn.RunningVar!.Data[5] *= 4f,
            () => N(731, 8, 4, 3, 3).Data.CopyTo(conv.Weight.Data), // a loaded state dict
        };
        foreach (var change in changes)
        {
            change();
            var unfolded = model.Forward(x).ToArray(); // recording: as written, from the current values
            Close(unfolded, Folded(), 1e-5f);
            Assert.NotSame(fold, conv.Folded);
            fold = conv.Folded;
        }
        // A fold made while an arena is active keeps its own storage after the arena is reset and reused.
        var arena = new TensorArena();
        conv.Weight.Data[0] += 1f;
        float[] expected;
        using (arena.Activate()) expected = Folded();
        arena.Reset();
        using (arena.Activate()) for (int i = 0; i < 4; i++) _ = Ops.Relu(N(732 + i, 2, 8, 12, 13)) * 3f;
        Assert.Equal(expected, Folded());
    }

    private static IEnumerable<Module> All(Module m) => m.NamedChildren().SelectMany(c => All(c.Module)).Prepend(m);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void Folded_ResNet_gives_the_unfolded_outputs(int path)
    {
        // Each block's end (conv + batch norm + shortcut + ReLU) is one write-back on the implicit
        // path and separate passes on the others.
        using var forced = ConvDirect.Force(path switch { 0 => ConvPath.Auto, 1 => ConvPath.Implicit, _ => ConvPath.Gemm });
        var model = new ResNet(3, 10, 16, blocks: 1, width: 8, rng: new Random(5));
        int seed = 10;
        foreach (var bn in All(model).OfType<BatchNorm2d>()) Randomise(bn, seed++);
        model.Eval();
        var x = N(720, 2, 3, 16, 16);
        var plain = model.Forward(x).ToArray(); // recording: unfolded
        Tensor folded;
        using (GradMode.NoGrad()) folded = model.Forward(x);
        Close(plain, folded.ToArray(), 1e-5f);
    }
}
