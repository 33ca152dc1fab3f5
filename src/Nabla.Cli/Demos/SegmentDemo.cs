using System.Diagnostics;
using Nabla.Autograd;
using Nabla.Cli.Commands;
using Nabla.Data;
using Nabla.Losses;
using Nabla.Models;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Serialization;
using Nabla.Vision;

namespace Nabla.Cli.Demos;

/// <summary>The figures of one segmenter in <see cref="SegmentDemo"/>.</summary>
/// <param name="Name">What it is.</param>
/// <param name="MeanIou">Mean IoU over the classes on the held-out scenes it was evaluated on.</param>
/// <param name="PixelAccuracy">Share of those pixels classified right.</param>
/// <param name="TrainSeconds">Training time (wall clock).</param>
/// <param name="TrainCpuSeconds">Processor time the training took (all threads): on a shared machine, what it would take alone.</param>
/// <param name="SecondsPerScene">Inference time per 64×64 scene.</param>
/// <param name="TestScenes">Held-out scenes evaluated.</param>
/// <param name="FirstLoss">Mean training loss of the first tenth of training.</param>
/// <param name="LastLoss">Mean training loss of the last tenth.</param>
public sealed record SegmenterResult(string Name, double MeanIou, double PixelAccuracy, double TrainSeconds, double TrainCpuSeconds, double SecondsPerScene, int TestScenes,
    double FirstLoss, double LastLoss);

/// <summary>The result of <see cref="SegmentDemo.Run"/>.</summary>
/// <param name="UNet">The encoder–decoder on all held-out scenes.</param>
/// <param name="UNetOnWindowScenes">The encoder–decoder on the scenes the sliding window was evaluated on.</param>
/// <param name="Window">The sliding-window baseline.</param>
/// <param name="ModelPath">The saved U-Net.</param>
/// <param name="ScenePath">A held-out scene as a PNG, for <c>nabla predict --image</c>.</param>
public sealed record SegmentDemoResult(SegmenterResult UNet, SegmenterResult UNetOnWindowScenes, SegmenterResult Window, string ModelPath, string ScenePath);

/// <summary>
/// The notes' segmentation: scenes of 1–5 shipped digits on a noisy 64×64 canvas (test scenes use
/// digits no training scene uses), labelled per pixel (background + 10 digits). A U-Net
/// (encoder–decoder with skip connections, transposed-convolution decoder) trained with per-pixel
/// cross-entropy + Dice against the notes' sliding-window baseline, a small CNN that labels each
/// pixel from the patch around it, trained on sampled patches and run densely.
/// </summary>
public static class SegmentDemo
{
    /// <summary>Classes: background and the ten digits.</summary>
    public const int Classes = 11;
    /// <summary>Side of the scenes.</summary>
    public const int SceneSize = 64;
    /// <summary>Side of the sliding window's patch.</summary>
    public const int Patch = 25;

    /// <summary>Runs the demo: trains both, prints the comparison, writes the PNGs and saves the U-Net.</summary>
    public static SegmentDemoResult Run(DemoRun run)
    {
        run.Heading("Semantic segmentation of digit scenes: U-Net against a sliding window (the notes' vision applications)");
        var mnist = MnistFolder.Load(ShippedData.FindOrThrow(), flatten: true).Train;
        var (trainGen, testGen) = SceneGenerator.Split(mnist.Features, mnist.Labels, 0.2, run.Seed, SceneSize);
        int nTest = run.Fast ? 8 : 200, nWindowTest = run.Fast ? 2 : 20;
        var test = Enumerable.Range(0, nTest).Select(i => testGen.Generate(run.Seed * 1_000_003 + 7 + i)).ToList();
        run.Line($"scenes {SceneSize}×{SceneSize}, 1–5 digits each; training digits {trainGen.Pool.Count}, other {testGen.Pool.Count} digits for {nTest} held-out scenes");
        run.Line($"machine: {Environment.ProcessorCount} logical cores");

        var (unet, unetResult) = TrainUNet(run, trainGen, test);
        var window = TrainWindow(run, trainGen);
        var windowScenes = test.Take(nWindowTest).ToList();
        var (windowResult, windowMasks) = EvaluateWindow(window.Model, windowScenes, window.TrainSeconds, window.TrainCpuSeconds, window.FirstLoss, window.LastLoss);
        var (unetSmall, unetMasks) = EvaluateUNet(unet, windowScenes, unetResult.TrainSeconds, unetResult.TrainCpuSeconds, unetResult.FirstLoss, unetResult.LastLoss);

        run.Heading("Held-out scenes (digits never seen in training)");
        run.Line($"  {"model",-38} {"scenes",6} {"mean IoU",9} {"pixel acc.",10} {"train s",8} {"CPU s",7} {"ms/scene",9}");
        foreach (var r in new[] { unetResult, unetSmall with { Name = unetSmall.Name + " (same scenes)" }, windowResult })
            run.Line($"  {r.Name,-38} {r.TestScenes,6} {DemoRun.F(r.MeanIou, "F3"),9} {DemoRun.F(100 * r.PixelAccuracy, "F1") + " %",10} {DemoRun.F(r.TrainSeconds, "F0"),8} {DemoRun.F(r.TrainCpuSeconds, "F0"),7} {DemoRun.F(1000 * r.SecondsPerScene, "F1"),9}");
        run.Line("  train s: wall clock; CPU s: processor time of all threads (on a shared machine the wall clock includes waiting)");
        run.Line($"  the sliding window runs its CNN once per pixel ({SceneSize * SceneSize} patches a scene); the U-Net once per scene, sharing the convolutions of overlapping windows");

        string modelPath = run.PathOf("unet.safetensors");
        ModelFile.Save(modelPath, unet, metadata: new Dictionary<string, string> { ["task"] = "segmentation", ["classes"] = "background,0,1,2,3,4,5,6,7,8,9" });
        run.Line($"  saved the U-Net to {modelPath}");
        var rows = windowScenes.Select((s, i) => (s.Image, (IReadOnlyList<int[]>)new[] { s.Mask, unetMasks[i], windowMasks[i] })).ToList();
        run.Wrote(SegmentationImages.WriteGrid(rows, SceneSize, ["input", "truth", "U-Net", "sliding window"], Classes, SegmentationImages.DigitClassName,
            run.PathOf("segment-predictions.png"),
            $"mean IoU: U-Net {DemoRun.F(unetSmall.MeanIou, "F3")}, sliding window {DemoRun.F(windowResult.MeanIou, "F3")} on these scenes"));
        string scenePath = run.Wrote(SegmentationImages.WriteGray(test[0].Image, SceneSize, SceneSize, run.PathOf("segment-scene.png")));
        run.Line($"  try: nabla predict --image {scenePath} --model {modelPath} --out mask.png");
        return new SegmentDemoResult(unetResult, unetSmall, windowResult, modelPath, scenePath);
    }

    /// <summary>Trains the U-Net on fresh training scenes and evaluates it on <paramref name="test"/>.</summary>
    public static (UNet Model, SegmenterResult Result) TrainUNet(DemoRun run, SceneGenerator trainGen, IReadOnlyList<Scene> test)
    {
        // Base 8 and depth 4 (bottleneck 4×4, 128 channels): most of the capacity where the digit is
        // recognised, little at full resolution. 7200 steps of 8 scenes, Adam 3e-3 with cosine decay:
        // mean IoU 0.65 on held-out scenes; 3600 × 4 reached 0.42, 10800 × 4 0.64, 14400 × 4 0.67,
        // base 16 with 3600 × 4 0.57 for as much CPU as 10800 × 4 at base 8 (docs/BENCHMARKS.md).
        // --long: base 16, 14400 steps of 32 scenes (261 TMAC, 32x the default's compute), the cheapest recipe
        // of a PyTorch search on a lent GPU (bench/compare/torch_unet_search.py) that reached mean IoU 0.80.
        bool longRecipe = run.Long && !run.Fast;
        int width = longRecipe ? 16 : 8, depth = run.Fast ? 3 : 4, batch = longRecipe ? 32 : 8, steps = run.Fast ? 12 : longRecipe ? 14400 : 7200;
        float lr = 3e-3f;
        var rng = new Random(run.Seed);
        var model = new UNet(1, Classes, width, depth, UNetDecoder.Transpose, rng);
        run.Heading($"U-Net: base {width} channels, depth {depth}, transposed-convolution decoder, {model.ParameterCount:N0} parameters");
        run.Line($"  {steps} steps of {batch} fresh scenes, Adam {lr} (cosine decay), loss = per-pixel cross-entropy + Dice");
        var loss = new CombinedLoss((new CrossEntropyLoss(), 1f), (new DiceLoss(), 1f));
        var (first, last, seconds, cpu) = Fit(run, model, loss, lr, steps, step =>
        {
            var scenes = new Scene[batch];
            for (int i = 0; i < batch; i++) scenes[i] = trainGen.Generate(run.Seed * 7919 + 1_000_000 + step * batch + i);
            return SceneBatch.Stack(scenes);
        });
        var (result, _) = EvaluateUNet(model, test, seconds, cpu, first, last);
        run.Line($"  held-out: mean IoU {DemoRun.F(result.MeanIou, "F3")}, pixel accuracy {DemoRun.F(100 * result.PixelAccuracy, "F2")} %");
        return (model, result);
    }

    /// <summary>The sliding-window classifier: a small CNN from a <see cref="Patch"/>² patch to the class of its centre pixel.</summary>
    public static Sequential WindowModel(Random rng) => new(
        new Conv2d(1, 8, 3, 1, 1, rng: rng), new ReLU(), new MaxPool2d(2),
        new Conv2d(8, 16, 3, 1, 1, rng: rng), new ReLU(), new MaxPool2d(2),
        new Flatten(), new Linear(16 * (Patch / 4) * (Patch / 4), 64, rng: rng), new ReLU(), new Linear(64, Classes, rng: rng));

    /// <summary>Trains the sliding-window classifier on patches sampled from fresh training scenes.</summary>
    public static (Sequential Model, double TrainSeconds, double TrainCpuSeconds, double FirstLoss, double LastLoss) TrainWindow(DemoRun run, SceneGenerator trainGen)
    {
        int batch = 128, steps = run.Fast ? 12 : 900;
        float lr = 3e-3f;
        var rng = new Random(run.Seed + 1);
        var model = WindowModel(rng);
        run.Heading($"Sliding window: {Patch}×{Patch} patch → conv 8 → pool → conv 16 → pool → 64 → {Classes}, {model.ParameterCount:N0} parameters");
        run.Line($"  {steps} steps of {batch} patches (half centred on digit pixels), Adam {lr} (cosine decay), cross-entropy");
        var sampler = new Random(run.Seed + 2);
        var (first, last, seconds, cpu) = Fit(run, model, new CrossEntropyLoss(), lr, steps, step =>
        {
            // Eight scenes per batch, 16 pixels from each: half on ink (the digits are the hard, rare part).
            var x = new float[batch * Patch * Patch];
            var y = new int[batch];
            int per = 16;
            for (int k = 0; k < batch / per; k++)
            {
                var scene = trainGen.Generate(run.Seed * 7919 + 50_000_000 + step * 8 + k);
                var ink = Enumerable.Range(0, scene.Mask.Length).Where(p => scene.Mask[p] != 0).ToArray();
                var pixels = new int[per];
                for (int j = 0; j < per; j++)
                    pixels[j] = j % 2 == 0 && ink.Length > 0 ? ink[sampler.Next(ink.Length)] : sampler.Next(scene.Mask.Length);
                SceneBatch.Patches(scene.Image, scene.Size, scene.Size, Patch, pixels, x.AsSpan(k * per * Patch * Patch, per * Patch * Patch));
                for (int j = 0; j < per; j++) y[k * per + j] = scene.Mask[pixels[j]];
            }
            return (Tensor.FromArray(x, batch, 1, Patch, Patch), y);
        });
        return (model, seconds, cpu, first, last);
    }

    // Adam with cosine decay over the steps; returns the mean loss of the first and last tenth and the time.
    private static (double First, double Last, double Seconds, double CpuSeconds) Fit(DemoRun run, Module model, Loss loss, float lr, int steps, Func<int, (Tensor X, int[] Y)> batchOf)
    {
        var opt = new Adam(model.Parameters(), lr);
        var arena = new TensorArena();
        var clock = Stopwatch.StartNew();
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        int tenth = Math.Max(1, steps / 10), report = Math.Max(1, steps / 10);
        double firstSum = 0, lastSum = 0, windowSum = 0;
        int firstN = 0, lastN = 0, windowN = 0;
        model.Train();
        using (arena.Activate())
        {
            for (int step = 0; step < steps; step++)
            {
                arena.Reset();
                opt.LearningRate = lr * 0.5f * (1 + MathF.Cos(MathF.PI * step / steps));
                var (x, y) = batchOf(step);
                var l = loss.Forward(model.Forward(x), y);
                opt.ZeroGrad();
                l.Backward();
                opt.Step();
                double v = l.Item();
                if (!double.IsFinite(v)) throw new InvalidOperationException($"segment demo: the loss became {v} at step {step}.");
                if (step < tenth) { firstSum += v; firstN++; }
                if (step >= steps - tenth) { lastSum += v; lastN++; }
                windowSum += v; windowN++;
                if ((step + 1) % report == 0 || step == steps - 1)
                {
                    run.Line($"  step {step + 1,5}/{steps}: loss {DemoRun.F(windowSum / windowN, "F4")}  ({DemoRun.F(clock.Elapsed.TotalSeconds, "F0")} s, CPU {DemoRun.F((Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds, "F0")} s)");
                    windowSum = 0; windowN = 0;
                }
            }
        }
        model.Eval();
        return (firstSum / firstN, lastSum / lastN, clock.Elapsed.TotalSeconds, (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds);
    }

    /// <summary>Segments <paramref name="scenes"/> with the U-Net (evaluation mode) and scores it.</summary>
    public static (SegmenterResult Result, List<int[]> Masks) EvaluateUNet(Module model, IReadOnlyList<Scene> scenes, double trainSeconds, double trainCpuSeconds, double first, double last)
    {
        model.Eval();
        var metrics = new SegmentationConfusion(Classes);
        var masks = new List<int[]>();
        var clock = Stopwatch.StartNew();
        int plane = SceneSize * SceneSize;
        for (int b = 0; b < scenes.Count; b += 16)
        {
            var chunk = scenes.Skip(b).Take(16).ToList();
            var (x, truth) = SceneBatch.Stack(chunk);
            int[] predicted;
            using (GradMode.NoGrad()) predicted = SegmentationConfusion.ArgMaxClasses(model.Forward(x));
            metrics.Add(predicted, truth);
            for (int i = 0; i < chunk.Count; i++) masks.Add(predicted[(i * plane)..((i + 1) * plane)]);
        }
        double perScene = clock.Elapsed.TotalSeconds / scenes.Count;
        return (new SegmenterResult("U-Net (encoder–decoder)", metrics.MeanIou, metrics.PixelAccuracy, trainSeconds, trainCpuSeconds, perScene, scenes.Count, first, last), masks);
    }

    /// <summary>Segments <paramref name="scenes"/> densely with the sliding-window classifier: one patch per pixel.</summary>
    public static (SegmenterResult Result, List<int[]> Masks) EvaluateWindow(Module model, IReadOnlyList<Scene> scenes, double trainSeconds, double trainCpuSeconds, double first, double last)
    {
        model.Eval();
        var metrics = new SegmentationConfusion(Classes);
        var masks = new List<int[]>();
        var clock = Stopwatch.StartNew();
        int plane = SceneSize * SceneSize, chunk = 512;
        var x = new float[chunk * Patch * Patch];
        foreach (var scene in scenes)
        {
            var predicted = new int[plane];
            for (int p0 = 0; p0 < plane; p0 += chunk)
            {
                int n = Math.Min(chunk, plane - p0);
                var pixels = Enumerable.Range(p0, n).ToArray();
                SceneBatch.Patches(scene.Image, SceneSize, SceneSize, Patch, pixels, x);
                using (GradMode.NoGrad())
                {
                    var logits = model.Forward(Tensor.FromArray(x[..(n * Patch * Patch)], n, 1, Patch, Patch));
                    var z = logits.Data;
                    for (int i = 0; i < n; i++)
                    {
                        int best = 0;
                        for (int c = 1; c < Classes; c++) if (z[i * Classes + c] > z[i * Classes + best]) best = c;
                        predicted[p0 + i] = best;
                    }
                }
            }
            metrics.Add(predicted, scene.Mask);
            masks.Add(predicted);
        }
        double perScene = clock.Elapsed.TotalSeconds / scenes.Count;
        return (new SegmenterResult($"sliding window ({Patch}×{Patch} CNN)", metrics.MeanIou, metrics.PixelAccuracy, trainSeconds, trainCpuSeconds, perScene, scenes.Count, first, last), masks);
    }
}
