using Nabla.Nn;
using Nabla.Optim;

namespace Nabla.Tests.Notes;

/// <summary>
/// The worked example of file 000: a 4-3-2 sigmoid network without biases, input
/// x = [1.00, 0.98, 0.76, 0.58], target t = [0, 1]. The slide with W_A is lost; the text gives
/// the hidden activations h ≈ [0.62, 0.53, 0.45] and W_B. We check the printed figures to the
/// printed precision, the notes' matrix form of the update against Nabla's autograd + SGD, and
/// what autograd sends back to the hidden layer.
/// </summary>
public class ToyNetworkTests
{
    private static readonly double[] X = [1.00, 0.98, 0.76, 0.58];
    private static readonly double[] H = [0.62, 0.53, 0.45];
    private static readonly double[,] WB = { { 0.19, -0.43, 0.28 }, { -0.21, 0.03, -0.26 } };
    private static readonly double[] T = [0, 1];

    private static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));

    /// <summary>The notes' feed-forward and error terms in plain double arithmetic.</summary>
    private static (double[] Y, double[] E, double[] Delta) NotesForward()
    {
        var y = new double[2];
        var e = new double[2];
        var delta = new double[2];
        for (int i = 0; i < 2; i++)
        {
            double z = 0;
            for (int j = 0; j < 3; j++) z += WB[i, j] * H[j];
            y[i] = Sigmoid(z);
            e[i] = T[i] - y[i];                    // E_out = t − y
            delta[i] = e[i] * y[i] * (1 - y[i]);   // E ⊗ y ⊗ (1 − y)
        }
        return (y, e, delta);
    }

    [Fact]
    public void FeedForward_GivesThePrintedOutputAndCost()
    {
        var (y, e, delta) = NotesForward();
        Assert.Equal(0.50, y[0], 2);
        Assert.Equal(0.44, y[1], 2);
        Assert.Equal(-0.50, e[0], 2);
        Assert.Equal(0.56, e[1], 2);
        Assert.Equal(-0.13, delta[0], 2);
        Assert.Equal(0.14, delta[1], 2);

        // The printed C = 0.2818 is ½((0.5 − 0)² + (0.44 − 1)²), from the rounded outputs; from the
        // unrounded y = [0.5040, 0.4424] it is 0.2824.
        var cost = Ops.HalfSumSquaredError(Tensor.FromArray([0.5f, 0.44f], 2), Tensor.FromArray([0f, 1f], 2)).Item();
        Assert.Equal(0.2818, cost, 4);

        var h = Tensor.FromArray(H.Select(v => (float)v).ToArray(), 1, 3);
        var wb = Tensor.FromArray(new float[,] { { 0.19f, -0.43f, 0.28f }, { -0.21f, 0.03f, -0.26f } });
        var yNabla = Ops.Sigmoid(Ops.Linear(h, wb, null));
        var c = Ops.HalfSumSquaredError(yNabla, Tensor.FromArray([0f, 1f], 1, 2)).Item();
        Assert.Equal(0.5 * (e[0] * e[0] + e[1] * e[1]), c, 5);
        Assert.Equal(0.2824, c, 4);
        Assert.True(Math.Abs(c - 0.2818) < 1e-3);
        Assert.Equal(y[0], yNabla[0, 0], 5);
        Assert.Equal(y[1], yNabla[0, 1], 5);
    }

    [Fact]
    public void OneBackpropStep_ReproducesThePrintedWeights_InTheNotesFormAndThroughAutograd()
    {
        // The notes: ∇C = −(E ⊗ y ⊗ (1 − y))·hᵀ and W_B ← W_B + λ(E ⊗ y ⊗ (1 − y))·hᵀ with λ = 1.
        var (_, _, delta) = NotesForward();
        double[,] printedGradient = { { 0.08, 0.07, 0.06 }, { -0.09, -0.07, -0.06 } };
        double[,] printedWeights = { { 0.11, -0.50, 0.22 }, { -0.12, 0.10, -0.20 } };
        var notes = new double[2, 3];
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
            {
                Assert.Equal(printedGradient[i, j], -delta[i] * H[j], 2);
                notes[i, j] = WB[i, j] + 1.0 * delta[i] * H[j];
                Assert.Equal(printedWeights[i, j], notes[i, j], 2);
            }

        // The same step through Nabla: autograd on C = ½Σ(t − y)², then SGD with learning rate 1.
        var wb = new Parameter(Tensor.FromArray(new float[,] { { 0.19f, -0.43f, 0.28f }, { -0.21f, 0.03f, -0.26f } }));
        var h = Tensor.FromArray(H.Select(v => (float)v).ToArray(), 1, 3);
        h.RequiresGrad = true;
        var y = Ops.Sigmoid(Ops.Linear(h, wb, null));
        var cost = Ops.HalfSumSquaredError(y, Tensor.FromArray([0f, 1f], 1, 2));
        cost.Backward();
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                Assert.Equal(-delta[i] * H[j], wb.Grad![i, j], 6);
        new Sgd([wb], 1f).Step();
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
            {
                Assert.Equal(notes[i, j], wb[i, j], 6);
                Assert.Equal(printedWeights[i, j], wb[i, j], 2);
            }

        // What reaches h is −W_Bᵀ·(E ⊗ y ⊗ (1 − y)) (with the W_B of the forward pass).
        for (int j = 0; j < 3; j++)
        {
            double expected = -(WB[0, j] * delta[0] + WB[1, j] * delta[1]);
            Assert.Equal(expected, h.Grad![0, j], 6);
        }
    }

    [Fact]
    public void HiddenError_NotesFormVersusTheGradient()
    {
        // The notes distribute the output error back as E_hidden = W_Bᵀ·E_out, and then update
        // W_A with E_hidden ⊗ h ⊗ (1 − h). The exact gradient sends back W_Bᵀ·(E ⊗ y ⊗ (1 − y)):
        // the notes leave out the output layer's σ' = y(1 − y) (≈ ¼ here, so the direction is
        // nearly the same and the step about four times larger).
        var (y, e, delta) = NotesForward();
        var notesHidden = new double[3];
        var gradientHidden = new double[3];
        for (int j = 0; j < 3; j++)
        {
            notesHidden[j] = WB[0, j] * e[0] + WB[1, j] * e[1];
            gradientHidden[j] = WB[0, j] * delta[0] + WB[1, j] * delta[1];
        }
        Assert.Equal(-0.2128, notesHidden[0], 4);
        Assert.Equal(0.2334, notesHidden[1], 4);
        Assert.Equal(-0.2861, notesHidden[2], 4);
        for (int j = 0; j < 3; j++)
        {
            Assert.Equal(Math.Sign(notesHidden[j]), Math.Sign(gradientHidden[j]));
            double ratio = gradientHidden[j] / notesHidden[j];
            Assert.InRange(ratio, 0.2, 0.3);
        }
        Assert.InRange(y[0] * (1 - y[0]), 0.24, 0.26);
    }

    [Fact]
    public void WholeNetwork_WithAWeightMatrixThatReproducesTheHiddenLayer()
    {
        // Any W_A with σ(W_A·x) = h reproduces the printed example; take the one that reads only
        // x₁ = 1.00: its first column is logit(h). Autograd's gradient for W_A is then
        // −(W_Bᵀ·(E ⊗ y ⊗ (1 − y)) ⊗ h ⊗ (1 − h))·xᵀ — the notes' W_A rule with the exact hidden error.
        var waValues = new float[3, 4];
        for (int j = 0; j < 3; j++) waValues[j, 0] = (float)Math.Log(H[j] / (1 - H[j]));
        var wa = new Parameter(Tensor.FromArray(waValues));
        var wb = new Parameter(Tensor.FromArray(new float[,] { { 0.19f, -0.43f, 0.28f }, { -0.21f, 0.03f, -0.26f } }));
        var x = Tensor.FromArray(X.Select(v => (float)v).ToArray(), 1, 4);
        var h = Ops.Sigmoid(Ops.Linear(x, wa, null));
        for (int j = 0; j < 3; j++) Assert.Equal(H[j], h[0, j], 6);
        var y = Ops.Sigmoid(Ops.Linear(h, wb, null));
        Ops.HalfSumSquaredError(y, Tensor.FromArray([0f, 1f], 1, 2)).Backward();

        var (_, _, delta) = NotesForward();
        for (int j = 0; j < 3; j++)
        {
            double hiddenDelta = (WB[0, j] * delta[0] + WB[1, j] * delta[1]) * H[j] * (1 - H[j]);
            for (int k = 0; k < 4; k++) Assert.Equal(-hiddenDelta * X[k], wa.Grad![j, k], 6);
        }
    }
}
