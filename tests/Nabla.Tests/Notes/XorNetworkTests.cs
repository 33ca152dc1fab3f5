using Nabla.Data;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Training;

namespace Nabla.Tests.Notes;

/// <summary>File 002: stacking perceptrons solves XOR; so does a small MLP trained by gradient descent.</summary>
public class XorNetworkTests
{
    private static readonly Tensor Points = Tensor.FromArray([0f, 0, 0, 1, 1, 0, 1, 1], 4, 2);
    private static readonly int[] XorLabels = [0, 1, 1, 0];

    private static Linear Layer(float[,] weight, float[] bias)
    {
        var layer = new Linear(weight.GetLength(1), weight.GetLength(0), rng: new Random(0));
        Tensor.FromArray(weight).Data.CopyTo(layer.Weight.Data);
        bias.CopyTo(layer.Bias!.Data);
        return layer;
    }

    [Fact]
    public void TheHandBuiltNetwork_ClassifiesAllFourPoints()
    {
        // W¹ = [[1, 1], [1, 1]], b¹ = [−1.5, −0.5]: the hidden units are AND and OR;
        // W² = [−1, 1], b² = [−0.5]: "OR and not AND" is XOR.
        var net = new Sequential(
            Layer(new float[,] { { 1, 1 }, { 1, 1 } }, [-1.5f, -0.5f]), new Step(),
            Layer(new float[,] { { -1, 1 } }, [-0.5f]), new Step());
        var output = Trainer.Predict(net, Points);
        Assert.Equal([4, 1], output.Shape.ToArray());
        for (int i = 0; i < 4; i++) Assert.Equal(XorLabels[i], (int)output[i, 0]);

        var hidden = Trainer.Predict(new Sequential(net[0], net[1]), Points);
        Assert.Equal([0f, 1, 1, 1], Enumerable.Range(0, 4).Select(i => hidden[i, 1]));   // OR
        Assert.Equal([0f, 0, 0, 1], Enumerable.Range(0, 4).Select(i => hidden[i, 0]));   // AND
    }

    [Fact]
    public void A221Mlp_HasNineParameters()
    {
        var mlp = new Sequential(new Linear(2, 2), new Sigmoid(), new Linear(2, 1), new Sigmoid());
        Assert.Equal(9, mlp.ParameterCount);        // 2·2 + 2 + 2·1 + 1
    }

    [Theory]
    [InlineData(2, "sigmoid")]
    [InlineData(4, "tanh")]
    public void AnMlp_LearnsXor_ByFullBatchGradientDescent(int hidden, string activation)
    {
        var rng = new Random(3);
        Module act = activation == "tanh" ? new Tanh() : new Sigmoid();
        var mlp = new Sequential(new Linear(2, hidden, rng: rng), act, new Linear(hidden, 1, rng: rng), new Sigmoid());
        var options = new FitOptions { Epochs = 3000, BatchSize = 4, Shuffle = false };
        var history = Trainer.Fit(mlp, Synthetic.Xor(), new BceLoss(), new Sgd(mlp.Parameters(), 1f), options);

        Assert.True(history.Last.Loss < history.Epochs[0].Loss / 10, $"loss {history.Epochs[0].Loss:G3} → {history.Last.Loss:G3}");
        var p = Trainer.Predict(mlp, Points);
        for (int i = 0; i < 4; i++) Assert.Equal(XorLabels[i], p[i, 0] > 0.5f ? 1 : 0);
        Assert.Equal(1.0, history.Last.Accuracy);
    }
}
