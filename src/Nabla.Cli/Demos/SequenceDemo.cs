using System.Diagnostics;
using Nabla.Data;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Sequences;
using SkiaSharp;
using Nabla.Cli.Plots;

namespace Nabla.Cli.Demos;

/// <summary>The figures of <see cref="SequenceDemo"/>.</summary>
/// <param name="CharacterErrorRate">Edit distance over reference length on the held-out lines.</param>
/// <param name="LineAccuracy">Fraction of held-out lines read exactly.</param>
/// <param name="FirstLoss">Mean CTC loss of the first epoch.</param>
/// <param name="LastLoss">Mean CTC loss of the last epoch.</param>
/// <param name="TestLines">Held-out lines evaluated.</param>
public sealed record SequenceDemoResult(double CharacterErrorRate, double LineAccuracy, double FirstLoss, double LastLoss, int TestLines);

/// <summary>
/// Note 004, sequence to sequence: lines of 3–8 handwritten digits (the shipped MNIST digits placed
/// side by side; test lines use digits no training line uses) read column by column by a
/// bidirectional LSTM trained with the CTC loss, decoded greedily.
/// </summary>
public static class SequenceDemo
{
    /// <summary>Line height in pixels.</summary>
    public const int LineHeight = 28;
    /// <summary>Neighbouring columns per LSTM step.</summary>
    public const int ColumnsPerStep = 2;

    /// <summary>Runs the demo, prints its figures and writes a PNG of lines with their readings.</summary>
    public static SequenceDemoResult Run(DemoRun run)
    {
        run.Heading("Reading lines of handwritten digits with a BiLSTM and CTC (note 004)");
        var mnist = MnistFolder.Load(FindData(), flatten: true).Train;
        var (trainGen, testGen) = DigitLineGenerator.Split(mnist.Features, mnist.Labels, 0.2, run.Seed, LineHeight);
        int nTrain = run.Fast ? 384 : 6000, nTest = run.Fast ? 128 : 500, epochs = run.Fast ? 2 : 12, batch = 32;
        int hidden = run.Fast ? 48 : 128;
        var train = trainGen.Generate(nTrain, run.Seed * 7919 + 1);
        var test = testGen.Generate(nTest, run.Seed * 7919 + 2);
        run.Line($"{nTrain} training lines from {trainGen.Pool.Count} digit images, {nTest} test lines from {testGen.Pool.Count} other images; " +
                 $"height {LineHeight}, {ColumnsPerStep} columns per step, BiLSTM 2×{hidden}, Adam, batch {batch}");

        var rng = new Random(run.Seed);
        var model = new LineReader(LineHeight * ColumnsPerStep, hidden, 2, 11, rng);
        var opt = new Adam(model.Parameters(), 2e-3f);
        var arena = new TensorArena();
        var clock = Stopwatch.StartNew();
        double firstLoss = double.NaN, lastLoss = double.NaN;
        var order = Enumerable.Range(0, nTrain).ToArray();
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            if (epoch == epochs * 2 / 3 + 1) opt.LearningRate *= 0.3f;
            rng.Shuffle(order);
            double sum = 0;
            int batches = 0;
            using (arena.Activate())
            {
                for (int b = 0; b + batch <= nTrain; b += batch)
                {
                    arena.Reset();
                    var lines = order.AsSpan(b, batch).ToArray().Select(i => train[i]).ToList();
                    var (x, steps, targets) = DigitLineGenerator.Batch(lines, ColumnsPerStep);
                    var lp = model.Forward(x, steps);
                    var loss = Ops.CtcLoss(lp, targets, steps);
                    opt.ZeroGrad();
                    loss.Backward();
                    ClipGradients(model, 5f);
                    opt.Step();
                    sum += loss.Item();
                    batches++;
                }
            }
            double mean = sum / batches;
            if (epoch == 1) firstLoss = mean;
            lastLoss = mean;
            var (cerE, accE, _) = Evaluate(model, test);
            run.Line($"  epoch {epoch,2}: CTC loss {DemoRun.F(mean, "F3")}, test CER {DemoRun.F(100 * cerE, "F2")} %, line accuracy {DemoRun.F(100 * accE, "F1")} %  ({DemoRun.F(clock.Elapsed.TotalSeconds, "F0")} s)");
        }
        var (cer, acc, readings) = Evaluate(model, test);
        run.Line($"Held-out lines: character error rate {DemoRun.F(100 * cer, "F2")} % (target < 3 %), whole-line accuracy {DemoRun.F(100 * acc, "F1")} %");
        for (int i = 0; i < Math.Min(8, test.Count); i++)
            run.Line($"  truth {test[i].Text,-8}  read {readings[i],-8}  {(readings[i] == test[i].Text ? "ok" : "wrong")}");
        run.Wrote(DrawLines(test.Take(12).ToList(), readings, run.PathOf("sequence-lines.png")));
        return new SequenceDemoResult(cer, acc, firstLoss, lastLoss, test.Count);
    }

    /// <summary>Character error rate, line accuracy and the readings of <paramref name="lines"/>.</summary>
    public static (double Cer, double LineAccuracy, string[] Readings) Evaluate(LineReader model, IReadOnlyList<DigitLine> lines)
    {
        var readings = new List<int[]>();
        for (int b = 0; b < lines.Count; b += 64)
        {
            var chunk = lines.Skip(b).Take(64).ToList();
            var (x, steps, _) = DigitLineGenerator.Batch(chunk, ColumnsPerStep);
            readings.AddRange(model.Read(x, steps));
        }
        var refs = lines.Select(l => l.Digits.Select(d => d + 1).ToArray()).ToList();
        double cer = CtcDecoder.CharacterErrorRate(readings, refs);
        double acc = readings.Zip(refs).Count(p => p.First.SequenceEqual(p.Second)) / (double)lines.Count;
        return (cer, acc, readings.Select(r => string.Concat(r.Select(k => k - 1))).ToArray());
    }

    private static void ClipGradients(Module model, float maxNorm)
    {
        double sq = 0;
        foreach (var p in model.Parameters())
            if (p.Grad is { } g) foreach (float v in g.Data) sq += v * v;
        double norm = Math.Sqrt(sq);
        if (norm <= maxNorm) return;
        float s = (float)(maxNorm / norm);
        foreach (var p in model.Parameters())
            if (p.Grad is { } g) System.Numerics.Tensors.TensorPrimitives.Multiply(g.Data, s, g.Data);
    }

    private static string FindData()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "data", "mnist10k");
            if (Directory.Exists(candidate)) return candidate;
        }
        string cwd = Path.Combine(Directory.GetCurrentDirectory(), "data", "mnist10k");
        if (Directory.Exists(cwd)) return cwd;
        throw new Commands.UsageException("the shipped digits (data/mnist10k) were not found above the program's or the current folder.");
    }

    /// <summary>Draws each line (ink dark on white) with its truth and reading beneath.</summary>
    private static string DrawLines(IReadOnlyList<DigitLine> lines, IReadOnlyList<string> readings, string path)
    {
        const int scale = 2, pad = 10, textH = 22;
        int width = lines.Max(l => l.Width) * scale + 2 * pad + 260;
        int rowH = LineHeight * scale + textH + pad;
        int height = lines.Count * rowH + pad;
        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        PlotFonts.Install();
        using var typeface = SKTypeface.FromFamilyName(PlotFonts.Family) ?? SKTypeface.Default;
        using var font = new SKFont(typeface, 16);
        using var ok = new SKPaint { Color = new SKColor(0x1f, 0x77, 0x1f), IsAntialias = true };
        using var bad = new SKPaint { Color = new SKColor(0xc8, 0x32, 0x2d), IsAntialias = true };
        using var pixel = new SKPaint();
        for (int i = 0; i < lines.Count; i++)
        {
            var l = lines[i];
            int y0 = pad + i * rowH;
            using var bmp = new SKBitmap(l.Width, l.Height, SKColorType.Gray8, SKAlphaType.Opaque);
            for (int r = 0; r < l.Height; r++)
                for (int c = 0; c < l.Width; c++)
                {
                    byte v = (byte)(255 - Math.Clamp((int)(l.Image[r * l.Width + c] * 255), 0, 255));
                    bmp.SetPixel(c, r, new SKColor(v, v, v));
                }
            canvas.DrawBitmap(bmp, new SKRect(pad, y0, pad + l.Width * scale, y0 + l.Height * scale));
            string text = $"truth {l.Text}   read {readings[i]}";
            canvas.DrawText(text, pad, y0 + l.Height * scale + textH - 4, font, readings[i] == l.Text ? ok : bad);
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 90);
        using (var f = File.Create(path)) data.SaveTo(f);
        return Path.GetFullPath(path);
    }
}
