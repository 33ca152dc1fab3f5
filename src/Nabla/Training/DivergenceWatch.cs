using System.Globalization;
using System.Numerics.Tensors;
using Nabla.Nn;

namespace Nabla.Training;

/// <summary>
/// Watches every step of <see cref="Trainer.Fit"/> for divergence before the update is applied: a non-finite
/// loss, a loss <see cref="FitOptions.DivergenceFactor"/> times its running level, or a non-finite gradient
/// (naming the first parameter, going backward from the loss, whose gradient went bad). Either throws
/// <see cref="TrainingDivergedException"/> or, with <see cref="FitOptions.SkipDivergentSteps"/>, lets the
/// step be skipped.
/// </summary>
internal sealed class DivergenceWatch
{
    private readonly (string Name, Parameter Parameter)[] named;
    private readonly FitOptions options;
    private double level = double.NaN;
    private int skippedInARow;

    public DivergenceWatch(Module model, FitOptions options)
    {
        named = model.NamedParameters().ToArray();
        this.options = options;
    }

    /// <summary>The current step, 1-based over the whole run.</summary>
    public long Step { get; private set; }

    /// <summary>The running loss level (exponential average of accepted steps), NaN before the first.</summary>
    public double Level => level;

    /// <summary>Restores the running level and step (when training resumes from a checkpoint).</summary>
    public void Restore(long step, double runningLevel)
    {
        Step = step;
        level = runningLevel;
    }

    private static string F(double v) => v.ToString("G4", CultureInfo.InvariantCulture);

    /// <summary>Null when the loss is fine, else the reason (and throws unless skipping is allowed).</summary>
    public string? CheckLoss(float loss, int epoch, int batch, float lr)
    {
        Step++;
        string where = $"Training diverged at step {Step} (epoch {epoch}, batch {batch})";
        if (!float.IsFinite(loss))
            return Fail($"{where}: the loss is {F(loss)}. Lower the learning rate (now {F(lr)}) or check the inputs for NaN.", null);
        if (options.DivergenceFactor is double factor && !double.IsNaN(level) && loss > factor * Math.Max(level, 1.0))
            return Fail($"{where}: the loss {F(loss)} is more than {F(factor)} times its running level {F(level)}. Lower the learning rate (now {F(lr)}).", null);
        return null;
    }

    /// <summary>
    /// Null when every gradient is finite, else the reason naming the first bad parameter in backward order
    /// (from the output towards the input): the layer nearest the loss whose gradient went bad, where it started.
    /// </summary>
    public string? CheckGradients(int epoch, int batch, float lr)
    {
        for (int k = named.Length - 1; k >= 0; k--)
        {
            var (name, p) = named[k];
            if (p.Grad is null) continue;
            // NaN and ±∞ survive a sum, so one vectorised pass per parameter finds them.
            if (float.IsFinite(TensorPrimitives.Sum(p.Grad.Data))) continue;
            var g = p.Grad.Data;
            int bad = 0;
            while (bad < g.Length && float.IsFinite(g[bad])) bad++;
            string value = bad < g.Length ? F(g[bad]) : "overflowing";
            return Fail($"Training diverged at step {Step} (epoch {epoch}, batch {batch}): the gradient of '{name}' (the first, going backward from the loss, whose gradient went bad) " +
                        $"holds {value} at element {bad}. Lower the learning rate (now {F(lr)}) or clip gradients.", name);
        }
        return null;
    }

    private string Fail(string message, string? parameter)
    {
        if (!options.SkipDivergentSteps) throw new TrainingDivergedException(message, Step, parameter);
        return message;
    }

    /// <summary>Records a skipped step; throws after too many in a row.</summary>
    public void Skip(string reason)
    {
        skippedInARow++;
        if (skippedInARow > options.MaxSkippedSteps)
            throw new TrainingDivergedException($"{reason} ({skippedInARow} divergent steps in a row skipped; giving up)", Step);
    }

    /// <summary>Records an accepted step's loss in the running level.</summary>
    public void Accept(float loss)
    {
        skippedInARow = 0;
        level = double.IsNaN(level) ? loss : 0.9 * level + 0.1 * loss;
    }
}
