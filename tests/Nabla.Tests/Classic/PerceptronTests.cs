using Nabla.Classic;

namespace Nabla.Tests.Classic;

/// <summary>The notes' perceptron (file 002): the learning rule, convergence on AND and OR, failure on XOR.</summary>
public class PerceptronTests
{
    private static readonly float[][] Inputs = [[0, 0], [0, 1], [1, 0], [1, 1]];
    private static readonly int[] And = [0, 0, 0, 1];
    private static readonly int[] Or = [0, 1, 1, 1];
    private static readonly int[] Xor = [0, 1, 1, 0];

    [Theory]
    [InlineData("and")]
    [InlineData("or")]
    public void LearnsLinearlySeparableFunctions(string name)
    {
        var targets = name == "and" ? And : Or;
        var p = new Perceptron(2, learningRate: 0.1f);
        var result = p.Train(Inputs, targets, maxEpochs: 100);
        Assert.True(result.Converged, $"{name}: {string.Join(",", result.MistakesPerEpoch)}");
        Assert.Equal(0, result.MistakesPerEpoch[^1]);
        Assert.Equal(result.Epochs, result.MistakesPerEpoch.Count);
        Assert.All(result.MistakesPerEpoch.SkipLast(1), m => Assert.True(m > 0));
        for (int i = 0; i < 4; i++) Assert.Equal(targets[i], p.Predict(Inputs[i]));
        Assert.Equal(1.0, p.Accuracy(Inputs, targets));
    }

    [Fact]
    public void LearnsAnd_FromSmallRandomWeights()
    {
        for (int seed = 0; seed < 10; seed++)
        {
            var p = new Perceptron(2, 0.1f, new Random(seed));
            Assert.True(p.Train(Inputs, And).Converged);
            Assert.Equal(1.0, p.Accuracy(Inputs, And));
        }
    }

    [Fact]
    public void DoesNotConvergeOnXor()
    {
        var p = new Perceptron(2, 0.1f);
        var result = p.Train(Inputs, Xor, maxEpochs: 50);
        Assert.False(result.Converged);
        Assert.Equal(50, result.Epochs);
        Assert.Equal(50, result.MistakesPerEpoch.Count);
        Assert.All(result.MistakesPerEpoch, m => Assert.True(m > 0));
        // No line separates XOR: at most 3 of the 4 points can be right.
        Assert.True(p.Accuracy(Inputs, Xor) <= 0.75);
    }

    [Fact]
    public void TheLearningRule_ByHand()
    {
        // w = 0, b = 0, η = 0.25. (1, 1) with target 1: a = 0, h(0) = 0, error +1:
        // w ← w + η·(1 − 0)·x = (0.25, 0.25), b ← 0.25.
        var p = new Perceptron(2, 0.25f);
        Assert.True(p.Learn([1f, 1f], 1));
        Assert.Equal([0.25f, 0.25f], p.Weights.ToArray());
        Assert.Equal(0.25f, p.Bias);
        // (1, 0) with target 0: a = 0.5 > 0, h = 1, error −1: w = (0, 0.25), b = 0.
        Assert.True(p.Learn([1f, 0f], 0));
        Assert.Equal([0f, 0.25f], p.Weights.ToArray());
        Assert.Equal(0f, p.Bias);
        // (0, 1) with target 1: a = 0.25 > 0, correct: nothing changes.
        Assert.False(p.Learn([0f, 1f], 1));
        Assert.Equal([0f, 0.25f], p.Weights.ToArray());
        // The step function: h(0) = 0.
        Assert.Equal(0, new Perceptron(1).Predict([5f]));
    }

    [Fact]
    public void TheLearningRateIsHonoured()
    {
        // From zero weights every update is a multiple of η, and the decisions depend only on the
        // signs of the activations, so the same mistakes happen and the weights scale with η.
        // (Powers of two keep the float arithmetic exact, so no activation's sign is a rounding accident.)
        var slow = new Perceptron(2, 0.25f);
        var fast = new Perceptron(2, 2f);
        var a = slow.Train(Inputs, Or);
        var b = fast.Train(Inputs, Or);
        Assert.Equal(a.MistakesPerEpoch, b.MistakesPerEpoch);
        for (int j = 0; j < 2; j++) Assert.Equal(slow.Weights[j] * 8, fast.Weights[j]);
        Assert.Equal(slow.Bias * 8, fast.Bias);
        Assert.NotEqual(0f, fast.Weights[0]);
        Assert.Equal(2f, fast.LearningRate);

        // From non-zero weights a larger η means larger corrections: a different path.
        var p1 = new Perceptron(2, 0.01f) { Bias = 0.5f };
        var p2 = new Perceptron(2, 1f) { Bias = 0.5f };
        p1.Learn([1f, 1f], 0);
        p2.Learn([1f, 1f], 0);
        Assert.Equal(0.49f, p1.Bias, 6);
        Assert.Equal(-0.5f, p2.Bias, 6);
    }

    [Fact]
    public void TrainsOnTensors_AndValidatesInputs()
    {
        var x = Tensor.FromArray([0f, 0, 0, 1, 1, 0, 1, 1], 4, 2);
        var p = new Perceptron(2, 0.5f);
        Assert.True(p.Train(x, And).Converged);
        Assert.Throws<ArgumentException>(() => p.Train(Inputs, [0, 1, 2, 1]));
        Assert.Throws<ArgumentException>(() => p.Train(Inputs, [0, 1]));
        Assert.Throws<ArgumentException>(() => p.Train([[1f, 2f, 3f]], [1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Perceptron(2, 0f));
        Assert.Contains("η=0.5", p.ToString());
    }
}
