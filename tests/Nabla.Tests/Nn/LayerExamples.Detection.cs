using Nabla.Models;

namespace Nabla.Tests.Nn;

public static partial class LayerExamples
{
    static partial void AddDetection(Dictionary<string, LayerExample> t)
    {
        // 8×8 input: feature maps 2×2 and 1×1, 4 default boxes per cell, 20 in all. Checked in
        // evaluation mode with batch norm set to 0.1·x + 1, which keeps every ReLU input away from its
        // kink. (At 16×16 the 1,120 outputs' float32 rounding, over the check's step of 0.01, is as large
        // as the smallest derivatives: the check then fails on noise, as a bare strided Conv2d does.)
        // Even at 8x8 the 280 outputs' float32 rounding over a step of 0.01 reaches 1-2 % of the smallest
        // derivatives, so the step is 0.05: the ReLU inputs stay clear of their kink and everything else is
        // linear in each weight, so the larger step adds no truncation error.
        t["Ssd"] = new(() => SmallSsd(), [2, 1, 8, 8], [2, 1, 9, 9], Stochastic: true, GradStep: 0.05f);
    }

    /// <summary>A tiny detector (width 2, 2 classes, 8×8 input) whose ReLUs are clear of their kink in evaluation mode.</summary>
    internal static Ssd SmallSsd(int seed = 7)
    {
        var m = new Ssd(1, 2, 8, width: 2, rng: new Random(seed));
        foreach (var bn in Descendants(m).OfType<Nabla.Nn.BatchNorm2d>())
        {
            bn.Weight!.Data.Fill(0.2f);
            bn.Bias!.Data.Fill(1f);
            bn.RunningVar!.Data.Fill(4f);
        }
        return m;
    }

    private static IEnumerable<Nabla.Nn.Module> Descendants(Nabla.Nn.Module m) =>
        m.NamedChildren().SelectMany(c => Descendants(c.Module).Prepend(c.Module));
}
