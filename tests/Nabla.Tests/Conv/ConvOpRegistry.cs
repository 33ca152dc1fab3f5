using Nabla.Tests.Core;
using static Nabla.Tests.Core.Gen;

namespace Nabla.Tests.Conv;

/// <summary>
/// The convolution, pooling and normalisation ops with sample inputs, over the issue's grid:
/// kernel 1/3/5, stride 1–2, padding 0/1/same/full, dilation 1–2, groups 1/2, odd sizes (7×9),
/// batch 1 and 3. Sizes stay small so that the central-difference checks run in seconds.
/// </summary>
public static class ConvOpRegistry
{
    /// <summary>The padding settings of the grid, by name.</summary>
    public static readonly (string Name, Padding Padding)[] Paddings =
        [("0", 0), ("1", 1), ("same", Padding.Same), ("full", Padding.Full)];

    private const string DirectSuffix = " [direct]";
    private const string ImplicitSuffix = " [implicit]";

    /// <summary>
    /// The convolution path a case forces: the direct kernel for names ending in " [direct]", the
    /// implicit GEMM for " [implicit]", else im2col + GEMM.
    /// </summary>
    internal static Nabla.Kernels.ConvPath PathOf(string name) =>
        name.EndsWith(DirectSuffix) ? Nabla.Kernels.ConvPath.Direct
        : name.EndsWith(ImplicitSuffix) ? Nabla.Kernels.ConvPath.Implicit
        : Nabla.Kernels.ConvPath.Gemm;

    /// <summary>All cases.</summary>
    public static IReadOnlyList<OpCase> All { get; } = Build();

    // [n, c, h, w] whose values in each channel are ±(0.3 + 0.1·k), shuffled: mean exactly 0, none near it.
    private static Tensor AwayFromTheMean(int seed, int n, int c, int h, int w)
    {
        var t = new Tensor(new Shape(n, c, h, w));
        var rng = new Random(seed);
        int per = n * h * w, s = h * w;
        for (int ch = 0; ch < c; ch++)
        {
            var values = Enumerable.Range(0, per).Select(k => (k % 2 == 0 ? 1f : -1f) * (0.3f + 0.1f * (k / 2))).OrderBy(_ => rng.Next()).ToArray();
            for (int i = 0; i < per; i++) t.Data[((i / s) * c + ch) * s + i % s] = values[i];
        }
        return t;
    }

    private static readonly Dictionary<string, OpCase> ByName = All.ToDictionary(c => c.Name);

    /// <summary>Case names for [MemberData].</summary>
    public static TheoryData<string> Names
    {
        get
        {
            var d = new TheoryData<string>();
            foreach (var c in All) d.Add(c.Name);
            return d;
        }
    }

    /// <summary>The case called <paramref name="name"/>.</summary>
    public static OpCase Get(string name) => ByName[name];

    private static List<OpCase> Build()
    {
        var cases = new List<OpCase>();
        void Add(string name, Func<Tensor[], Tensor> f, Func<Tensor[]> inputs) => cases.Add(new OpCase(name, f, inputs));
        int seed = 1000;

        // Conv2d over the whole grid (combinations whose output would be empty are skipped).
        foreach (int k in new[] { 1, 3, 5 })
            foreach (int s in new[] { 1, 2 })
                foreach (var (pn, pad) in Paddings)
                    foreach (int d in new[] { 1, 2 })
                        foreach (int groups in new[] { 1, 2 })
                        {
                            if (pad.Kind == PaddingKind.Same && s != 1) continue;
                            int extent = d * (k - 1) + 1;
                            int p = pad.Kind switch { PaddingKind.Full => 2 * (extent - 1), PaddingKind.Same => extent - 1, _ => 2 * pad.H };
                            if (7 + p < extent) continue;
                            int batch = (k + s + d + groups) % 2 == 0 ? 1 : 3;
                            int sd = seed += 3;
                            bool bias = (k + d) % 2 == 0;
                            Add($"Conv2d k{k} s{s} p{pn} d{d} g{groups} n{batch}{(bias ? " bias" : "")}",
                                t => Ops.Conv2d(t[0], t[1], bias ? t[2] : null, s, pad, d, groups),
                                () => bias ? [N(sd, batch, 2, 7, 9), N(sd + 1, 4, 2 / groups, k, k), N(sd + 2, 4)]
                                           : [N(sd, batch, 2, 7, 9), N(sd + 1, 4, 2 / groups, k, k)]);
                        }
        Add("Conv2d 3x2 kernel stride (2,1) pad (1,0) dil (1,2)", t => Ops.Conv2d(t[0], t[1], t[2], (2, 1), (1, 0), (1, 2)),
            () => [N(1, 2, 3, 6, 7), N(2, 2, 3, 3, 2), N(3, 2)]);
        Add("Conv2d 1x1 pointwise", t => Ops.Conv2d(t[0], t[1], t[2]), () => [N(4, 2, 3, 5, 4), N(5, 4, 3, 1, 1), N(6, 4)]);
        Add("Conv2d depthwise g3", t => Ops.Conv2d(t[0], t[1], t[2], 1, 1, 1, groups: 3), () => [N(7, 2, 3, 5, 6), N(8, 3, 1, 3, 3), N(9, 3)]);
        Add("Conv2d fused tanh", t => Ops.Conv2d(t[0], t[1], t[2], 1, 1, activation: Activation.Tanh), () => [U(10, -1, 1, 2, 2, 5, 5), U(11, -0.5f, 0.5f, 3, 2, 3, 3), N(12, 3)]);
        Add("Conv2d fused sigmoid", t => Ops.Conv2d(t[0], t[1], t[2], 2, 0, activation: Activation.Sigmoid), () => [U(13, -1, 1, 1, 2, 7, 5), U(14, -0.5f, 0.5f, 3, 2, 3, 3), N(15, 3)]);
        Add("Conv1d k3 s2 p1", t => Ops.Conv1d(t[0], t[1], t[2], 2, 1), () => [N(16, 3, 2, 9), N(17, 4, 2, 3), N(18, 4)]);
        Add("Conv1d k5 same d2 g2", t => Ops.Conv1d(t[0], t[1], null, 1, Padding.Same, 2, 2), () => [N(19, 1, 4, 11), N(20, 2, 2, 5)]);

        // ConvTranspose2d over its own grid.
        foreach (int k in new[] { 1, 3 })
            foreach (int s in new[] { 1, 2 })
                foreach (int p in new[] { 0, 1 })
                    foreach (int op in new[] { 0, 1 })
                        foreach (int d in new[] { 1, 2 })
                            foreach (int groups in new[] { 1, 2 })
                            {
                                if (op >= s && op >= d) continue;
                                int extent = d * (k - 1) + 1;
                                if ((4 - 1) * s - 2 * p + extent + op <= 0) continue;
                                int batch = (k + s + p + groups) % 2 == 0 ? 1 : 3;
                                int sd = seed += 3;
                                Add($"ConvTranspose2d k{k} s{s} p{p} op{op} d{d} g{groups} n{batch}",
                                    t => Ops.ConvTranspose2d(t[0], t[1], t[2], s, p, op, d, groups),
                                    () => [N(sd, batch, 2, 4, 5), N(sd + 1, 2, 4 / groups, k, k), N(sd + 2, 4)]);
                            }

        // Pooling: inputs pairwise 0.1 apart so no max has a tie within the step.
        Add("MaxPool2d k2", t => Ops.MaxPool2d(t[0], 2), () => [Distinct(30, 2, 3, 6, 6)]);
        Add("MaxPool2d k3 s2 p1 7x9", t => Ops.MaxPool2d(t[0], 3, 2, 1), () => [Distinct(31, 3, 2, 7, 9)]);
        Add("MaxPool2d k2 ceil 7x9", t => Ops.MaxPool2d(t[0], 2, ceilMode: true), () => [Distinct(32, 1, 2, 7, 9)]);
        Add("MaxPool2d (2,3) s(1,2)", t => Ops.MaxPool2d(t[0], (2, 3), (1, 2)), () => [Distinct(33, 1, 2, 5, 7)]);
        Add("AvgPool2d k2", t => Ops.AvgPool2d(t[0], 2), () => [N(34, 2, 3, 6, 6)]);
        Add("AvgPool2d k3 s2 p1 7x9", t => Ops.AvgPool2d(t[0], 3, 2, 1), () => [N(35, 3, 2, 7, 9)]);
        Add("AvgPool2d k3 s2 p1 ceil exclude-pad", t => Ops.AvgPool2d(t[0], 3, 2, 1, ceilMode: true, countIncludePad: false), () => [N(36, 1, 2, 7, 9)]);
        Add("AdaptiveAvgPool2d 7x9 -> 3x4", t => Ops.AdaptiveAvgPool2d(t[0], (3, 4)), () => [N(37, 3, 2, 7, 9)]);
        Add("GlobalAvgPool2d", t => Ops.GlobalAvgPool2d(t[0]), () => [N(38, 2, 3, 5, 4)]);
        Add("MaxUnpool2d", t =>
        {
            var idx = Ops.MaxPool2dWithIndices(Distinct(39, 2, 2, 6, 7), (2, 2)).Indices;
            return Ops.MaxUnpool2d(t[0], idx, (6, 7));
        }, () => [N(40, 2, 2, 3, 3)]);
        Add("Upsample nearest x2", t => Ops.Upsample(t[0], (14, 18)), () => [N(41, 2, 2, 7, 9)]);
        Add("Upsample nearest 7x9 -> 10x13", t => Ops.Upsample(t[0], (10, 13)), () => [N(42, 1, 2, 7, 9)]);
        Add("Upsample bilinear x2", t => Ops.Upsample(t[0], (14, 18), UpsampleMode.Bilinear), () => [N(43, 2, 2, 7, 9)]);
        Add("Upsample bilinear 7x9 -> 5x13", t => Ops.Upsample(t[0], (5, 13), UpsampleMode.Bilinear), () => [N(44, 1, 2, 7, 9)]);

        // Batch norm, training (batch statistics) and evaluation (running statistics).
        Add("BatchNorm2d train", t => Ops.BatchNorm(t[0], null, null, t[1], t[2], training: true), () => [N(50, 3, 2, 4, 5), Positive(51, 2), N(52, 2)]);
        // The fused ReLU's kink: every normalised value at least 0.3σ from it, so that no step of the
        // check crosses it (the batch statistics move every value when one input moves).
        Add("BatchNorm2d+Relu train", t => Ops.BatchNorm(t[0], null, null, t[1], t[2], training: true, activation: Activation.Relu),
            () => [AwayFromTheMean(80, 3, 2, 4, 5), Positive(81, 2), Tensor.Zeros(2)]);
        Add("BatchNorm2d+Relu train, no affine", t => Ops.BatchNorm(t[0], null, null, null, null, training: true, activation: Activation.Relu),
            () => [AwayFromTheMean(83, 2, 3, 3, 4)]);
        Add("BatchNorm2d+Relu eval", t => Ops.BatchNorm(t[0], Tensor.FromArray([0.3f, -0.2f]), Tensor.FromArray([1.5f, 0.7f]), t[1], t[2], training: false, activation: Activation.Relu),
            () => [N(84, 3, 2, 3, 5), Positive(85, 2), N(86, 2)]);
        Add("BatchNorm2d train batch 1", t => Ops.BatchNorm(t[0], null, null, t[1], t[2], training: true), () => [N(53, 1, 3, 3, 3), Positive(54, 3), N(55, 3)]);
        Add("BatchNorm1d train [N,C]", t => Ops.BatchNorm(t[0], Tensor.Zeros(4), Tensor.Ones(4), t[1], t[2], training: true), () => [N(56, 5, 4), Positive(57, 4), N(58, 4)]);
        Add("BatchNorm1d train [N,C,L]", t => Ops.BatchNorm(t[0], null, null, t[1], t[2], training: true), () => [N(59, 3, 2, 7), Positive(60, 2), N(61, 2)]);
        Add("BatchNorm2d eval", t => Ops.BatchNorm(t[0], Tensor.FromArray([0.3f, -0.2f]), Tensor.FromArray([1.5f, 0.7f]), t[1], t[2], training: false),
            () => [N(62, 3, 2, 4, 5), Positive(63, 2), N(64, 2)]);
        Add("Conv2d then BatchNorm2d train", t => Ops.BatchNorm(Ops.Conv2d(t[0], t[1], null, 2, 1), null, null, t[2], t[3], training: true),
            () => [N(65, 3, 2, 5, 5), N(66, 3, 2, 3, 3), Positive(67, 3), N(68, 3)]);

        // The direct kernel's shapes: LeNet-like single input channel, a channel multiplier.
        Add("Conv2d 1->3 k5 p2 (LeNet conv1)", t => Ops.Conv2d(t[0], t[1], t[2], 1, 2), () => [N(70, 2, 1, 9, 11), N(71, 3, 1, 5, 5), N(72, 3)]);
        Add("Conv2d depthwise x2 multiplier d2", t => Ops.Conv2d(t[0], t[1], t[2], 1, Padding.Same, 2, groups: 2), () => [N(73, 3, 2, 7, 9), N(74, 4, 1, 3, 3), N(75, 4)]);

        // Every case the direct kernel can run (unit column stride) once more with it forced, and
        // every case once more on the implicit GEMM (its input gradient falls back to the GEMM for
        // strides); the cases without a suffix force the im2col + GEMM path (see PathOf).
        foreach (var c in cases.ToList())
        {
            if (!c.Name.StartsWith("Conv") || c.Name.Contains("sigmoid") || c.Name.Contains("BatchNorm")) continue;
            if (c.Name.Contains(" s1 ") || !c.Name.Contains(" s2"))
                cases.Add(new OpCase(c.Name + DirectSuffix, c.F, c.Inputs));
            cases.Add(new OpCase(c.Name + ImplicitSuffix, c.F, c.Inputs)); // strides too: phase planes
        }
        return cases;
    }
}
