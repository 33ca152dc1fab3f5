using Nabla.Training;

namespace Nabla.Tests.Training;

/// <summary>Precision, recall and F1 of <see cref="ConfusionMatrix"/> against values computed by hand.</summary>
public sealed class ConfusionMetricsTests
{
    // Rows actual, columns predicted:
    //           pred 0  pred 1  pred 2
    // actual 0     5       2       1      (8)
    // actual 1     1       3       0      (4)
    // actual 2     0       2       6      (8)
    //            (6)     (7)     (7)      20
    private static ConfusionMatrix Sample()
    {
        var m = new ConfusionMatrix(3);
        long[,] counts = { { 5, 2, 1 }, { 1, 3, 0 }, { 0, 2, 6 } };
        for (int a = 0; a < 3; a++)
            for (int p = 0; p < 3; p++)
                for (long k = 0; k < counts[a, p]; k++) m.Add(a, p);
        return m;
    }

    [Fact]
    public void PrecisionRecallAndF1MatchHandComputedValues()
    {
        var m = Sample();
        Assert.Equal(20, m.Total);
        Assert.Equal(14 / 20.0, m.Accuracy, 12);
        // Precision = diagonal / column total.
        Assert.Equal(5 / 6.0, m.Precision(0), 12);
        Assert.Equal(3 / 7.0, m.Precision(1), 12);
        Assert.Equal(6 / 7.0, m.Precision(2), 12);
        // Recall = diagonal / row total.
        Assert.Equal(5 / 8.0, m.Recall(0), 12);
        Assert.Equal(3 / 4.0, m.Recall(1), 12);
        Assert.Equal(6 / 8.0, m.Recall(2), 12);
        // F1 = 2PR / (P + R): class 0: 2·(5/6)(5/8)/(5/6 + 5/8) = 10/14 = 5/7; class 1: 6/11; class 2: 4/5.
        Assert.Equal(5 / 7.0, m.F1(0), 12);
        Assert.Equal(6 / 11.0, m.F1(1), 12);
        Assert.Equal(4 / 5.0, m.F1(2), 12);
    }

    [Fact]
    public void ClassesNeverPredictedOrNeverSeen()
    {
        var m = new ConfusionMatrix(3);
        m.Add(0, 0);
        m.Add(1, 0);
        // Class 2 never occurs and is never predicted: precision and recall are undefined (NaN).
        Assert.True(double.IsNaN(m.Precision(2)));
        Assert.True(double.IsNaN(m.Recall(2)));
        // Class 1 occurs but is never predicted: precision undefined, recall 0.
        Assert.True(double.IsNaN(m.Precision(1)));
        Assert.Equal(0.0, m.Recall(1));
        // Class 0: precision 1/2, recall 1, F1 = 2·½·1/(1½) = 2/3.
        Assert.Equal(0.5, m.Precision(0), 12);
        Assert.Equal(1.0, m.Recall(0), 12);
        Assert.Equal(2 / 3.0, m.F1(0), 12);
    }
}
