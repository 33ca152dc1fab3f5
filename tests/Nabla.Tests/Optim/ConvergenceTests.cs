using Nabla.Nn;
using Nabla.Optim;

namespace Nabla.Tests.Optim;

/// <summary>
/// Every optimiser minimises the convex quadratic f(w) = ½wᵀAw − bᵀw (A symmetric positive
/// definite, eigenvalues (5 ± √5)/2), whose minimum w* = A⁻¹b = (1/5, 2/5) is known; the gradient
/// comes from autograd.
/// </summary>
public class ConvergenceTests
{
    private static readonly Tensor A = Tensor.FromArray(new float[,] { { 3, 1 }, { 1, 2 } });
    private static readonly Tensor B = Tensor.FromArray([1f, 1f], 2, 1);
    private static readonly double[] Minimum = [0.2, 0.4];

    private static Tensor Objective(Tensor w) =>
        Ops.Sum(w * Ops.MatMul(A, w)) * 0.5f - Ops.Sum(B * w);

    private static (double Distance, double FinalValue) Minimise(Func<Parameter, Optimizer> create, int steps)
    {
        var w = new Parameter(Tensor.FromArray([-1.5f, 2f], 2, 1));
        var opt = create(w);
        for (int i = 0; i < steps; i++)
        {
            opt.ZeroGrad();
            opt.BeforeForward();
            Objective(w).Backward();
            opt.Step();
        }
        double dx = w[0, 0] - Minimum[0], dy = w[1, 0] - Minimum[1];
        using var _ = Autograd.GradMode.NoGrad();
        return (Math.Sqrt(dx * dx + dy * dy), Objective(w).Item());
    }

    public static TheoryData<string, int, double> Cases => new()
    {
        { "sgd", 300, 1e-4 },
        { "momentum", 300, 1e-4 },
        { "nesterov", 300, 1e-4 },
        { "sgd-weight-decay", 300, 1e-4 },
        { "adagrad", 2000, 1e-3 },
        { "rmsprop", 3000, 1e-4 },
        { "rmsprop-centered-momentum", 2000, 1e-4 },
        { "adam", 2000, 1e-3 },
        { "adamw", 2000, 1e-3 },
        { "accelerated", 300, 1e-4 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ConvergesToTheKnownMinimum(string name, int steps, double tolerance)
    {
        Func<Parameter, Optimizer> create = name switch
        {
            "sgd" => p => new Sgd([p], 0.2f),
            "momentum" => p => new Sgd([p], 0.05f, momentum: 0.9f),
            "nesterov" => p => new Sgd([p], 0.05f, momentum: 0.9f, nesterov: true),
            // With L2 decay λ the minimum moves to (A + λI)⁻¹b; λ = 1e-6 keeps it within the tolerance.
            "sgd-weight-decay" => p => new Sgd([p], 0.2f, weightDecay: 1e-6f),
            "adagrad" => p => new Adagrad([p], 0.5f),
            "rmsprop" => p => new RmsProp([p], 0.002f),
            "rmsprop-centered-momentum" => p => new RmsProp([p], 0.001f, momentum: 0.5f, centered: true),
            "adam" => p => new Adam([p], 0.01f),
            "adamw" => p => new AdamW([p], 0.01f, weightDecay: 1e-5f),
            "accelerated" => p => new NesterovAccelerated([p], 0.25f),
            _ => throw new ArgumentException(name),
        };
        var (distance, value) = Minimise(create, steps);
        Assert.True(distance < tolerance, $"{name}: |w − w*| = {distance:G3} after {steps} steps");
        // f(w*) = −½bᵀA⁻¹b = −0.3.
        Assert.Equal(-0.3, value, 4);
    }

    [Fact]
    public void Accelerated_BeatsPlainGradientDescent_OnAnIllConditionedQuadratic()
    {
        // f(w) = ½(0.01·w₁² + w₂²), condition number 100, step 1/L = 1 for both. Gradient descent
        // shrinks w₁ by 0.99 a step (f ≈ 6.7e-4 after 100 steps); the accelerated method's momentum
        // carries it along the flat direction much faster (its worst-case rate is O(1/k²), not O(1/k)).
        var a = Tensor.FromArray(new float[,] { { 0.01f, 0 }, { 0, 1 } });
        Tensor F(Tensor w) => Ops.Sum(w * Ops.MatMul(a, w)) * 0.5f;
        double Run(Func<Parameter, Optimizer> create)
        {
            var w = new Parameter(Tensor.FromArray([1f, 1f], 2, 1));
            var opt = create(w);
            for (int i = 0; i < 100; i++)
            {
                opt.ZeroGrad();
                opt.BeforeForward();
                F(w).Backward();
                opt.Step();
            }
            using var _ = Autograd.GradMode.NoGrad();
            return F(w).Item();
        }
        double gd = Run(p => new Sgd([p], 1f));
        double accelerated = Run(p => new NesterovAccelerated([p], 1f));
        Assert.True(accelerated < gd / 10, $"accelerated {accelerated:G3} vs gradient descent {gd:G3}");
    }
}
