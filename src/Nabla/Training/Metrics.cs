using System.Globalization;
using System.Text;

namespace Nabla.Training;

/// <summary>
/// Counts of (actual, predicted) class pairs. Row = actual class, column = predicted class; the
/// diagonal holds the correct predictions.
/// </summary>
public sealed class ConfusionMatrix
{
    /// <summary>An empty matrix for <paramref name="classes"/> classes.</summary>
    public ConfusionMatrix(int classes)
    {
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), "ConfusionMatrix: needs at least one class.");
        Classes = classes;
        Counts = new long[classes, classes];
    }

    /// <summary>Number of classes.</summary>
    public int Classes { get; }

    /// <summary>Counts[actual, predicted].</summary>
    public long[,] Counts { get; }

    /// <summary>Total number of samples counted.</summary>
    public long Total { get; private set; }

    /// <summary>Records one prediction.</summary>
    public void Add(int actual, int predicted)
    {
        Counts[actual, predicted]++;
        Total++;
    }

    /// <summary>Fraction of correct predictions (the notes' success rate).</summary>
    public double Accuracy
    {
        get
        {
            long correct = 0;
            for (int i = 0; i < Classes; i++) correct += Counts[i, i];
            return Total == 0 ? double.NaN : (double)correct / Total;
        }
    }

    /// <summary>Of the samples predicted as <paramref name="c"/>, the fraction that are <paramref name="c"/>.</summary>
    public double Precision(int c)
    {
        long col = 0;
        for (int i = 0; i < Classes; i++) col += Counts[i, c];
        return col == 0 ? double.NaN : (double)Counts[c, c] / col;
    }

    /// <summary>Of the samples of class <paramref name="c"/>, the fraction predicted as <paramref name="c"/>.</summary>
    public double Recall(int c)
    {
        long row = 0;
        for (int j = 0; j < Classes; j++) row += Counts[c, j];
        return row == 0 ? double.NaN : (double)Counts[c, c] / row;
    }

    /// <summary>Harmonic mean of precision and recall for class <paramref name="c"/>.</summary>
    public double F1(int c)
    {
        double p = Precision(c), r = Recall(c);
        return p + r == 0 ? 0 : 2 * p * r / (p + r);
    }

    /// <summary>A plain-text table, rows = actual, columns = predicted.</summary>
    public override string ToString()
    {
        int width = Math.Max(5, Total.ToString(CultureInfo.InvariantCulture).Length + 1);
        var sb = new StringBuilder();
        sb.Append("actual\\pred".PadRight(12));
        for (int j = 0; j < Classes; j++) sb.Append(j.ToString(CultureInfo.InvariantCulture).PadLeft(width));
        sb.AppendLine();
        for (int i = 0; i < Classes; i++)
        {
            sb.Append(i.ToString(CultureInfo.InvariantCulture).PadRight(12));
            for (int j = 0; j < Classes; j++) sb.Append(Counts[i, j].ToString(CultureInfo.InvariantCulture).PadLeft(width));
            sb.AppendLine();
        }
        return sb.ToString();
    }
}

/// <summary>Turns model outputs into class predictions.</summary>
public static class Predictions
{
    /// <summary>
    /// The predicted class of each row: the arg-max for several outputs; for a single output,
    /// 1 when it exceeds <paramref name="threshold"/> (0.5 for probabilities, 0 for logits).
    /// </summary>
    public static int[] Classes(Tensor output, float threshold = 0.5f)
    {
        if (output.Rank == 1 || (output.Rank == 2 && output.Shape[1] == 1))
            return output.ToArray().Select(v => v > threshold ? 1 : 0).ToArray();
        return Ops.ArgMax(output.Rank == 2 ? output : Ops.Flatten(output, 1), -1).ToInt32Array();
    }

    /// <summary>How many rows of <paramref name="output"/> predict their label (see <see cref="Classes"/>); allocates nothing.</summary>
    public static int CountCorrect(Tensor output, int[] labels, float threshold = 0.5f)
    {
        int n = labels.Length;
        if (n == 0) return 0;
        int width = output.Length / n;
        if (width * n != output.Length)
            throw new ShapeMismatchException("CountCorrect", output.Shape, new Shape(n), "outputs and labels differ in count");
        var d = output.Data;
        int correct = 0;
        for (int i = 0; i < n; i++)
        {
            int predicted = width == 1
                ? (d[i] > threshold ? 1 : 0)
                : System.Numerics.Tensors.TensorPrimitives.IndexOfMax(d.Slice(i * width, width));
            if (predicted == labels[i]) correct++;
        }
        return correct;
    }
}
