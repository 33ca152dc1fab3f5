using Nabla.Autograd;
using Nabla.Kernels;
using Nabla.Tests.Core;
using static Nabla.Tests.Core.Gen;

namespace Nabla.Tests.Conv;

/// <summary>The generic op theories over <see cref="ConvOpRegistry"/>.</summary>
public class ConvOpGradientTests
{
    [Theory]
    [MemberData(nameof(ConvOpRegistry.Names), MemberType = typeof(ConvOpRegistry))]
    public void Backward_matches_central_differences(string op)
    {
        var c = ConvOpRegistry.Get(op);
        using var path = ConvDirect.Force(ConvOpRegistry.PathOf(op));
        // Ops linear in each input have no truncation error, so a large step keeps float32 rounding
        // far below the tolerance; max pooling needs a step below half the 0.1 spacing of its inputs.
        float step = op.StartsWith("MaxPool") || op.Contains("BatchNorm") ? 1e-2f : op.Contains("fused") ? 1e-2f : 0.5f;
        var result = GradCheck.Check(c.F, c.Inputs(), step);
        Assert.True(result.Passed, $"{op}: {result}");
    }

    [Theory]
    [MemberData(nameof(ConvOpRegistry.Names), MemberType = typeof(ConvOpRegistry))]
    public void NoGrad_gives_the_same_values_and_inputs_are_not_modified(string op)
    {
        var c = ConvOpRegistry.Get(op);
        using var path = ConvDirect.Force(ConvOpRegistry.PathOf(op));
        var inputs = c.Inputs();
        var before = inputs.Select(x => x.ToArray()).ToArray();
        foreach (var x in inputs) x.RequiresGrad = true;
        var recorded = c.F(inputs);
        recorded.Backward(Tensor.Ones(recorded.Shape.ToArray()));
        Tensor plain;
        using (GradMode.NoGrad()) plain = c.F(inputs);
        Assert.Null(plain.GradFn);
        Assert.Equal(recorded.ToArray(), plain.ToArray());
        for (int i = 0; i < inputs.Length; i++)
        {
            Assert.Equal(before[i], inputs[i].ToArray());
            Assert.Equal(inputs[i].Shape, inputs[i].Grad!.Shape);
        }
    }
}

/// <summary>Values of the convolution ops against definitions, the notes' examples and PyTorch's numbers.</summary>
// Batch_split_over_threads_gives_the_serial_result sets WorkerPool.Threads: not beside other tests (issue #16).
[Collection("WorkerPoolSettingsCollection")]
public class ConvOpTests
{
    private static void Close(float[] expected, float[] actual, float tol = 1e-4f)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(MathF.Abs(expected[i] - actual[i]) <= tol * Math.Max(1f, MathF.Abs(expected[i])),
                $"element {i}: expected {expected[i]}, got {actual[i]}");
    }

    public static TheoryData<int, int, int, int, int, int, int, int, int> ForwardGrid()
    {
        // n, c, h, w, o, k, stride, dilation, groups; padding 0/1/same/full is looped inside.
        var d = new TheoryData<int, int, int, int, int, int, int, int, int>();
        d.Add(1, 3, 7, 9, 4, 3, 1, 1, 1);
        d.Add(3, 4, 7, 9, 6, 3, 2, 1, 2);
        d.Add(3, 2, 9, 7, 4, 5, 1, 2, 1);
        d.Add(2, 6, 11, 13, 8, 1, 1, 1, 2);
        d.Add(1, 4, 8, 8, 4, 3, 1, 1, 4);
        d.Add(5, 8, 16, 16, 16, 3, 1, 1, 1); // large enough to split the batch over threads
        d.Add(4, 16, 12, 12, 32, 1, 2, 1, 1);
        d.Add(2, 1, 28, 28, 6, 5, 1, 1, 1);   // LeNet conv1 (direct kernel's shape)
        d.Add(3, 6, 14, 14, 16, 5, 1, 1, 1);  // LeNet conv2
        d.Add(2, 8, 13, 37, 8, 3, 1, 2, 8);   // depthwise, rows longer than one 4-vector block
        d.Add(2, 4, 9, 7, 8, 3, 2, 1, 4);     // depthwise ×2 multiplier, row stride 2
        return d;
    }

    [Theory]
    [MemberData(nameof(ForwardGrid))]
    public void Conv2d_matches_the_seven_loop_definition(int n, int c, int h, int w, int o, int k, int stride, int dilation, int groups)
    {
        foreach (var path in new[] { ConvPath.Gemm, ConvPath.Direct, ConvPath.Implicit, ConvPath.Auto })
            foreach (var (pn, pad) in ConvOpRegistry.Paddings)
            {
                using var forced = ConvDirect.Force(path);
                SevenLoop(n, c, h, w, o, k, stride, dilation, groups, pad);
                _ = pn;
            }
    }

    private static void SevenLoop(int n, int c, int h, int w, int o, int k, int stride, int dilation, int groups, Padding pad)
    {
        {
            if (pad.Kind == PaddingKind.Same && stride != 1) return;
            int extent = dilation * (k - 1) + 1;
            if (pad.Kind is PaddingKind.Explicit or PaddingKind.Valid && Math.Min(h, w) + 2 * pad.H < extent) return;
            var x = N(n * 7 + k, n, c, h, w);
            var weight = N(o + k, o, c / groups, k, k);
            var bias = N(5, o);
            var y = Ops.Conv2d(x, weight, bias, stride, pad, dilation, groups);
            var g = Ops.Geometry("test", n, c, h, w, o, k, k, (stride, stride), pad, (dilation, dilation), groups);
            var expected = new float[g.N * g.O * g.P];
            ConvKernels.Reference(in g, x.Data, weight.Data, bias.Data, expected);
            Assert.Equal(new[] { n, o, g.OH, g.OW }, y.Shape.ToArray());
            Close(expected, y.ToArray());
            if (pad.Kind == PaddingKind.Same) Assert.Equal((h, w), (g.OH, g.OW));
        }
    }

    // The definition of the transposed convolution: every input pixel scatters its weighted kernel.
    private static float[] TransposedReference(Tensor x, Tensor w, Tensor? b, int s, int p, int op, int d, int groups, out int oh, out int ow)
    {
        int n = x.Shape[0], cin = x.Shape[1], h = x.Shape[2], wd = x.Shape[3];
        int coutG = w.Shape[1], k = w.Shape[2], cout = coutG * groups, cinG = cin / groups;
        oh = (h - 1) * s - 2 * p + d * (k - 1) + op + 1;
        ow = (wd - 1) * s - 2 * p + d * (k - 1) + op + 1;
        var y = new double[n * cout * oh * ow];
        for (int b0 = 0; b0 < n; b0++)
            for (int ci = 0; ci < cin; ci++)
                for (int i = 0; i < h; i++)
                    for (int j = 0; j < wd; j++)
                        for (int co = 0; co < coutG; co++)
                            for (int ki = 0; ki < k; ki++)
                                for (int kj = 0; kj < k; kj++)
                                {
                                    int yi = i * s - p + ki * d, yj = j * s - p + kj * d;
                                    if (yi < 0 || yi >= oh || yj < 0 || yj >= ow) continue;
                                    int oc = ci / cinG * coutG + co;
                                    y[((b0 * cout + oc) * oh + yi) * ow + yj] += x[b0, ci, i, j] * w[ci, co, ki, kj];
                                }
        if (b is not null)
            for (int i = 0; i < y.Length; i++) y[i] += b.Data[i / (oh * ow) % cout];
        return y.Select(v => (float)v).ToArray();
    }

    [Theory]
    [InlineData(1, 3, 1, 0, 0, 1, 1)]
    [InlineData(3, 3, 2, 1, 1, 1, 2)]
    [InlineData(2, 5, 2, 2, 1, 1, 1)]
    [InlineData(1, 3, 1, 1, 1, 2, 2)]
    [InlineData(3, 4, 2, 1, 0, 1, 1)]
    [InlineData(4, 3, 3, 0, 2, 1, 2)]
    public void ConvTranspose2d_matches_the_scatter_definition(int n, int k, int s, int p, int op, int d, int groups)
    {
        var x = N(70 + k, n, 4, 5, 7);
        var w = N(71 + s, 4, 6 / groups, k, k);
        var b = N(72, 6);
        var expected = TransposedReference(x, w, b, s, p, op, d, groups, out int oh, out int ow);
        foreach (var path in new[] { ConvPath.Gemm, ConvPath.Direct, ConvPath.Implicit })
        {
            using var forced = ConvDirect.Force(path);
            var y = Ops.ConvTranspose2d(x, w, b, s, p, op, d, groups);
            Assert.Equal(new[] { n, 6, oh, ow }, y.Shape.ToArray());
            Close(expected, y.ToArray());
        }
    }

    [Fact]
    public void ConvTranspose2d_is_the_adjoint_of_Conv2d()
    {
        // ⟨conv(x), y⟩ = ⟨x, convᵀ(y)⟩ for the same weight: the transposed convolution is the conv's input gradient.
        var x = N(80, 2, 4, 9, 8);
        var w = N(81, 6, 2, 3, 3);
        var cy = Ops.Conv2d(x, w, null, 2, 1, 1, groups: 2);
        var y = N(82, cy.Shape.ToArray());
        var back = Ops.ConvTranspose2d(y, w, null, (2, 2), (1, 1), (0, 1), (1, 1), groups: 2);
        Assert.Equal(x.Shape, back.Shape);
        double lhs = 0, rhs = 0;
        for (int i = 0; i < cy.Length; i++) lhs += cy.Data[i] * y.Data[i];
        for (int i = 0; i < x.Length; i++) rhs += x.Data[i] * back.Data[i];
        Assert.Equal(lhs, rhs, 2);
    }

    [Fact]
    public void Backward_equals_the_notes_full_convolution_with_the_rotated_filter()
    {
        // δX = δY *full rot180(trans(F)): swap the filter's in/out channels, rotate each kernel by
        // 180° and convolve δY with full padding. It must equal what autograd computes.
        var x = N(90, 2, 3, 7, 9);
        var f = N(91, 4, 3, 3, 5);
        x.RequiresGrad = true;
        var y = Ops.Conv2d(x, f, N(92, 4));
        var dy = N(93, y.Shape.ToArray());
        y.Backward(dy);

        var rotated = new Tensor(new Shape(3, 4, 3, 5));
        for (int o = 0; o < 4; o++)
            for (int c = 0; c < 3; c++)
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 5; j++)
                        rotated[c, o, i, j] = f[o, c, 2 - i, 4 - j];
        var dx = Ops.Conv2d(dy, rotated, null, 1, Padding.Full);
        Assert.Equal(x.Shape, dx.Shape);
        Close(dx.ToArray(), x.Grad!.ToArray());

        // and dL/db = Σ δy per filter
        var b = N(94, 4);
        b.RequiresGrad = true;
        Ops.Conv2d(x.Detach(), f, b).Backward(dy);
        for (int o = 0; o < 4; o++)
        {
            float s = 0;
            for (int n = 0; n < 2; n++) for (int i = 0; i < 5; i++) for (int j = 0; j < 5; j++) s += dy[n, o, i, j];
            Assert.Equal(s, b.Grad!.Data[o], 3);
        }
    }

    [Fact]
    public void Fused_relu_equals_conv_then_relu_in_value_and_gradient()
    {
        var x1 = N(100, 3, 2, 6, 6); var w1 = N(101, 4, 2, 3, 3); var b1 = N(102, 4);
        var x2 = x1.Clone(); var w2 = w1.Clone(); var b2 = b1.Clone();
        foreach (var t in new[] { x1, w1, b1, x2, w2, b2 }) t.RequiresGrad = true;
        var fused = Ops.Conv2d(x1, w1, b1, 1, 1, activation: Activation.Relu);
        var plain = Ops.Relu(Ops.Conv2d(x2, w2, b2, 1, 1));
        Assert.Equal(plain.ToArray(), fused.ToArray());
        var up = N(103, fused.Shape.ToArray());
        fused.Backward(up);
        plain.Backward(up);
        Close(x2.Grad!.ToArray(), x1.Grad!.ToArray());
        Close(w2.Grad!.ToArray(), w1.Grad!.ToArray());
        Close(b2.Grad!.ToArray(), b1.Grad!.ToArray());
    }

    [Fact]
    public void Batch_split_over_threads_gives_the_serial_result()
    {
        var x = N(110, 6, 8, 14, 14); var w = N(111, 16, 8, 3, 3);
        x.RequiresGrad = true; w.RequiresGrad = true;
        int saved = WorkerPool.Threads;
        try
        {
            WorkerPool.Threads = 1;
            var y1 = Ops.Conv2d(x, w, null, 1, 1);
            y1.Backward(Tensor.Ones(y1.Shape.ToArray()));
            var (gx1, gw1) = (x.Grad!.ToArray(), w.Grad!.ToArray());
            x.Grad = null; w.Grad = null;
            WorkerPool.Threads = 2;
            var y2 = Ops.Conv2d(x, w, null, 1, 1);
            y2.Backward(Tensor.Ones(y2.Shape.ToArray()));
            Assert.Equal(y1.ToArray(), y2.ToArray());
            Close(gx1, x.Grad!.ToArray());
            Close(gw1, w.Grad!.ToArray());
        }
        finally { WorkerPool.Threads = saved; }
    }

    [Fact]
    public void Shape_errors_name_the_op_and_shapes()
    {
        var e = Assert.Throws<ShapeMismatchException>(() => Ops.Conv2d(Tensor.Zeros(1, 3, 5, 5), Tensor.Zeros(4, 2, 3, 3)));
        Assert.Contains("Conv2d", e.Message);
        Assert.Contains("[4, 2, 3, 3]", e.Message);
        Assert.Throws<ShapeMismatchException>(() => Ops.Conv2d(Tensor.Zeros(3, 5, 5), Tensor.Zeros(4, 3, 3, 3)));
        Assert.Throws<ArgumentException>(() => Ops.Conv2d(Tensor.Zeros(1, 3, 2, 2), Tensor.Zeros(4, 3, 3, 3)));
        Assert.Throws<ArgumentException>(() => Ops.Conv2d(Tensor.Zeros(1, 3, 5, 5), Tensor.Zeros(4, 3, 3, 3), stride: 2, padding: Padding.Same));
        Assert.Throws<ShapeMismatchException>(() => Ops.Conv2d(Tensor.Zeros(1, 3, 5, 5), Tensor.Zeros(4, 3, 3, 3), groups: 2));
        Assert.Throws<ArgumentException>(() => Ops.ConvTranspose2d(Tensor.Zeros(1, 2, 3, 3), Tensor.Zeros(2, 2, 3, 3), stride: 2, outputPadding: 2));
        Assert.Throws<ShapeMismatchException>(() => Ops.MaxPool2d(Tensor.Zeros(1, 1, 2, 2), 3));
        Assert.Throws<ArgumentException>(() => Ops.MaxUnpool2d(Tensor.Zeros(1, 1, 2, 2), Tensor.Full(9f, 1, 1, 2, 2), (3, 3)));
        Assert.Throws<ShapeMismatchException>(() => Ops.BatchNorm(Tensor.Zeros(1, 3), null, null, null, null, training: true));
    }

    // ------------------------------------------------------------------ pooling

    private static readonly float[] NotesPoolInput =
    [
        4, 1, 1, 3, 3, 4,
        8, 6, 0, 5, 2, 2,
        0, 6, 9, 5, 1, 8,
        4, 8, 5, 7, 4, 2,
        9, 8, 5, 9, 3, 0,
        3, 6, 7, 4, 7, 5,
    ];

    [Fact]
    public void Max_pooling_gives_the_notes_example_and_routes_the_gradient_to_the_maxima()
    {
        var x = Tensor.FromArray(NotesPoolInput, 1, 1, 6, 6);
        x.RequiresGrad = true;
        var (y, idx) = Ops.MaxPool2dWithIndices(x, (2, 2));
        Assert.Equal(new float[] { 8, 5, 4, 8, 9, 8, 9, 9, 7 }, y.ToArray());
        Assert.Equal(new float[] { 6, 9, 5, 19, 14, 17, 24, 27, 34 }, idx.ToArray());
        y.Backward(Tensor.FromArray([1f, 2, 3, 4, 5, 6, 7, 8, 9], 1, 1, 3, 3));
        var expected = new float[36];
        expected[6] = 1; expected[9] = 2; expected[5] = 3; expected[19] = 4; expected[14] = 5; expected[17] = 6;
        expected[24] = 7; expected[27] = 8; expected[34] = 9;
        Assert.Equal(expected, x.Grad!.ToArray());

        // Unpooling puts each maximum back where it came from.
        var back = Ops.MaxUnpool2d(y, idx, (6, 6)).ToArray();
        for (int i = 0; i < 36; i++) Assert.Equal(expected[i] != 0 ? NotesPoolInput[i] : 0f, back[i]);
    }

    [Theory]
    [InlineData(6, 6, false)]
    [InlineData(7, 9, false)]
    [InlineData(7, 9, true)]    // 4 outputs a row: one vector of four
    [InlineData(10, 10, true)]  // LeNet's second pool, 5: two overlapping vectors of four
    [InlineData(3, 15, true)]   // 7 (and an odd last column)
    [InlineData(5, 37, true)]   // 18 outputs a row: two vectors of eight and an overlapping third
    [InlineData(4, 32, false)]  // 16: vectors only
    [InlineData(6, 28, true)]   // LeNet's 14: the last vector overlaps the first
    public void Two_by_two_max_pooling_matches_a_window_loop_with_ties_nans_and_infinities(int h, int w, bool grad)
    {
        // The 2×2 stride-2 pool has its own kernel; the reference is the definition: the first
        // maximum of each window in row-major order, a NaN winning where there is one.
        var rng = new Random(5);
        var data = new float[2 * 3 * h * w];
        for (int i = 0; i < data.Length; i++)
            data[i] = rng.Next(12) switch { 0 => float.NaN, 1 => float.NegativeInfinity, 2 => float.PositiveInfinity, int k => k % 4 };
        var x = Tensor.FromArray(data, 2, 3, h, w);
        x.RequiresGrad = grad;
        var y = Ops.MaxPool2d(x, 2);
        var (y2, idx) = Ops.MaxPool2dWithIndices(x, (2, 2));
        int oh = h / 2, ow = w / 2;
        for (int p = 0; p < 6; p++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    float best = float.NegativeInfinity;
                    int arg = 2 * i * w + 2 * j;
                    foreach (var (di, dj) in new[] { (0, 0), (0, 1), (1, 0), (1, 1) })
                    {
                        float v = data[p * h * w + (2 * i + di) * w + 2 * j + dj];
                        if (float.IsNaN(best)) break;
                        if (v > best || float.IsNaN(v)) { best = v; arg = (2 * i + di) * w + 2 * j + dj; }
                    }
                    int o = p * oh * ow + i * ow + j;
                    Assert.Equal(best, y.Data[o]);
                    Assert.Equal(best, y2.Data[o]);
                    Assert.Equal(arg, (int)idx.Data[o]);
                }
        if (!grad) return;
        y.Backward(Tensor.Ones(y.Shape.ToArray()));
        var expected = new float[data.Length];
        for (int p = 0; p < 6; p++)
            for (int o = 0; o < oh * ow; o++) expected[p * h * w + (int)idx.Data[p * oh * ow + o]] += 1;
        Assert.Equal(expected, x.Grad!.ToArray());
    }

    [Fact]
    public void Pool_output_sizes_follow_PyTorch()
    {
        // torch: MaxPool2d(2, ceil_mode=True) on 7×9 → 4×5; MaxPool2d(3, 2, 1) on 7×9 → 4×5;
        // MaxPool2d(2, 2, 1, ceil_mode=True) on 5×5 → 3×3 (a 4th window would start in the padding and is dropped).
        Assert.Equal(new[] { 1, 1, 4, 5 }, Ops.MaxPool2d(Tensor.Zeros(1, 1, 7, 9), 2, ceilMode: true).Shape.ToArray());
        Assert.Equal(new[] { 1, 1, 3, 4 }, Ops.MaxPool2d(Tensor.Zeros(1, 1, 7, 9), 2).Shape.ToArray());
        Assert.Equal(new[] { 1, 1, 4, 5 }, Ops.MaxPool2d(Tensor.Zeros(1, 1, 7, 9), 3, 2, 1).Shape.ToArray());
        Assert.Equal(new[] { 1, 1, 3, 3 }, Ops.MaxPool2d(Tensor.Zeros(1, 1, 5, 5), 2, 2, 1, ceilMode: true).Shape.ToArray());
        Assert.Equal(new[] { 1, 1, 4, 4 }, Ops.AvgPool2d(Tensor.Zeros(1, 1, 6, 6), 3, 2, 1, ceilMode: true).Shape.ToArray());
        Assert.Equal(new[] { 1, 1, 4, 4 }, Ops.AvgPool2d(Tensor.Zeros(1, 1, 5, 5), 2, 1, 0, ceilMode: true).Shape.ToArray());
    }

    [Fact]
    public void Avg_pooling_divisors_follow_PyTorch()
    {
        var x = Tensor.Ones(1, 1, 4, 4);
        // count_include_pad=True: the corner window of 3×3 with padding 1 covers 4 ones of 9 cells.
        var incl = Ops.AvgPool2d(x, 3, 2, 1).ToArray();
        Assert.Equal(4f / 9f, incl[0], 5);
        var excl = Ops.AvgPool2d(x, 3, 2, 1, countIncludePad: false).ToArray();
        Assert.All(excl, v => Assert.Equal(1f, v, 5));
        var plain = Ops.AvgPool2d(Tensor.FromArray(NotesPoolInput, 1, 1, 6, 6), 2).ToArray();
        Assert.Equal(new float[] { 19 / 4f, 9 / 4f, 11 / 4f, 18 / 4f, 26 / 4f, 15 / 4f, 26 / 4f, 25 / 4f, 15 / 4f }, plain);
    }

    [Fact]
    public void Adaptive_average_pooling_uses_PyTorch_windows()
    {
        // 5 → 3: windows [0,2), [1,4), [3,5)
        var x = Tensor.FromArray([1f, 2, 3, 4, 5], 1, 1, 1, 5);
        Assert.Equal(new float[] { 1.5f, 3f, 4.5f }, Ops.AdaptiveAvgPool2d(x, (1, 3)).ToArray());
        var g = Ops.GlobalAvgPool2d(Tensor.FromArray(NotesPoolInput, 1, 1, 6, 6));
        Assert.Equal(new[] { 1, 1 }, g.Shape.ToArray());
        Assert.Equal(NotesPoolInput.Average(), g.Item(), 4);
    }

    [Fact]
    public void Upsample_matches_PyTorch_interpolate()
    {
        var x = Tensor.FromArray([1f, 2, 3, 4], 1, 1, 2, 2);
        // F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=False)
        Close([1f, 1.25f, 1.75f, 2f, 1.5f, 1.75f, 2.25f, 2.5f, 2.5f, 2.75f, 3.25f, 3.5f, 3f, 3.25f, 3.75f, 4f],
            Ops.Upsample(x, (4, 4), UpsampleMode.Bilinear).ToArray());
        Assert.Equal(new float[] { 1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4 }, Ops.Upsample(x, (4, 4)).ToArray());
        // nearest 3 → 2 picks ⌊0·1.5⌋ = 0 and ⌊1·1.5⌋ = 1
        Assert.Equal(new float[] { 1, 2 }, Ops.Upsample(Tensor.FromArray([1f, 2, 3], 1, 1, 1, 3), (1, 2)).ToArray());
    }

    // ------------------------------------------------------------------ batch norm

    [Fact]
    public void Batch_norm_matches_the_formulas_in_training_and_evaluation()
    {
        const int n = 4, c = 3, h = 5, w = 2;
        var x = N(120, n, c, h, w);
        var gamma = Positive(121, c);
        var beta = N(122, c);
        var rm = Tensor.Zeros(c);
        var rv = Tensor.Ones(c);
        var y = Ops.BatchNorm(x, rm, rv, gamma, beta, training: true, momentum: 0.1f, eps: 1e-5f);
        int m = n * h * w;
        for (int ch = 0; ch < c; ch++)
        {
            var vals = new List<double>();
            for (int i = 0; i < n; i++) for (int a = 0; a < h; a++) for (int b = 0; b < w; b++) vals.Add(x[i, ch, a, b]);
            double mean = vals.Average(), var = vals.Sum(v => (v - mean) * (v - mean)) / m;
            for (int i = 0; i < n; i++)
                for (int a = 0; a < h; a++)
                    for (int b = 0; b < w; b++)
                    {
                        double expected = (x[i, ch, a, b] - mean) / Math.Sqrt(var + 1e-5) * gamma.Data[ch] + beta.Data[ch];
                        Assert.Equal(expected, y[i, ch, a, b], 4);
                    }
            Assert.Equal(0.1 * mean, rm.Data[ch], 5);
            Assert.Equal(0.9 + 0.1 * var * m / (m - 1), rv.Data[ch], 5);
        }
        // Evaluation uses the running statistics.
        var e = Ops.BatchNorm(x, rm, rv, gamma, beta, training: false);
        for (int ch = 0; ch < c; ch++)
            Assert.Equal((x[1, ch, 2, 1] - rm.Data[ch]) / Math.Sqrt(rv.Data[ch] + 1e-5) * gamma.Data[ch] + beta.Data[ch], e[1, ch, 2, 1], 4);
    }
}
