using System.Diagnostics;
using System.Globalization;
using Nabla.Cli.Commands;
using Nabla.Cli.Plots;
using Nabla.Data;
using Nabla.Losses;
using Nabla.Models;
using Nabla.Optim;
using Nabla.Serialization;
using Nabla.Vision;

namespace Nabla.Cli.Demos;

/// <summary>The figures of <see cref="DetectDemo"/>.</summary>
/// <param name="MeanAveragePrecision">mAP at IoU 0.5 (VOC all-point) on the held-out scenes.</param>
/// <param name="AveragePrecisionPerClass">AP of each digit (NaN for a digit absent from the test scenes).</param>
/// <param name="FirstLoss">Mean loss over the first tenth of training.</param>
/// <param name="LastLoss">Mean loss over the last tenth of training.</param>
/// <param name="TestScenes">Held-out scenes evaluated.</param>
/// <param name="TrainingSeconds">Wall-clock time of the training steps.</param>
/// <param name="ModelPath">Where the trained model was saved.</param>
/// <param name="ScenePath">A held-out scene saved as a PNG, for <c>nabla predict --image</c>.</param>
public sealed record DetectDemoResult(double MeanAveragePrecision, double[] AveragePrecisionPerClass, double FirstLoss, double LastLoss,
    int TestScenes, double TrainingSeconds, string ModelPath, string ScenePath);

/// <summary>
/// Note 004, object detection: a small single-shot detector (<see cref="Ssd"/>: default boxes of two
/// scales and three aspect ratios on 16×16 and 8×8 feature maps) trained with the multibox loss
/// (cross-entropy with 3:1 hard-negative mining plus smooth L1 on the matched boxes' offsets) on
/// generated 64×64 scenes of 1–5 shipped digits, then decoded with per-class non-maximum
/// suppression and scored by mAP at IoU 0.5 on scenes whose digits no training scene uses.
/// </summary>
public static class DetectDemo
{
    /// <summary>Side of the scenes.</summary>
    public const int SceneSize = 64;

    /// <summary>Class probability from which a detection is drawn in the pictures (mAP uses all down to 0.01).</summary>
    public const float DrawThreshold = 0.5f;

    /// <summary>The digit names, class 0 … 9.</summary>
    public static readonly string[] ClassNames = Enumerable.Range(0, 10).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();

    /// <summary>Runs the demo, prints its figures, writes its PNGs and saves the model.</summary>
    public static DetectDemoResult Run(DemoRun run)
    {
        run.Heading("Finding digits in scenes with a single-shot detector (note 004)");
        var mnist = MnistFolder.Load(ShippedData.FindOrThrow()).Train;
        var (trainGen, testGen) = SceneGenerator.Split(mnist.Features, mnist.Labels, 0.2, run.Seed, SceneSize);
        int steps = run.Fast ? 12 : 600, batch = run.Fast ? 8 : 32, nTest = run.Fast ? 24 : 500, width = run.Fast ? 4 : 16;
        float lr = 3e-3f;
        var rng = new Random(run.Seed);
        var model = new Ssd(1, 10, SceneSize, width, rng: rng);
        var loss = new MultiBoxLoss(model.Priors, model.NumClasses);
        var test = Enumerable.Range(0, nTest).Select(i => testGen.Generate(unchecked(run.Seed * 7919 + 50_000_000 + i))).ToList();
        var probe = test.Take(Math.Min(100, nTest)).ToList();
        run.Line($"{steps} steps of {batch} fresh scenes ({SceneSize}x{SceneSize}, 1-5 digits) from {trainGen.Pool.Count} digit images; {nTest} test scenes from {testGen.Pool.Count} other images");
        run.Line($"SSD: conv backbone {width}-{2 * width}-{4 * width}-{4 * width} channels, heads on {string.Join(" and ", model.FeatureMaps.Select(m => $"{m.Height}x{m.Width}"))} maps, " +
                 $"{DefaultBoxes.PerCell(model.FeatureMaps[0])} default boxes per cell (scales {string.Join("/", model.FeatureMaps.Select(m => DemoRun.F(m.Scale, "0.##")))} and the extra squares, aspect ratios 1, 1/2, 1/3): " +
                 $"{model.PriorCount} default boxes, {model.ParameterCount:N0} parameters");
        run.Line($"multibox loss (cross-entropy, 3:1 hard negatives, smooth L1 on matches at IoU >= 0.5), Adam {DemoRun.F(lr)}, learning rate / 5 for the last quarter");

        var opt = new Adam(model.Parameters(), lr);
        var arena = new TensorArena();
        var clock = Stopwatch.StartNew();
        var curve = new List<(int Step, double Loss, double Conf, double Loc)>();
        int every = Math.Max(1, steps / 10);
        double sum = 0, sumConf = 0, sumLoc = 0;
        int count = 0;
        for (int step = 1; step <= steps; step++)
        {
            if (step == steps * 3 / 4 + 1) opt.LearningRate = lr / 5;
            var scenes = Enumerable.Range(0, batch).Select(i => trainGen.Generate(unchecked(run.Seed * 7919 + step * batch + i))).ToList();
            var targets = loss.Targets(RelativeBoxes(scenes), scenes.Select(s => (IReadOnlyList<int>)s.Labels).ToList());
            using (arena.Activate())
            {
                arena.Reset();
                var (cls, box) = model.ForwardHeads(Images(scenes));
                var r = loss.Forward(cls, box, targets);
                opt.ZeroGrad();
                r.Loss.Backward();
                opt.Step();
                sum += r.Loss.Item(); sumConf += r.Confidence; sumLoc += r.Localization;
                count++;
            }
            if (step % every == 0 || step == steps)
            {
                curve.Add((step, sum / count, sumConf / count, sumLoc / count));
                string map = step % (every * 2) == 0 || step == steps ? $", probe mAP@0.5 {DemoRun.F(Evaluate(model, probe).Map, "F3")}" : "";
                run.Line($"  step {step,5}: loss {DemoRun.F(sum / count, "F3")} (classes {DemoRun.F(sumConf / count, "F3")}, boxes {DemoRun.F(sumLoc / count, "F3")}){map}  ({DemoRun.F(clock.Elapsed.TotalSeconds, "F0")} s)");
                sum = sumConf = sumLoc = 0;
                count = 0;
            }
        }
        double seconds = clock.Elapsed.TotalSeconds;
        run.Line($"Trained in {DemoRun.F(seconds, "F0")} s ({DemoRun.F(steps * batch / seconds, "F0")} scenes/s on {Environment.ProcessorCount} cores)");

        var (mAp, perClass, results) = Evaluate(model, test);
        run.Line($"Held-out scenes: mAP@0.5 (VOC all-point) {DemoRun.F(mAp, "F3")} (target >= 0.85) over {test.Count} scenes, {test.Sum(s => s.Boxes.Length)} digits");
        run.Line("  AP per digit: " + string.Join("  ", perClass.Select((ap, c) => $"{c}: {(double.IsNaN(ap) ? "-" : DemoRun.F(ap, "F2"))}")));

        var panels = test.Take(12).Select((s, i) => new DetectionImages.Panel(s.Image, s.Size, s.Size, Confident(results[i]), s.Boxes,
            $"truth {string.Join(" ", s.Labels.Order())}  found {string.Join(" ", Confident(results[i]).Labels.Order())}")).ToList();
        run.Wrote(DetectionImages.WriteGrid(panels, run.PathOf("detect-scenes.png"), 4, 4,
            $"SSD on held-out scenes: boxes with class probability >= {DemoRun.F(DrawThreshold)} (dashed: truth)", ClassNames));
        run.Wrote(Charts.Lines(
            [
                new Series("total (L_conf + L_loc) / N", curve.Select(c => c.Loss).ToArray(), curve.Select(c => (double)c.Step).ToArray()),
                new Series("classes L_conf / N", curve.Select(c => c.Conf).ToArray(), curve.Select(c => (double)c.Step).ToArray(), Dashed: true),
                new Series("boxes L_loc / N", curve.Select(c => c.Loc).ToArray(), curve.Select(c => (double)c.Step).ToArray(), Dashed: true),
            ], run.PathOf("detect-loss.png"), "Multibox loss while training", "step", "loss"));
        string scenePath = run.Wrote(DetectionImages.WriteGray(test[0].Image, SceneSize, SceneSize, run.PathOf("detect-scene.png")));

        string modelPath = run.PathOf("ssd.safetensors");
        ModelFile.Save(modelPath, model, metadata: new Dictionary<string, string>
        {
            [ModelInfo.Keys.ImageShape] = FormattableString.Invariant($"{SceneSize},{SceneSize}"),
            [ModelInfo.Keys.Classes] = model.NumClasses.ToString(CultureInfo.InvariantCulture),
            [ModelInfo.Keys.ClassNames] = string.Join("|", ClassNames),
            [ModelInfo.Keys.Seed] = run.Seed.ToString(CultureInfo.InvariantCulture),
            [DetectPredict.MapKey] = ModelFile.Format(mAp),
        });
        run.Line($"  saved the model to {modelPath}");
        run.Line($"  try: nabla predict --model {modelPath} --image {scenePath} --out boxes.png");
        double first = curve.Count > 0 ? curve[0].Loss : double.NaN, last = curve.Count > 0 ? curve[^1].Loss : double.NaN;
        return new DetectDemoResult(mAp, perClass, first, last, test.Count, seconds, modelPath, scenePath);
    }

    /// <summary>The scenes' images as [N, 1, S, S].</summary>
    public static Tensor Images(IReadOnlyList<Scene> scenes)
    {
        int s = scenes[0].Size, plane = s * s;
        var x = new float[scenes.Count * plane];
        for (int i = 0; i < scenes.Count; i++) scenes[i].Image.CopyTo(x, i * plane);
        return Tensor.FromArray(x, scenes.Count, 1, s, s);
    }

    /// <summary>The scenes' boxes relative to the image size (the default boxes' coordinates).</summary>
    public static List<IReadOnlyList<Box>> RelativeBoxes(IReadOnlyList<Scene> scenes) =>
        scenes.Select(s => (IReadOnlyList<Box>)s.Boxes.Select(b => b.Scale(1f / s.Size, 1f / s.Size)).ToArray()).ToList();

    /// <summary>mAP@0.5 of <paramref name="model"/> on <paramref name="scenes"/>, AP per class, and the detections per scene (pixels).</summary>
    public static (double Map, double[] PerClass, DetectionResult[] Results) Evaluate(Ssd model, IReadOnlyList<Scene> scenes)
    {
        var detector = new Detector(model);
        var results = new List<DetectionResult>();
        for (int b = 0; b < scenes.Count; b += 50)
            results.AddRange(detector.Detect(Images(scenes.Skip(b).Take(50).ToList())));
        var detections = results.SelectMany((r, i) => r.AsDetections(i)).ToList();
        var truths = scenes.SelectMany((s, i) => s.Boxes.Select((b, g) => new GroundTruth(i, s.Labels[g], b))).ToList();
        var perClass = Enumerable.Range(0, model.NumClasses).Select(c => DetectionMetrics.AveragePrecision(detections, truths, c)).ToArray();
        return (DetectionMetrics.MeanAveragePrecision(detections, truths), perClass, results.ToArray());
    }

    private static DetectionResult Confident(DetectionResult r)
    {
        var keep = Enumerable.Range(0, r.Count).Where(i => r.Scores[i] >= DrawThreshold).ToArray();
        return new DetectionResult(keep.Select(i => r.Boxes[i]).ToArray(), keep.Select(i => r.Labels[i]).ToArray(), keep.Select(i => r.Scores[i]).ToArray());
    }
}
