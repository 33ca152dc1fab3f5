using Nabla.Autograd;
using Nabla.Models;
using Nabla.Nn;
using static Nabla.Tests.Core.Gen;

namespace Nabla.Tests.Conv;

/// <summary>
/// Gradients of whole zoo models against central differences. Models with batch norm are checked in
/// evaluation mode: in training mode their tiny batches' deviations magnify any step until float32
/// central differences are too noisy to judge; batch norm's training gradient is checked by its
/// op cases, alone and after a convolution (<see cref="ConvOpRegistry"/>).
/// Tiny ReLU networks have many pre-activations within a finite-difference step of 0 (and max-pool
/// windows whose two largest values are that close), where a numeric derivative is meaningless. As
/// the ReLU example keeps its input away from 0, these models are set up away from the kinks:
/// batch norm with γ = 0.2 and β = 1 (its output then lies in [0.17, 1.83] in training, since
/// |x̂| ≤ √(M − 1) ≈ 4.1 for these batches, and stays positive in evaluation with running
/// variance 4), and LeNet-5 with a seed whose pre-activations and pooling margins are all
/// clear of the step.
/// </summary>
public class ModelGradientTests
{
    /// <summary>Batch norm parameters and buffers that keep every following ReLU input above 0.</summary>
    internal static T AwayFromKinks<T>(T model) where T : Module
    {
        foreach (var (name, t) in model.StateDict())
        {
            if (!name.Contains("bn") && !name.Contains("downsample.1")) continue;
            if (name.EndsWith(".weight", StringComparison.Ordinal)) t.Data.Fill(0.2f);
            else if (name.EndsWith(".bias", StringComparison.Ordinal)) t.Data.Fill(1f);
            else if (name.EndsWith("running_var", StringComparison.Ordinal)) t.Data.Fill(4f);
        }
        return model;
    }

    /// <summary>
    /// A small LeNet-5 (widths 2, 3, 8, 6 on 12×12) from the first seed whose ReLU inputs all
    /// have |z| ≥ 0.04 and whose max-pool windows all have their maximum ≥ 0.04 above the runner-up
    /// on <paramref name="input"/>: no kink within the check's step.
    /// </summary>
    internal static LeNet5 SmallLeNet(Tensor input) => Core.Gen.FirstGood(1, s =>
    {
        // Biases of 3 put the ReLU inputs well above 0; the seed search then only has to avoid near-ties in pooling.
        var m = new LeNet5(1, 3, 12, new Random(s), 2, 3, 8, 6);
        foreach (var (name, p) in m.NamedParameters())
            if (name.EndsWith("bias", StringComparison.Ordinal) && !name.StartsWith("fc3", StringComparison.Ordinal)) p.Data.Fill(3f);
        return m;
    }, m => ClearOfKinks(m, input));

    private static bool ClearOfKinks(LeNet5 m, Tensor x)
    {
        var p = m.StateDict();
        using var _ = GradMode.NoGrad();
        bool ok = true;
        int badRelu = 0, badPool = 0;
        Tensor ReluChecked(Tensor z) { badRelu += z.ToArray().Count(v => MathF.Abs(v) < 0.04f); return Ops.Relu(z); }
        Tensor PoolChecked(Tensor a)
        {
            int n = a.Shape[0] * a.Shape[1], h = a.Shape[2], w = a.Shape[3];
            for (int q = 0; q < n; q++)
                for (int i = 0; i + 1 < h; i += 2)
                    for (int j = 0; j + 1 < w; j += 2)
                    {
                        var v = new[] { a.Data[(q * h + i) * w + j], a.Data[(q * h + i) * w + j + 1], a.Data[(q * h + i + 1) * w + j], a.Data[(q * h + i + 1) * w + j + 1] }.OrderDescending().ToArray();
                        if (!(v[0] == v[1] || v[0] - v[1] >= 0.04f)) badPool++; // exactly equal maxima come from the padding (bias only): they move together
                    }
            return Ops.MaxPool2d(a, 2);
        }
        var y = PoolChecked(ReluChecked(Ops.Conv2d(Ops.Reshape(x, x.Shape[0], 1, 12, 12), p["conv1.weight"], p["conv1.bias"], 1, 2)));
        y = PoolChecked(ReluChecked(Ops.Conv2d(y, p["conv2.weight"], p["conv2.bias"])));
        y = ReluChecked(Ops.Linear(Ops.Flatten(y, 1), p["fc1.weight"], p["fc1.bias"]));
        ReluChecked(Ops.Linear(y, p["fc2.weight"], p["fc2.bias"]));
        return ok && badRelu == 0 && badPool == 0;
    }

    public static TheoryData<string, bool> Cases() => new()
    {
        { "BasicBlock", false }, { "ResNet", false }, { "LeNet5", true }, { "LeNet5", false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Model_gradients_match_central_differences(string model, bool training)
    {
        var x = model switch { "BasicBlock" => N(1, 2, 2, 5, 5), "ResNet" => N(1, 3, 2, 6, 6), _ => N(1, 1, 1, 12, 12) };
        Module m = model switch
        {
            "BasicBlock" => AwayFromKinks(new BasicBlock(2, 4, 2, new Random(5))),
            "ResNet" => AwayFromKinks(new ResNet(2, 3, 6, blocks: 1, width: 2, rng: new Random(4))),
            _ => SmallLeNet(x),
        };
        m.Train(training);
        var inputs = new List<Tensor> { x };
        inputs.AddRange(m.Parameters());
        var result = GradCheck.Check(_ => m.Forward(x), inputs.ToArray());
        Assert.True(result.Passed, $"{model} training={training}: {result}");
    }
}
