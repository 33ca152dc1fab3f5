using static Nabla.Tests.Core.Gen;

namespace Nabla.Tests.Core;

/// <summary>
/// One differentiable computation with a factory for fresh sample inputs. GradCheck differentiates
/// with respect to every input, so constants (class indices, BCE targets) are captured by
/// <see cref="F"/> instead. <see cref="ZeroGradient"/> marks ops whose gradient is exactly zero.
/// </summary>
public sealed record OpCase(string Name, Func<Tensor[], Tensor> F, Func<Tensor[]> Inputs, bool ZeroGradient = false)
{
    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>
/// The table of every differentiable op in the core with sample inputs: plain shapes, broadcasts
/// ([N,F]+[F], [N,1]·[1,F], rank-0 scalars, size-1 and empty dims), odd sizes and rank 3. Generic
/// theories iterate it (gradient check, NoGrad equivalence, gradient shapes).
/// </summary>
public static class OpRegistry
{
    /// <summary>All cases, in table order.</summary>
    public static IReadOnlyList<OpCase> All { get; } = Build();

    private static readonly Dictionary<string, OpCase> ByName = All.ToDictionary(c => c.Name);

    /// <summary>Case names for [MemberData] (names keep the test explorer readable).</summary>
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
        void Add(string name, Func<Tensor[], Tensor> f, Func<Tensor[]> inputs, bool zero = false) =>
            cases.Add(new OpCase(name, f, inputs, zero));

        // ---------------------------------------------------------------- arithmetic, broadcasting
        Add("Add [3,4]+[3,4]", t => t[0] + t[1], () => [N(1, 3, 4), N(2, 3, 4)]);
        Add("Add [5,3]+[3] row broadcast", t => t[0] + t[1], () => [N(3, 5, 3), N(4, 3)]);
        Add("Add [4,1]+[1,3] outer broadcast", t => t[0] + t[1], () => [N(5, 4, 1), N(6, 1, 3)]);
        Add("Add [2,3]+[] rank-0 scalar", t => t[0] + t[1], () => [N(7, 2, 3), N(8)]);
        Add("Add []+[2,3] rank-0 scalar left", t => t[0] + t[1], () => [N(8), N(7, 2, 3)]);
        Add("Add [3,1,4]+[2,1] both broadcast", t => t[0] + t[1], () => [N(9, 3, 1, 4), N(10, 2, 1)]);
        Add("Add [1]+[2,3] size-1", t => t[0] + t[1], () => [N(11, 1), N(12, 2, 3)]);
        Add("Add [2,3,5]+[5] rank 3", t => t[0] + t[1], () => [N(13, 2, 3, 5), N(14, 5)]);
        Add("Add [2,1,5]+[3,1] middle broadcast", t => t[0] + t[1], () => [N(15, 2, 1, 5), N(16, 3, 1)]);
        Add("Add x+x same tensor", t => t[0] + t[0], () => [N(17, 3, 2)]);
        Add("Add [0,3]+[3] empty", t => t[0] + t[1], () => [N(18, 0, 3), N(19, 3)]);
        Add("Sub [3,4]-[4]", t => t[0] - t[1], () => [N(20, 3, 4), N(21, 4)]);
        Add("Sub [4,1]-[1,5]", t => t[0] - t[1], () => [N(22, 4, 1), N(23, 1, 5)]);
        Add("Sub []-[2,3]", t => t[0] - t[1], () => [N(24), N(25, 2, 3)]);
        Add("Sub x-x same tensor", t => (t[0] - t[0]) + t[0] * 0.5f, () => [N(26, 4)]);
        Add("Mul [3,4]*[3,4]", t => t[0] * t[1], () => [N(27, 3, 4), N(28, 3, 4)]);
        Add("Mul [4,1]*[1,3] outer product", t => t[0] * t[1], () => [N(29, 4, 1), N(30, 1, 3)]);
        Add("Mul [2,3,4]*[3,1]", t => t[0] * t[1], () => [N(31, 2, 3, 4), N(32, 3, 1)]);
        Add("Mul [5]*[] scalar", t => t[0] * t[1], () => [N(33, 5), N(34)]);
        Add("Mul [7,3]*[3] odd rows", t => t[0] * t[1], () => [N(35, 7, 3), N(36, 3)]);
        Add("Mul x*x same tensor", t => t[0] * t[0], () => [N(37, 3, 3)]);
        Add("Div [3,4]/[3,4]", t => t[0] / t[1], () => [N(38, 3, 4), AwayFromZero(39, 0.5f, 3, 4)]);
        Add("Div [3,4]/[4]", t => t[0] / t[1], () => [N(40, 3, 4), AwayFromZero(41, 0.5f, 4)]);
        Add("Div [4,1]/[1,3]", t => t[0] / t[1], () => [N(42, 4, 1), AwayFromZero(43, 0.5f, 1, 3)]);
        Add("Div []/[2,3]", t => t[0] / t[1], () => [N(44), AwayFromZero(45, 0.5f, 2, 3)]);
        Add("Div x/x same tensor", t => t[0] / t[0] * t[0], () => [AwayFromZero(46, 0.5f, 5)]);
        Add("Neg", t => -t[0], () => [N(47, 3, 4)]);
        Add("Add scalar x+2.5", t => t[0] + 2.5f, () => [N(48, 3, 4)]);
        Add("Sub scalar 3-x", t => 3f - t[0], () => [N(49, 5)]);
        Add("Mul scalar x*-1.5", t => t[0] * -1.5f, () => [N(50, 2, 3)]);
        Add("Div scalar x/4", t => t[0] / 4f, () => [N(51, 2, 3)]);
        Add("Pow x^2", t => t[0].Pow(2f), () => [N(52, 3, 4)]);
        Add("Pow x^3", t => t[0].Pow(3f), () => [N(53, 3, 4)]);
        Add("Pow x^-1 away from 0", t => t[0].Pow(-1f), () => [AwayFromZero(54, 0.5f, 3, 4)]);
        Add("Pow x^0.5 positive", t => t[0].Pow(0.5f), () => [Positive(55, 3, 4)]);
        Add("Pow x^1.5 positive", t => t[0].Pow(1.5f), () => [Positive(56, 7)]);
        Add("Exp", t => t[0].Exp(), () => [N(57, 3, 4)]);
        Add("Log positive", t => t[0].Log(), () => [Positive(58, 3, 4)]);
        Add("Sqrt positive", t => t[0].Sqrt(), () => [Positive(59, 3, 4)]);
        Add("Abs away from 0", t => t[0].Abs(), () => [AwayFromZero(60, 0.1f, 3, 4)]);

        // ---------------------------------------------------------------- matrix products
        Add("MatMul [3,4]·[4,5]", t => t[0].MatMul(t[1]), () => [N(61, 3, 4), N(62, 4, 5)]);
        Add("MatMul [1,3]·[3,1]", t => t[0].MatMul(t[1]), () => [N(63, 1, 3), N(64, 3, 1)]);
        Add("MatMul [5,1]·[1,4] k=1", t => t[0].MatMul(t[1]), () => [N(65, 5, 1), N(66, 1, 4)]);
        Add("MatMul [7,5]·[5,3] odd", t => t[0].MatMul(t[1]), () => [N(67, 7, 5), N(68, 5, 3)]);
        Add("MatMul x·x square same tensor", t => t[0].MatMul(t[0]), () => [N(69, 3, 3)]);
        Add("MatMul batched [2,3,4]·[2,4,5]", t => t[0].MatMul(t[1]), () => [N(70, 2, 3, 4), N(71, 2, 4, 5)]);
        Add("MatMul batched [3,2,5]·[5,3] shared", t => t[0].MatMul(t[1]), () => [N(72, 3, 2, 5), N(73, 5, 3)]);
        Add("MatMul batched [1,1,1]·[1,1,1]", t => t[0].MatMul(t[1]), () => [N(74, 1, 1, 1), N(75, 1, 1, 1)]);
        Add("Linear with bias [4,3]→5", t => Ops.Linear(t[0], t[1], t[2]), () => [N(76, 4, 3), N(77, 5, 3), N(78, 5)]);
        Add("Linear without bias [4,3]→5", t => Ops.Linear(t[0], t[1], null), () => [N(79, 4, 3), N(80, 5, 3)]);
        Add("Linear with bias [1,7]→3", t => Ops.Linear(t[0], t[1], t[2]), () => [N(81, 1, 7), N(82, 3, 7), N(83, 3)]);
        Add("Linear+Relu fused [6,5]→4", t => Ops.Linear(t[0], t[1], t[2], Activation.Relu), () => [N(84, 6, 5), N(85, 4, 5), N(86, 4)]);
        Add("Linear+Sigmoid fused [6,5]→4", t => Ops.Linear(t[0], t[1], t[2], Activation.Sigmoid), () => [N(87, 6, 5), N(88, 4, 5), N(89, 4)]);
        Add("Linear+Tanh fused without bias [3,9]→2", t => Ops.Linear(t[0], t[1], null, Activation.Tanh), () => [N(90, 3, 9), N(91, 2, 9)]);

        // ---------------------------------------------------------------- reductions
        Add("Sum all [3,4]", t => t[0].Sum(), () => [N(84, 3, 4)]);
        Add("Sum all [] rank 0", t => t[0].Sum(), () => [N(85)]);
        Add("Sum axis 0 [3,4]", t => t[0].Sum(0), () => [N(86, 3, 4)]);
        Add("Sum axis 1 keepDim [3,4]", t => t[0].Sum(1, keepDim: true), () => [N(87, 3, 4)]);
        Add("Sum axis 1 [2,3,4]", t => t[0].Sum(1), () => [N(88, 2, 3, 4)]);
        Add("Sum axis -1 keepDim [2,3,5]", t => t[0].Sum(-1, keepDim: true), () => [N(89, 2, 3, 5)]);
        Add("Mean all [3,5]", t => t[0].Mean(), () => [N(90, 3, 5)]);
        Add("Mean axis 0 [3,4]", t => t[0].Mean(0), () => [N(91, 3, 4)]);
        Add("Mean axis 1 keepDim [2,3,4]", t => t[0].Mean(1, keepDim: true), () => [N(92, 2, 3, 4)]);
        Add("Mean axis -1 [4,3]", t => t[0].Mean(-1), () => [N(93, 4, 3)]);
        Add("Max axis 0 [4,3]", t => t[0].Max(0), () => [Distinct(94, 4, 3)]);
        Add("Max axis 1 keepDim [3,5]", t => t[0].Max(1, keepDim: true), () => [Distinct(95, 3, 5)]);
        Add("Max axis 1 [2,4,3]", t => t[0].Max(1), () => [Distinct(96, 2, 4, 3)]);
        Add("Max all [3,4]", t => Ops.Max(t[0]), () => [Distinct(97, 3, 4)]);

        // ---------------------------------------------------------------- shapes
        Add("Reshape [2,6]→[3,-1]", t => t[0].Reshape(3, -1) * t[1], () => [N(98, 2, 6), N(99, 3, 4)]);
        Add("Reshape [2,3,4]→[4,6]", t => t[0].Reshape(4, 6), () => [N(100, 2, 3, 4)]);
        Add("Flatten [2,3,4]", t => t[0].Flatten(), () => [N(101, 2, 3, 4)]);
        Add("Transpose [3,5]", t => t[0].T, () => [N(102, 3, 5)]);
        Add("Transpose [2,3,4] axes 0,2", t => t[0].Transpose(0, 2), () => [N(103, 2, 3, 4)]);
        Add("Permute [2,3,4]→(2,0,1)", t => Ops.Permute(t[0], 2, 0, 1), () => [N(104, 2, 3, 4)]);
        Add("Permute [2,3,4]→(1,2,0)", t => Ops.Permute(t[0], 1, 2, 0), () => [N(105, 2, 3, 4)]);
        Add("Permute [3,2,4]→(1,0,2) rows kept", t => Ops.Permute(t[0], 1, 0, 2), () => [N(1105, 3, 2, 4)]);
        Add("Narrow axis 1 [3,6] from 2 len 3", t => Ops.Narrow(t[0], 1, 2, 3), () => [N(106, 3, 6)]);
        Add("Narrow axis -1 [2,3,5] from 1 len 4", t => Ops.Narrow(t[0], -1, 1, 4), () => [N(107, 2, 3, 5)]);
        Add("Narrow axis 1 [2,5,3] from 4 len 1", t => Ops.Narrow(t[0], 1, 4, 1), () => [N(108, 2, 5, 3)]);
        Add("SliceRows [5,3] rows 1..3", t => t[0].SliceRows(1, 3), () => [N(109, 5, 3)]);
        Add("Concat axis 0 [2,3]+[4,3]", t => Ops.Concat([t[0], t[1]], 0), () => [N(110, 2, 3), N(111, 4, 3)]);
        Add("Concat axis 1 [3,2]+[3,4]+[3,1]", t => Ops.Concat([t[0], t[1], t[2]], 1), () => [N(112, 3, 2), N(113, 3, 4), N(114, 3, 1)]);
        Add("Concat axis 1 [2,1,3]+[2,2,3]", t => Ops.Concat([t[0], t[1]], 1), () => [N(115, 2, 1, 3), N(116, 2, 2, 3)]);
        Add("Concat axis -1 x with itself", t => Ops.Concat([t[0], t[0]], -1), () => [N(117, 2, 3)]);

        // ---------------------------------------------------------------- activations
        Add("Sigmoid", t => t[0].Sigmoid(), () => [N(118, 3, 4)]);
        Add("Tanh", t => t[0].Tanh(), () => [N(119, 3, 4)]);
        Add("Relu away from 0", t => t[0].Relu(), () => [AwayFromZero(120, 0.05f, 3, 5)]);
        Add("LeakyRelu default slope", t => Ops.LeakyRelu(t[0]), () => [AwayFromZero(121, 0.05f, 3, 5)]);
        Add("LeakyRelu slope 0.2", t => Ops.LeakyRelu(t[0], 0.2f), () => [AwayFromZero(122, 0.05f, 4, 3)]);
        Add("Step zero gradient", t => Ops.Step(t[0]), () => [AwayFromZero(123, 0.05f, 3, 4)], zero: true);
        Add("Softmax axis -1 [3,5]", t => t[0].Softmax(), () => [N(124, 3, 5)]);
        Add("Softmax axis 0 [4,3]", t => t[0].Softmax(0), () => [N(125, 4, 3)]);
        Add("Softmax axis 1 [2,3,4]", t => t[0].Softmax(1), () => [N(126, 2, 3, 4)]);
        Add("Softmax [1,1]", t => t[0].Softmax() * t[1], () => [N(127, 1, 1), N(128, 1, 1)]);
        Add("LogSoftmax axis -1 [3,5]", t => t[0].LogSoftmax(), () => [N(129, 3, 5)]);
        Add("LogSoftmax axis 0 [4,3]", t => t[0].LogSoftmax(0), () => [N(130, 4, 3)]);
        Add("LogSoftmax axis -1 [2,3,4]", t => t[0].LogSoftmax(-1), () => [N(131, 2, 3, 4)]);

        // ---------------------------------------------------------------- losses
        Add("MseLoss mean (both inputs)", t => Ops.MseLoss(t[0], t[1]), () => [N(132, 4, 3), N(133, 4, 3)]);
        Add("MseLoss sum", t => Ops.MseLoss(t[0], t[1], Reduction.Sum), () => [N(134, 5), N(135, 5)]);
        Add("HalfSumSquaredError", t => Ops.HalfSumSquaredError(t[0], t[1]), () => [N(136, 2, 3), N(137, 2, 3)]);
        var bceTarget = Tensor.FromArray([0f, 1f, 1f, 0f, 0.3f, 0.8f], 2, 3);
        Add("BinaryCrossEntropy mean", t => Ops.BinaryCrossEntropy(t[0], bceTarget), () => [U(138, 0.1f, 0.9f, 2, 3)]);
        Add("BinaryCrossEntropy sum", t => Ops.BinaryCrossEntropy(t[0], bceTarget, Reduction.Sum), () => [U(139, 0.1f, 0.9f, 2, 3)]);
        Add("BinaryCrossEntropyWithLogits mean", t => Ops.BinaryCrossEntropyWithLogits(t[0], bceTarget), () => [N(140, 2, 3) * 2f]);
        Add("BinaryCrossEntropyWithLogits sum", t => Ops.BinaryCrossEntropyWithLogits(t[0], bceTarget, Reduction.Sum), () => [N(141, 2, 3)]);
        Add("BinaryCrossEntropy soft target (both inputs)", t => Ops.BinaryCrossEntropy(t[0], t[1]), () => [U(162, 0.1f, 0.9f, 3, 2), U(163, 0f, 1f, 3, 2)]);
        Add("BinaryCrossEntropyWithLogits soft target (both inputs)", t => Ops.BinaryCrossEntropyWithLogits(t[0], t[1]), () => [N(164, 3, 2), U(165, 0f, 1f, 3, 2)]);
        int[] ceTargets = [2, 0, 4, 4];
        Add("CrossEntropy class indices", t => Ops.CrossEntropy(t[0], ceTargets), () => [N(142, 4, 5) * 2f]);
        Add("CrossEntropy class indices sum", t => Ops.CrossEntropy(t[0], ceTargets, Reduction.Sum), () => [N(143, 4, 5)]);
        Add("CrossEntropy target distribution (both inputs)", t => Ops.CrossEntropy(t[0], t[1]), () => [N(144, 3, 4), Distribution(145, 3, 4)]);
        Add("NllLoss of LogSoftmax", t => Ops.NllLoss(t[0].LogSoftmax(), ceTargets), () => [N(146, 4, 5)]);
        Add("NllLoss on raw input sum", t => Ops.NllLoss(t[0], ceTargets, Reduction.Sum), () => [N(147, 4, 5)]);
        int[] hingeTargets = [1, 0, 2, 2, 1];
        Add("MultiClassHingeLoss", t => Ops.MultiClassHingeLoss(t[0], hingeTargets), () => [HingeScores(148, hingeTargets, 3)]);
        Add("SmoothL1Loss beta 1", t => Ops.SmoothL1Loss(t[0], t[1]), () => SmoothL1Pair(149, 1f));
        Add("SmoothL1Loss beta 0.5", t => Ops.SmoothL1Loss(t[0], t[1], 0.5f), () => SmoothL1Pair(150, 0.5f));
        Add("L2Penalty two weights", t => Ops.L2Penalty([t[0], t[1]], 0.3f), () => [N(151, 3, 2), N(152, 4)]);

        // indexing, selection, comparisons and statistics (issue 10): in their own file
        cases.AddRange(IndexingOpCases.Build());
        cases.AddRange(LossReductionCases.Build());

        // ---------------------------------------------------------------- compositions
        Add("MLP Linear→Tanh→Linear→CrossEntropy", t =>
                Ops.CrossEntropy(Ops.Linear(Ops.Linear(t[0], t[1], t[2]).Tanh(), t[3], t[4]), [1, 0, 2]),
            () => [N(153, 3, 4), N(154, 5, 4) * 0.5f, N(155, 5), N(156, 3, 5) * 0.5f, N(157, 3)]);
        Add("Neuron σ(w·x+b) with MSE", t => Ops.MseLoss((t[0].MatMul(t[1]) + t[2]).Sigmoid(), t[3]),
            () => [N(158, 4, 3), N(159, 3, 1), N(160), U(161, 0f, 1f, 4, 1)]);
        return cases;
    }

    /// <summary>Hinge scores whose margins s_j − s_t + 1 are all at least 0.05 away from the kink.</summary>
    private static Tensor HingeScores(int seed, int[] targets, int classes) => FirstGood(seed, s => N(s, targets.Length, classes) * 1.5f, t =>
    {
        for (int i = 0; i < targets.Length; i++)
            for (int j = 0; j < classes; j++)
                if (j != targets[i] && MathF.Abs(t[i, j] - t[i, targets[i]] + 1f) < 0.05f) return false;
        return true;
    });

    /// <summary>Prediction and target whose differences stay 0.05 away from ±β (where Smooth L1 switches form) and straddle it.</summary>
    private static Tensor[] SmoothL1Pair(int seed, float beta) => FirstGood(seed, s => new[] { N(s, 3, 4) * 1.5f, N(s + 5000, 3, 4) }, p =>
    {
        for (int i = 0; i < p[0].Length; i++)
            if (MathF.Abs(MathF.Abs(p[0].Data[i] - p[1].Data[i]) - beta) < 0.05f) return false;
        return true;
    });
}
