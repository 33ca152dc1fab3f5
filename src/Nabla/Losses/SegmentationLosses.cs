namespace Nabla.Losses;

/// <summary>
/// Soft Dice loss for segmentation (<see cref="Ops.DiceLoss"/>): logits [N, C, H, W] against class
/// indices [N, H, W], 1 − the mean over classes of 2·|P∩T| / (|P| + |T|) with softmax probabilities.
/// </summary>
public sealed class DiceLoss(float smooth = 1f) : Loss
{
    /// <summary>Added to numerator and denominator (keeps absent classes finite).</summary>
    public float Smooth { get; } = smooth;
    /// <inheritdoc/>
    public override string Name => "dice";
    /// <inheritdoc/>
    public override Tensor Forward(Tensor output, Tensor target) => Ops.DiceLoss(output, CrossEntropyLoss.LabelsOf(target), Smooth);
    /// <inheritdoc/>
    public override Tensor Forward(Tensor output, int[] labels) => Ops.DiceLoss(output, labels, Smooth);
}

/// <summary>
/// A weighted sum of losses on the same output and targets, e.g. per-pixel cross-entropy plus Dice:
/// <c>new CombinedLoss((new CrossEntropyLoss(), 1f), (new DiceLoss(), 1f))</c>.
/// </summary>
public sealed class CombinedLoss : Loss
{
    private readonly (Loss Loss, float Weight)[] terms;

    /// <summary>Creates the sum Σ weight·loss.</summary>
    public CombinedLoss(params (Loss Loss, float Weight)[] terms)
    {
        ArgumentNullException.ThrowIfNull(terms);
        if (terms.Length == 0) throw new ArgumentException("CombinedLoss: give at least one loss.");
        foreach (var (loss, weight) in terms)
        {
            ArgumentNullException.ThrowIfNull(loss);
            if (!float.IsFinite(weight)) throw new ArgumentException($"CombinedLoss: the weight {weight} of {loss.Name} is not finite.");
        }
        this.terms = terms;
    }

    /// <summary>The terms and their weights.</summary>
    public IReadOnlyList<(Loss Loss, float Weight)> Terms => terms;

    /// <inheritdoc/>
    public override string Name => string.Join(" + ", terms.Select(t => t.Weight == 1f ? t.Loss.Name : $"{t.Weight:G3}·{t.Loss.Name}"));

    /// <inheritdoc/>
    public override Tensor Forward(Tensor output, Tensor target) => Sum(l => l.Forward(output, target));

    /// <inheritdoc/>
    public override Tensor Forward(Tensor output, int[] labels) => Sum(l => l.Forward(output, labels));

    private Tensor Sum(Func<Loss, Tensor> f)
    {
        Tensor? total = null;
        foreach (var (loss, weight) in terms)
        {
            var term = f(loss);
            if (weight != 1f) term = term * weight;
            total = total is null ? term : total + term;
        }
        return total!;
    }
}
