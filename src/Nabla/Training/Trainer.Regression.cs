using Nabla.Autograd;
using Nabla.Data;
using Nabla.Losses;
using Nabla.Nn;

namespace Nabla.Training;

/// <summary>Regression metrics over every target value of a data set.</summary>
/// <param name="Mse">Mean squared error, (1/n)·Σ(y − ŷ)².</param>
/// <param name="Mae">Mean absolute error, (1/n)·Σ|y − ŷ|.</param>
/// <param name="R2">Coefficient of determination, 1 − Σ(y − ŷ)² / Σ(y − ȳ)² (1 is perfect, 0 is as good as predicting the mean; NaN when the targets are constant).</param>
public sealed record RegressionMetrics(double Mse, double Mae, double R2)
{
    /// <summary>The metrics of <paramref name="predictions"/> against <paramref name="targets"/> (same length).</summary>
    public static RegressionMetrics Compute(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets)
    {
        if (predictions.Length != targets.Length)
            throw new ArgumentException($"RegressionMetrics: {predictions.Length} predictions for {targets.Length} targets.");
        if (targets.Length == 0) throw new ArgumentException("RegressionMetrics: no values.");
        double mean = 0;
        foreach (float t in targets) mean += t;
        mean /= targets.Length;
        double se = 0, ae = 0, tot = 0;
        for (int i = 0; i < targets.Length; i++)
        {
            double d = targets[i] - (double)predictions[i];
            se += d * d;
            ae += Math.Abs(d);
            tot += (targets[i] - mean) * (targets[i] - mean);
        }
        return new RegressionMetrics(se / targets.Length, ae / targets.Length, tot > 0 ? 1 - se / tot : double.NaN);
    }
}

public static partial class Trainer
{
    // Evaluate for float targets: the loss per sample, and MSE, MAE and R² over all target values.
    private static EvaluationResult EvaluateRegression(Module model, Dataset data, Loss loss, int batchSize, TensorArena arena)
    {
        bool wasTraining = model.IsTraining;
        model.Eval();
        try
        {
            using var _ = GradMode.NoGrad();
            var predictions = new float[data.Targets!.Length];
            double lossSum = 0;
            int at = 0;
            foreach (var batch in new DataLoader(data, batchSize))
            {
                arena.Reset();
                using var active = arena.Activate();
                var output = model.Forward(batch.Inputs);
                if (output.Length != batch.Targets.Length)
                    throw new ShapeMismatchException("Evaluate", output.Shape, batch.Targets.Shape, "the model's output does not match the targets");
                lossSum += loss.BatchTotal(loss.Forward(output, batch.Targets).Item(), batch.Size);
                output.Data.CopyTo(predictions.AsSpan(at));
                at += output.Length;
            }
            var metrics = RegressionMetrics.Compute(predictions, data.Targets);
            return new EvaluationResult(lossSum / data.Count, double.NaN, new ConfusionMatrix(2)) { Regression = metrics };
        }
        finally
        {
            model.Train(wasTraining);
        }
    }
}
