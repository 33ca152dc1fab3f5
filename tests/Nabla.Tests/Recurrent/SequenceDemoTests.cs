using Nabla.Cli;
using Nabla.Cli.Commands;
using Nabla.Sequences;
using Nabla.Tests.Plots;

namespace Nabla.Tests.Recurrent;

/// <summary>The digit-line generator and a short run of <c>nabla demo sequence</c>.</summary>
public class SequenceDemoTests
{
    private static (float[] Images, int[] Labels) Digits()
    {
        var m = Nabla.Data.MnistFolder.Load(Path.Combine(FindRepo(), "data", "mnist10k"), flatten: true).Train;
        return (m.Features, m.Labels);
    }

    private static string FindRepo()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (Directory.Exists(Path.Combine(d.FullName, "data", "mnist10k"))) return d.FullName;
        throw new DirectoryNotFoundException("data/mnist10k not found above the test binaries.");
    }

    [Fact]
    public void Lines_are_seeded_hold_3_to_8_digits_and_test_lines_use_other_images()
    {
        var (images, labels) = Digits();
        var (train, test) = DigitLineGenerator.Split(images, labels, 0.2, seed: 3);
        Assert.Empty(train.Pool.Intersect(test.Pool));
        Assert.Equal(labels.Length, train.Pool.Count + test.Pool.Count);
        var a = train.Generate(20, 5);
        var b = train.Generate(20, 5);
        Assert.Equal(a.Select(l => l.Text), b.Select(l => l.Text));
        Assert.Equal(a[3].Image, b[3].Image);
        Assert.All(a, l =>
        {
            Assert.InRange(l.Digits.Length, 3, 8);
            Assert.Equal(32, l.Height);
            Assert.Equal(l.Height * l.Width, l.Image.Length);
            Assert.InRange(l.Width, 3 * 8, 8 * 40);
        });
        var (x, steps, targets) = DigitLineGenerator.Batch(a.Take(4).ToList(), stride: 2, window: 4);
        Assert.Equal([steps.Max(), 4, 32 * 4], x.Shape.ToArray());
        Assert.Equal(a[0].Digits.Select(d => d + 1), targets[0]);
        Assert.Equal((a[1].Width + 1) / 2, steps[1]);
        // Step 1 of line 0 holds columns 2..5 top to bottom.
        Assert.Equal(a[0].Image[5 * a[0].Width + 3], x[1, 0, 32 + 5]);
    }

    [Fact]
    public void Demo_runs_from_the_command_line_and_writes_its_png()
    {
        string dir = Directory.CreateTempSubdirectory("nabla-seq-").FullName;
        try
        {
            var output = new StringWriter();
            var error = new StringWriter();
            int code = Program.Run(["demo", "sequence", "--out", dir, "--fast"], output, error);
            Assert.True(code == ExitCodes.Ok, $"exit code {code}: {error}");
            PngFile.AssertValid(Path.Combine(dir, "sequence-lines.png"));
            Assert.Contains("character error rate", output.ToString());
            Assert.Contains("truth ", output.ToString());
            // Both readers are trained and reported side by side.
            Assert.Contains("BiLSTM: character error rate", output.ToString());
            Assert.Contains("CNN+LSTM: character error rate", output.ToString());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
