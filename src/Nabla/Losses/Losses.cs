namespace Nabla.Losses;

/// <summary>
/// A loss: compares a model's output with targets and returns a scalar to minimise. Targets are
/// either a tensor (regression values, probabilities, one-hot rows) or class labels.
/// </summary>
public abstract class Loss
{
    /// <summary>The loss for target values of the output's shape.</summary>
    public abstract Tensor Forward(Tensor output, Tensor target);

    /// <summary>The loss for class labels; by default they are one-hot encoded to the output's width.</summary>
    public virtual Tensor Forward(Tensor output, int[] labels) => Forward(output, OneHotRows(labels, output));

    /// <summary>Short name for logs, e.g. "cross-entropy".</summary>
    public abstract string Name { get; }

    /// <summary>
    /// True when <see cref="Forward(Tensor, Tensor)"/> returns the mean over the batch; false when it
    /// returns the sum (as the notes' ½Σ(t−y)² does). Training reports turn either into a mean per sample.
    /// </summary>
    public virtual bool AveragesOverBatch => true;

    /// <summary>The summed loss of a batch of <paramref name="batchSize"/> samples, given the value <see cref="Forward(Tensor, Tensor)"/> returned.</summary>
    public double BatchTotal(double value, int batchSize) => AveragesOverBatch ? value * batchSize : value;

    /// <summary>One-hot rows [N, C] for labels, C taken from the output's last axis.</summary>
    protected static Tensor OneHotRows(int[] labels, Tensor output)
    {
        int c = output.Shape.Last;
        var t = new Tensor(new Shape(labels.Length, c));
        for (int i = 0; i < labels.Length; i++)
        {
            if ((uint)labels[i] >= (uint)c) throw new ArgumentOutOfRangeException(nameof(labels), $"Label {labels[i]} at row {i} is not in [0, {c}).");
            t.Data[i * c + labels[i]] = 1f;
        }
        if (output.Shape != t.Shape) throw new ShapeMismatchException("Loss", output.Shape, t.Shape, "labels need an output of shape [N, classes]");
        return t;
    }

    /// <summary>Parses a name used on the command line: mse, half-sse, bce, bce-logits, cross-entropy, nll, hinge, multi-margin, smooth-l1.</summary>
    public static Loss FromName(string name) => name.ToLowerInvariant() switch
    {
        "mse" => new MseLoss(),
        "half-sse" or "sse" => new HalfSumSquaredErrorLoss(),
        "bce" => new BceLoss(),
        "bce-logits" or "bcewithlogits" => new BceWithLogitsLoss(),
        "cross-entropy" or "crossentropy" or "ce" => new CrossEntropyLoss(),
        "nll" => new NllLoss(),
        "hinge" => new MultiClassHingeLoss(),
        "smooth-l1" => new SmoothL1Loss(),
        "multi-margin" or "multimargin" => new MultiMarginLoss(),
        _ => throw new ArgumentException($"Unknown loss '{name}'. Known: mse, half-sse, bce, bce-logits, cross-entropy, nll, hinge, multi-margin, smooth-l1."),
    };
}

/// <summary>Mean squared error: (output − target)² per element, then the mean (default), the sum, or every element.</summary>
public sealed class MseLoss(Reduction reduction = Reduction.Mean) : Loss
{
    /// <inheritdoc/>
    public override bool AveragesOverBatch => reduction == Reduction.Mean;
    /// <inheritdoc/>
    public override string Name => "mse";
    /// <inheritdoc/>
    public override Tensor Forward(Tensor output, Tensor target) => Ops.MseLoss(output, target, reduction);
}

/// <summary>The notes' C = ½Σ(t−y)² (summed over the batch, not averaged).</summary>
public sealed class HalfSumSquaredErrorLoss : Loss
{
    /// <inheritdoc/>
    public override bool AveragesOverBatch => false;
    /// <inheritdoc/>
    public override string Name => "half-sse";
    /// <inheritdoc/>
    public override Tensor Forward(Tensor output, Tensor target) => Ops.HalfSumSquaredError(output, target);
}

/// <summary>Binary cross-entropy on probabilities (after a sigmoid): −[t·log p + (1−t)·log(1−p)] per element, then reduced.</summary>
public sealed class BceLoss(Reduction reduction = Reduction.Mean) : Loss
{
    /// <inheritdoc/>
    public override bool AveragesOverBatch => reduction == Reduction.Mean;
    /// <inheritdoc/>
    public override string Name => "bce";
    /// <inheritdoc/>
    public override Tensor Forward(Tensor output, Tensor target) => Ops.BinaryCrossEntropy(output, target, reduction);
    /// <summary>Labels 0/1 as a column [N, 1] (or one-hot for wider outputs).</summary>
    public override Tensor Forward(Tensor output, int[] labels) => Forward(output, BinaryTargets(labels, output));

    internal static Tensor BinaryTargets(int[] labels, Tensor output) =>
        output.Length == labels.Length
            ? new Tensor(labels.Select(l => (float)l).ToArray(), output.Shape)
            : OneHotRows(labels, output);
}

/// <summary>Binary cross-entropy on logits z, numerically stable: max(z,0) − z·t + log(1 + e^−|z|) per element, then reduced.</summary>
public sealed class BceWithLogitsLoss(Reduction reduction = Reduction.Mean) : Loss
{
    /// <inheritdoc/>
    public override bool AveragesOverBatch => reduction == Reduction.Mean;
    /// <inheritdoc/>
    public override string Name => "bce-logits";
    /// <inheritdoc/>
    public override Tensor Forward(Tensor output, Tensor target) => Ops.BinaryCrossEntropyWithLogits(output, target, reduction);
    /// <summary>Labels 0/1 as a column [N, 1] (or one-hot for wider outputs).</summary>
    public override Tensor Forward(Tensor output, int[] labels) => Forward(output, BceLoss.BinaryTargets(labels, output));
}

/// <summary>
/// Softmax cross-entropy on logits (fused and stable), per sample −log softmax(z)[t] (or −Σ t·log softmax(z) for target
/// distributions), then averaged over the batch, summed, or kept per sample.
/// </summary>
public sealed class CrossEntropyLoss(Reduction reduction = Reduction.Mean) : Loss
{
    /// <inheritdoc/>
    public override bool AveragesOverBatch => reduction == Reduction.Mean;
    /// <inheritdoc/>
    public override string Name => "cross-entropy";
    /// <inheritdoc/>
    public override Tensor Forward(Tensor output, Tensor target) =>
        (target.Rank == 1 && output.Rank == 2 && target.Length == output.Shape[0]) || (output.Rank > 2 && target.Rank == output.Rank - 1)
            ? Ops.CrossEntropy(output, LabelsOf(target), reduction)
            : Ops.CrossEntropy(output, target, reduction);
    /// <inheritdoc/>
    public override Tensor Forward(Tensor output, int[] labels) => Ops.CrossEntropy(output, labels, reduction);

    internal static int[] LabelsOf(Tensor t) => t.ToArray().Select(v => (int)v).ToArray();
}

/// <summary>Negative log-likelihood on log-probabilities (after <see cref="Nn.LogSoftmax"/>): per sample −x[t], then reduced.</summary>
public sealed class NllLoss(Reduction reduction = Reduction.Mean) : Loss
{
    /// <inheritdoc/>
    public override bool AveragesOverBatch => reduction == Reduction.Mean;
    /// <inheritdoc/>
    public override string Name => "nll";
    /// <inheritdoc/>
    public override Tensor Forward(Tensor output, Tensor target) => Ops.NllLoss(output, CrossEntropyLoss.LabelsOf(target), reduction);
    /// <inheritdoc/>
    public override Tensor Forward(Tensor output, int[] labels) => Ops.NllLoss(output, labels, reduction);
}

/// <summary>
/// The notes' multiclass SVM hinge loss: per sample Lᵢ = Σ_{j≠tᵢ} max(0, s_j − s_tᵢ + margin), averaged over the batch
/// by default. It is C (the number of classes) times PyTorch's <c>MultiMarginLoss</c>; see <see cref="MultiMarginLoss"/>.
/// </summary>
public sealed class MultiClassHingeLoss(float margin = 1f, Reduction reduction = Reduction.Mean) : Loss
{
    /// <inheritdoc/>
    public override bool AveragesOverBatch => reduction == Reduction.Mean;
    /// <inheritdoc/>
    public override string Name => "hinge";
    /// <inheritdoc/>
    public override Tensor Forward(Tensor output, Tensor target) => Ops.MultiClassHingeLoss(output, CrossEntropyLoss.LabelsOf(target), margin, reduction);
    /// <inheritdoc/>
    public override Tensor Forward(Tensor output, int[] labels) => Ops.MultiClassHingeLoss(output, labels, margin, reduction);
}

/// <summary>
/// PyTorch's <c>MultiMarginLoss</c>: per sample Lᵢ = (1/C)·Σ_{j≠tᵢ} max(0, margin − x_tᵢ + x_j)ᵖ (p = 1 or 2), averaged
/// over the batch by default. With p = 1 it equals <see cref="MultiClassHingeLoss"/> divided by C.
/// </summary>
public sealed class MultiMarginLoss(int p = 1, float margin = 1f, Reduction reduction = Reduction.Mean) : Loss
{
    /// <inheritdoc/>
    public override bool AveragesOverBatch => reduction == Reduction.Mean;
    /// <inheritdoc/>
    public override string Name => "multi-margin";
    /// <inheritdoc/>
    public override Tensor Forward(Tensor output, Tensor target) => Ops.MultiMarginLoss(output, CrossEntropyLoss.LabelsOf(target), p, margin, reduction);
    /// <inheritdoc/>
    public override Tensor Forward(Tensor output, int[] labels) => Ops.MultiMarginLoss(output, labels, p, margin, reduction);
}

/// <summary>
/// Smooth L1 (Huber) loss, used for box regression in detection: per element ½x²/β where |x| &lt; β and |x| − ½β
/// elsewhere (x = output − target), then the mean over elements (default), the sum, or every element.
/// </summary>
public sealed class SmoothL1Loss(float beta = 1f, Reduction reduction = Reduction.Mean) : Loss
{
    /// <inheritdoc/>
    public override bool AveragesOverBatch => reduction == Reduction.Mean;
    /// <inheritdoc/>
    public override string Name => "smooth-l1";
    /// <inheritdoc/>
    public override Tensor Forward(Tensor output, Tensor target) => Ops.SmoothL1Loss(output, target, beta, reduction);
}
