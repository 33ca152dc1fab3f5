using Nabla.Models;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Sequences;

namespace Nabla.Tests.Recurrent;

/// <summary>The CNN + LSTM line reader: shapes, lengths, batching of lines, and a short seeded CTC training on generated digit lines.</summary>
public class CrnnReaderTests
{
    /// <summary>Sets every batch norm to 0.2·x̂ + 1 with running variance 4, so ReLU inputs (0.1·z + 1) stay away from 0.</summary>
    internal static CrnnReader AwayFromKinks(CrnnReader m)
    {
        foreach (var bn in m.Cnn.OfType<BatchNorm2d>())
            foreach (var (name, t) in bn.StateDict())
            {
                if (name == "weight") t.Data.Fill(0.2f);
                else if (name == "bias") t.Data.Fill(1f);
                else if (name == "running_var") t.Data.Fill(4f);
            }
        return m;
    }

    [Fact]
    public void Output_is_steps_by_batch_by_classes_of_log_probabilities()
    {
        var m = new CrnnReader(28, classes: 11, hidden: 8, layers: 2, channels: [4, 6, 5], rng: new Random(1));
        Assert.Equal(5 * 7, m.Features);
        var x = Core.Gen.N(2, 3, 1, 28, 37);
        var y = m.Forward(x);
        Assert.Equal([37 / 4, 3, 11], y.Shape.ToArray());
        // Each step's classes form a distribution.
        for (int i = 0; i < 9 * 3; i++)
        {
            double s = 0;
            for (int c = 0; c < 11; c++) s += Math.Exp(y.Data[i * 11 + c]);
            Assert.Equal(1.0, s, 4);
        }
        // [N, H, W] is taken as one channel.
        using (Autograd.GradMode.NoGrad())
            Assert.Equal(m.Eval().Forward(x).ToArray(), m.Forward(Ops.Reshape(x, 3, 28, 37)).ToArray());
    }

    [Fact]
    public void Bad_shapes_and_lengths_are_clear_errors()
    {
        var m = new CrnnReader(8, hidden: 4, layers: 1, channels: [2, 2, 2], rng: new Random(1));
        var e = Assert.Throws<ShapeMismatchException>(() => m.Forward(Core.Gen.N(1, 2, 1, 9, 12)));
        Assert.Contains("[N, 1, 8, W]", e.Message);
        Assert.Throws<ShapeMismatchException>(() => m.Forward(Core.Gen.N(1, 2, 1, 8, 3)));
        var lengthError = Assert.Throws<ArgumentOutOfRangeException>(() => m.Forward(Core.Gen.N(1, 2, 1, 8, 12), [3, 4]));
        Assert.Contains("length 4 of sequence 1", lengthError.Message);
        Assert.Throws<ArgumentException>(() => new CrnnReader(8, channels: [2, 2]));
        Assert.Throws<ArgumentException>(() => new CrnnReader(3));
    }

    [Fact]
    public void Padded_steps_do_not_change_a_shorter_lines_reading()
    {
        // In a batch a short line is padded to the widest; with its length given, its steps read as
        // when it is alone at the same padded width (the LSTM's backward direction starts at its
        // last real step), while without lengths the padding leaks into its reading.
        var m = new CrnnReader(8, classes: 5, hidden: 6, layers: 1, channels: [3, 4, 3], rng: new Random(2));
        m.Eval();
        var shortLine = new DigitLine(Core.Gen.N(3, 8 * 14).ToArray(), 8, 14, [1, 2]);
        var longLine = new DigitLine(Core.Gen.N(4, 8 * 27).ToArray(), 8, 27, [3, 4, 0]);
        var (both, steps, targets) = CrnnReader.Batch([shortLine, longLine]);
        Assert.Equal([2, 1, 8, 28], both.Shape.ToArray());
        Assert.Equal([4, 7], steps);
        Assert.Equal([4, 5, 1], targets[1]);
        Assert.Equal(shortLine.Image[3 * 14 + 13], both[0, 0, 3, 13]);
        Assert.Equal(0f, both[0, 0, 3, 14]);
        var alone = Ops.Narrow(both, 0, 0, 1).Clone();
        using var _ = Autograd.GradMode.NoGrad();
        var a = m.Forward(alone, [4]);
        var b = m.Forward(both, steps);
        var unmasked = m.Forward(alone);
        float leak = 0;
        for (int t = 0; t < 4; t++)
            for (int c = 0; c < 5; c++)
            {
                Assert.Equal(a[t, 0, c], b[t, 0, c], 4);
                leak = Math.Max(leak, Math.Abs(a[t, 0, c] - unmasked[t, 0, c]));
            }
        Assert.True(leak > 1e-4f, "reading the padding too should change the backward direction's states");
    }

    [Fact]
    public void Ctc_loss_falls_when_it_learns_to_read_digit_lines()
    {
        var mnist = Nabla.Data.MnistFolder.Load(Path.Combine(FindRepo(), "data", "mnist10k"), flatten: true).Train;
        var gen = new DigitLineGenerator(mnist.Features, mnist.Labels, Enumerable.Range(0, 2000).ToArray(), height: 28, minDigits: 2, maxDigits: 4);
        var rng = new Random(7);
        var m = new CrnnReader(28, hidden: 24, layers: 1, channels: [8, 16, 16], rng: rng);
        var opt = new Adam(m.Parameters(), 3e-3f);
        var losses = new List<float>();
        for (int step = 0; step < 30; step++)
        {
            var (x, steps, targets) = CrnnReader.Batch(gen.Generate(16, 100 + step));
            var loss = Ops.CtcLoss(m.Forward(x, steps), targets, steps);
            Assert.True(float.IsFinite(loss.Item()), $"step {step}: loss {loss.Item()}");
            losses.Add(loss.Item());
            opt.ZeroGrad();
            loss.Backward();
            opt.Step();
        }
        float first = losses.Take(3).Average(), last = losses.TakeLast(3).Average();
        Assert.True(last < 0.6f * first, $"CTC loss fell only from {first:F3} to {last:F3}");
    }

    private static string FindRepo()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (Directory.Exists(Path.Combine(d.FullName, "data", "mnist10k"))) return d.FullName;
        throw new DirectoryNotFoundException("data/mnist10k not found above the test binaries.");
    }
}
