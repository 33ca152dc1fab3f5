using System.Numerics.Tensors;
using Nabla.Autograd;
using Nabla.Cli.Commands;
using Nabla.Cli.Demos;
using Nabla.Losses;
using Nabla.Models;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Serialization;
using Nabla.Tests.Cli;
using Nabla.Tests.Core;
using Nabla.Tests.Plots;
using Nabla.Vision;
using SkiaSharp;
using static Nabla.Tests.Core.Gen;

namespace Nabla.Tests.Vision;

/// <summary>The segmentation losses with sample inputs, for the gradient and NoGrad theories.</summary>
public static class SegmentationOpRegistry
{
    private static readonly int[] targets233 = Classes(501, 2 * 3 * 3, 4);   // [2, 3, 3] positions, 4 classes
    private static readonly int[] targets125 = Classes(502, 1 * 2 * 5, 3);   // [1, 2, 5], 3 classes
    private static readonly int[] targets14 = Classes(503, 1 * 4, 3);        // [1, 4] (rank 3 logits), 3 classes

    /// <summary>All cases.</summary>
    public static IReadOnlyList<OpCase> All { get; } =
    [
        new("CrossEntropy [2,4,3,3] per pixel mean", t => Ops.CrossEntropy(t[0], targets233), () => [N(511, 2, 4, 3, 3) * 2f]),
        new("CrossEntropy [2,4,3,3] per pixel sum", t => Ops.CrossEntropy(t[0], targets233, Reduction.Sum), () => [N(512, 2, 4, 3, 3)]),
        new("CrossEntropy [2,4,3,3] per pixel none · weights", t => Ops.Sum(Ops.CrossEntropy(t[0], targets233, Reduction.None) * t[1]),
            () => [N(513, 2, 4, 3, 3), N(514, 2, 3, 3)]),
        new("CrossEntropy [1,3,4] rank 3", t => Ops.CrossEntropy(t[0], targets14), () => [N(515, 1, 3, 4)]),
        new("DiceLoss [2,4,3,3]", t => Ops.DiceLoss(t[0], targets233), () => [N(516, 2, 4, 3, 3) * 2f]),
        new("DiceLoss [1,3,2,5] smooth 0.1", t => Ops.DiceLoss(t[0], targets125, 0.1f), () => [N(517, 1, 3, 2, 5)]),
        new("CrossEntropy + 0.5 Dice (CombinedLoss)", t => new CombinedLoss((new CrossEntropyLoss(), 1f), (new DiceLoss(), 0.5f)).Forward(t[0], targets233),
            () => [N(518, 2, 4, 3, 3)]),
        new("Conv2d → Dice", t => Ops.DiceLoss(Ops.Conv2d(t[0], t[1], null, (1, 1), Padding.Same, (1, 1), 1), targets233), () => [N(519, 2, 2, 3, 3), N(520, 4, 2, 3, 3)]),
    ];

    /// <summary>Case names for [MemberData].</summary>
    public static TheoryData<string> Names
    {
        get
        {
            var d = new TheoryData<string>();
            foreach (var c in All) d.Add(c.Name);
            return d;
        }
    }

    /// <summary>The case called <paramref name="name"/>.</summary>
    public static OpCase Get(string name) => All.Single(c => c.Name == name);
}

/// <summary>
/// Issue 9, segmentation: the U-Net (both decoders, odd sizes, export), per-pixel cross-entropy and
/// Dice (gradient checks, reference values), the metrics on hand-made masks, a short seeded training
/// run, <c>nabla demo segment --fast</c> and <c>nabla predict --image --out</c> for a mask.
/// </summary>
[Collection("WorkerPoolSettingsCollection")]
public class SegmentationTests
{
    /// <summary>Batch norm set away from the ReLU kinks (γ 0.2, β 1, running variance 4), for gradient checks in evaluation mode.</summary>
    internal static UNet AwayFromKinks(UNet model)
    {
        foreach (var (name, t) in model.StateDict())
        {
            // The blocks' convolutions (children 0 and 3) ×3: values competing in a 2×2 max pool then
            // lie further apart than a central-difference step moves them, so that no step switches
            // the pool's choice (which moves an unpooled value to another pixel: not differentiable).
            if (name.EndsWith(".0.weight", StringComparison.Ordinal) || name.EndsWith(".3.weight", StringComparison.Ordinal))
            {
                TensorPrimitives.Multiply(t.Data, 3f, t.Data);
                continue;
            }
            // Batch norms are children 1 and 4 of each conv-BN-ReLU-conv-BN-ReLU block.
            if (!name.Contains(".1.") && !name.Contains(".4.")) continue;
            if (name.EndsWith(".weight", StringComparison.Ordinal)) t.Data.Fill(0.2f);
            else if (name.EndsWith(".bias", StringComparison.Ordinal)) t.Data.Fill(1f);
            else if (name.EndsWith("running_var", StringComparison.Ordinal)) t.Data.Fill(4f);
        }
        return model;
    }

    [Theory]
    [MemberData(nameof(SegmentationOpRegistry.Names), MemberType = typeof(SegmentationOpRegistry))]
    public void Loss_gradients_match_central_differences(string op)
    {
        var c = SegmentationOpRegistry.Get(op);
        var result = GradCheck.Check(c.F, c.Inputs(), 1e-2f);
        Assert.True(result.Passed, $"{op}: {result}");
    }

    [Theory]
    [MemberData(nameof(SegmentationOpRegistry.Names), MemberType = typeof(SegmentationOpRegistry))]
    public void Losses_give_the_same_values_without_gradients(string op)
    {
        var c = SegmentationOpRegistry.Get(op);
        var inputs = c.Inputs();
        foreach (var x in inputs) x.RequiresGrad = true;
        var recorded = c.F(inputs);
        Tensor plain;
        using (GradMode.NoGrad()) plain = c.F(inputs);
        Assert.Null(plain.GradFn);
        Assert.Equal(recorded.ToArray(), plain.ToArray());
    }

    [Theory]
    [InlineData(UNetDecoder.Transpose, 64, 64, 3)]
    [InlineData(UNetDecoder.Unpool, 64, 64, 3)]
    [InlineData(UNetDecoder.Transpose, 13, 11, 2)]
    [InlineData(UNetDecoder.Unpool, 13, 11, 2)]
    [InlineData(UNetDecoder.Transpose, 9, 8, 3)]
    [InlineData(UNetDecoder.Unpool, 9, 8, 3)]
    public void UNet_gives_logits_of_the_input_size_for_both_decoders_and_odd_sizes(UNetDecoder decoder, int h, int w, int depth)
    {
        var model = new UNet(1, 5, 4, depth, decoder, new Random(1));
        var y = model.Forward(N(1, 2, 1, h, w));
        Assert.Equal([2, 5, h, w], y.Shape.ToArray());
        Assert.All(y.ToArray(), v => Assert.True(float.IsFinite(v)));
        var names = model.StateDict().Keys.ToList();
        Assert.Contains("encoder1.0.weight", names);
        Assert.Contains($"decoder{depth}.4.running_mean", names);
        Assert.Contains("upconv1.weight", names);
        Assert.Contains("conv.bias", names);
        // The unpooling decoder's upconv is a 1×1 conv before unpooling; the transposed one is 2×2, stride 2.
        var up = model.StateDict()["upconv1.weight"];
        Assert.Equal(decoder == UNetDecoder.Transpose ? [8, 4, 2, 2] : new[] { 4, 8, 1, 1 }, up.Shape.ToArray());
    }

    [Fact]
    public void UNet_rejects_bad_inputs_and_configs_with_clear_errors()
    {
        var model = new UNet(1, 3, 4, 3);
        var e = Assert.Throws<ShapeMismatchException>(() => model.Forward(N(1, 1, 1, 7, 16)));
        Assert.Contains("at least 2^depth = 8", e.Message);
        Assert.Contains("[N, 1, H, W]", Assert.Throws<ShapeMismatchException>(() => model.Forward(N(1, 1, 2, 16, 16))).Message);
        Assert.Throws<ArgumentException>(() => new UNet(1, 3, 4, 9));
        Assert.Throws<ArgumentException>(() => new UNet(0, 3, 4, 2));
        Assert.Contains("unknown decoder", Assert.Throws<ArgumentException>(() => UNet.ParseDecoder("bilinear")).Message);
    }

    // Evaluation mode (running statistics), as the conformance example checks the unpooling decoder;
    // batch norm's training-mode gradient is checked by the convolution op registry.
    [Fact]
    public void UNet_transposed_decoder_gradients_match_central_differences()
    {
        var x = N(3, 2, 1, 5, 4);
        var m = AwayFromKinks(new UNet(1, 2, 2, 1, UNetDecoder.Transpose, new Random(3)));
        m.Eval();
        var inputs = new List<Tensor> { x };
        inputs.AddRange(m.Parameters());
        var result = GradCheck.Check(_ => m.Forward(x), inputs.ToArray());
        Assert.True(result.Passed, result.ToString());
    }

    [Theory]
    [InlineData(UNetDecoder.Transpose)]
    [InlineData(UNetDecoder.Unpool)]
    public void UNet_exports_to_onnx_and_matches_onnx_runtime_at_an_odd_size(UNetDecoder decoder)
    {
        var model = new UNet(1, 4, 3, 2, decoder, new Random(5));
        model.Eval();
        Onnx.OnnxTestSupport.AssertRoundTrip(model, Onnx.OnnxTestSupport.Normal(9, 1, 11, 10), sampleBatch: 2, batches: [1, 3]);
    }

    [Fact]
    public void UNet_saves_and_loads_with_its_decoder()
    {
        using var dir = new CliTempDir();
        var model = new UNet(1, 3, 2, 2, UNetDecoder.Unpool, new Random(2));
        model.Eval();
        string path = dir.File("unet.safetensors");
        ModelFile.Save(path, model);
        var (loaded, _) = ModelFile.Load(path);
        var u = Assert.IsType<UNet>(loaded);
        Assert.Equal(UNetDecoder.Unpool, u.Decoder);
        Assert.Equal(2, u.Depth);
        u.Eval();
        var x = N(4, 2, 1, 12, 12);
        Assert.Equal(model.Forward(x).ToArray(), u.Forward(x).ToArray());
    }

    [Fact]
    public void Per_pixel_cross_entropy_equals_the_row_cross_entropy_of_every_pixel()
    {
        var z = N(21, 2, 3, 4, 5);
        var t = Classes(22, 2 * 4 * 5, 3);
        // Reference: move the classes last, one row per pixel.
        var rows = Ops.Reshape(Ops.Permute(z, 0, 2, 3, 1), 2 * 4 * 5, 3);
        Assert.Equal(Ops.CrossEntropy(rows, t).Item(), Ops.CrossEntropy(z, t).Item(), 5);
        Assert.Equal(Ops.CrossEntropy(rows, t, Reduction.Sum).Item(), Ops.CrossEntropy(z, t, Reduction.Sum).Item(), 3);
        var none = Ops.CrossEntropy(z, t, Reduction.None);
        Assert.Equal([2, 4, 5], none.Shape.ToArray());
        var rowNone = Ops.CrossEntropy(rows, t, Reduction.None).ToArray();
        for (int i = 0; i < rowNone.Length; i++) Assert.Equal(rowNone[i], none.Data[i], 5);
        // The Loss class takes [N, H, W] targets as a tensor, like PyTorch's nn.CrossEntropyLoss.
        var targetTensor = Tensor.FromArray(t.Select(v => (float)v).ToArray(), 2, 4, 5);
        Assert.Equal(Ops.CrossEntropy(z, t).Item(), new CrossEntropyLoss().Forward(z, targetTensor).Item(), 6);
        // Stable for huge logits.
        Assert.True(float.IsFinite(Ops.CrossEntropy(z * 1e4f, t).Item()));
    }

    [Fact]
    public void Segmentation_losses_name_bad_targets()
    {
        var z = N(1, 1, 3, 2, 2);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Ops.CrossEntropy(z, [0, 1, 3, 0]));
        Assert.Contains("target 3 at position 2", e.Message);
        Assert.Contains("4 targets", Assert.Throws<ArgumentException>(() => Ops.DiceLoss(N(1, 2, 3, 2, 2), [0, 1, 2, 0])).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Ops.DiceLoss(z, [0, 1, 2, -1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Ops.DiceLoss(z, [0, 1, 2, 0], float.NaN));
    }

    [Fact]
    public void Dice_loss_matches_a_hand_computation_and_vanishes_for_a_perfect_prediction()
    {
        // One sample, 2 classes, 2 pixels: logits (0, 0) and (ln 3, 0) → p(class 1) = 1/2 and 1/4.
        var z = Tensor.FromArray([0f, MathF.Log(3f), 0f, 0f], 1, 2, 1, 2);
        int[] t = [0, 1];
        // Class 0: p = (1/2, 3/4), t = (1, 0): D = (2·½ + 1)/(5/4 + 1 + 1) = 2/3.25.
        // Class 1: p = (1/2, 1/4), t = (0, 1): D = (2·¼ + 1)/(3/4 + 1 + 1) = 1.5/2.75.
        double expected = 1 - (2 / 3.25 + 1.5 / 2.75) / 2;
        Assert.Equal(expected, Ops.DiceLoss(z, t).Item(), 5);
        var perfect = Tensor.FromArray([20f, -20f, -20f, 20f], 1, 2, 1, 2);
        Assert.True(Ops.DiceLoss(perfect, t, 0f).Item() < 1e-6f);
        var combined = new CombinedLoss((new CrossEntropyLoss(), 1f), (new DiceLoss(), 2f));
        Assert.Equal(Ops.CrossEntropy(z, t).Item() + 2 * Ops.DiceLoss(z, t).Item(), combined.Forward(z, t).Item(), 5);
        Assert.Equal("cross-entropy + 2·dice", combined.Name);
    }

    [Fact]
    public void Metrics_on_hand_made_masks()
    {
        // 3 classes over 8 pixels.
        int[] truth = [0, 0, 0, 1, 1, 2, 2, 2];
        int[] pred = [0, 0, 1, 1, 1, 2, 0, 2];
        var m = new SegmentationConfusion(3);
        m.Add(pred, truth);
        Assert.Equal(6 / 8.0, m.PixelAccuracy, 12);
        // Class 0: TP 2, FP 1 (pixel 6), FN 1 (pixel 2) → 2/4; class 1: TP 2, FP 1 → 2/3; class 2: TP 2, FN 1 → 2/3.
        var iou = m.PerClassIou();
        Assert.Equal(0.5, iou[0], 12);
        Assert.Equal(2 / 3.0, iou[1], 12);
        Assert.Equal(2 / 3.0, iou[2], 12);
        Assert.Equal((0.5 + 2 / 3.0 + 2 / 3.0) / 3, m.MeanIou, 12);
        Assert.Equal(1, m[0, 1]);
        // The same numbers as the one-shot functions.
        Assert.Equal(SegmentationMetrics.MeanIou(pred, truth, 3), m.MeanIou, 12);
        Assert.Equal(SegmentationMetrics.PixelAccuracy(pred, truth), m.PixelAccuracy, 12);
        // A class in neither truth nor prediction has no IoU and does not count in the mean.
        var four = new SegmentationConfusion(4);
        four.Add(pred, truth);
        Assert.True(double.IsNaN(four.Iou(3)));
        Assert.Equal(m.MeanIou, four.MeanIou, 12);
        // Accumulating two halves is the same as one pass (a dataset-level confusion matrix).
        var halves = new SegmentationConfusion(3);
        halves.Add(pred.AsSpan(0, 4), truth.AsSpan(0, 4));
        halves.Add(pred.AsSpan(4), truth.AsSpan(4));
        Assert.Equal(m.MeanIou, halves.MeanIou, 12);
        Assert.Equal(8, halves.Pixels);
        Assert.True(double.IsNaN(new SegmentationConfusion(2).MeanIou));
        Assert.Contains("class 5 at pixel 1", Assert.Throws<ArgumentOutOfRangeException>(() => m.Add([0, 5], [0, 0])).Message);
        Assert.Throws<ArgumentException>(() => m.Add([0], [0, 0]));
    }

    [Fact]
    public void Arg_max_of_logits_takes_the_class_axis()
    {
        // [1, 3, 1, 2]: pixel 0 → class 2, pixel 1 → class 0 (ties go to the first).
        var z = Tensor.FromArray([0f, 5f, 1f, 5f, 2f, 1f], 1, 3, 1, 2);
        Assert.Equal([2, 0], SegmentationConfusion.ArgMaxClasses(z));
    }

    [Fact]
    public void Patches_are_centred_and_zero_outside_the_image()
    {
        var image = Enumerable.Range(1, 12).Select(v => (float)v).ToArray(); // 4 wide, 3 high
        var dst = new float[2 * 9];
        SceneBatch.Patches(image, 4, 3, 3, [5, 0], dst);
        Assert.Equal([1f, 2, 3, 5, 6, 7, 9, 10, 11], dst[..9]);          // centre (1, 1)
        Assert.Equal([0f, 0, 0, 0, 1, 2, 0, 5, 6], dst[9..]);            // corner
        Assert.Throws<ArgumentOutOfRangeException>(() => SceneBatch.Patches(image, 4, 3, 4, [0], dst));
        Assert.Throws<ArgumentOutOfRangeException>(() => SceneBatch.Patches(image, 4, 3, 3, [12], dst));
    }

    private static (SceneGenerator Train, SceneGenerator Test) Scenes(int size)
    {
        var m = Nabla.Data.MnistFolder.Load(Path.Combine(FindRepo(), "data", "mnist10k"), flatten: true).Train;
        return SceneGenerator.Split(m.Features, m.Labels, 0.2, seed: 4, size);
    }

    private static string FindRepo()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (Directory.Exists(Path.Combine(d.FullName, "data", "mnist10k"))) return d.FullName;
        throw new DirectoryNotFoundException("data/mnist10k not found above the test binaries.");
    }

    [Fact]
    public void A_short_seeded_training_run_lowers_the_loss_and_segments_held_out_digits()
    {
        // Digit against background on 32×32 scenes of held-out digits: a small U-Net with cross-entropy + Dice.
        var (trainGen, testGen) = Scenes(32);
        var model = new UNet(1, 2, 4, 2, UNetDecoder.Unpool, new Random(11));
        var loss = new CombinedLoss((new CrossEntropyLoss(), 1f), (new DiceLoss(), 1f));
        var opt = new Adam(model.Parameters(), 1e-2f);
        static int[] Binary(int[] mask) => mask.Select(v => v == 0 ? 0 : 1).ToArray();
        var losses = new List<float>();
        for (int step = 0; step < 40; step++)
        {
            var (x, y) = SceneBatch.Stack(Enumerable.Range(0, 8).Select(i => trainGen.Generate(1000 + step * 8 + i)).ToList());
            var l = loss.Forward(model.Forward(x), Binary(y));
            opt.ZeroGrad();
            l.Backward();
            opt.Step();
            losses.Add(l.Item());
        }
        Assert.True(losses.TakeLast(5).Average() < 0.5 * losses.Take(5).Average(), $"loss {string.Join(", ", losses)}");
        model.Eval();
        var (tx, ty) = SceneBatch.Stack(Enumerable.Range(0, 16).Select(i => testGen.Generate(5000 + i)).ToList());
        var metrics = new SegmentationConfusion(2);
        using (GradMode.NoGrad()) metrics.Add(model.Forward(tx), Binary(ty));
        Assert.True(metrics.MeanIou > 0.8, $"held-out mean IoU {metrics.MeanIou:F3}, pixel accuracy {metrics.PixelAccuracy:F3}");
    }

    [Fact]
    public void Demo_runs_fast_writes_its_pngs_and_predict_writes_the_mask_of_its_saved_model()
    {
        using var dir = new CliTempDir();
        var run = NablaCli.Run("demo", "segment", "--out", dir.Path, "--fast");
        Assert.True(run.Code == ExitCodes.Ok, run.ToString());
        Assert.Contains("mean IoU", run.Out);
        Assert.Contains("sliding window", run.Out);
        var (gw, _) = PngFile.AssertValid(dir.File("segment-predictions.png"));
        Assert.True(gw > 4 * 64, $"grid width {gw}");
        PngFile.AssertValid(dir.File("segment-scene.png"), minBytes: 100);
        string model = dir.File("unet.safetensors");
        Assert.True(File.Exists(model));

        string mask = dir.File("mask.png");
        var predict = NablaCli.Run("predict", "--image", dir.File("segment-scene.png"), "--model", model, "--out", mask);
        Assert.True(predict.Code == ExitCodes.Ok, predict.ToString());
        Assert.Contains(" pixels (", predict.Out);
        // The mask PNG holds, pixel for pixel, the colours of the classes the model gives the scene.
        var (loaded, _) = ModelFile.Load(model);
        var unet = Assert.IsType<UNet>(loaded);
        unet.Eval();
        var scene = ImageInput.Read(dir.File("segment-scene.png"));
        int[] expected;
        var ink = Nabla.Data.DigitImage.ToInk(scene.Pixels, 64, 64, out _);
        using (GradMode.NoGrad()) expected = SegmentationConfusion.ArgMaxClasses(unet.Forward(Tensor.FromArray(ink, 1, 1, 64, 64)));
        using var bmp = SKBitmap.Decode(mask);
        Assert.Equal(64, bmp.Width);
        Assert.Equal(64, bmp.Height);
        for (int p = 0; p < expected.Length; p++)
            Assert.Equal(SegmentationImages.ColorOf(expected[p]), bmp.GetPixel(p % 64, p / 64));

        // --out belongs to segmentation models: a classifier with --out is a usage error.
        var lenet = new LeNet5(1, 10, 28, new Random(1));
        string classifier = dir.File("lenet.safetensors");
        ModelFile.Save(classifier, lenet);
        var wrong = NablaCli.Run("predict", "--image", dir.File("segment-scene.png"), "--model", classifier, "--out", mask);
        Assert.Equal(ExitCodes.Usage, wrong.Code);
        Assert.Contains("not one", wrong.Err);

        var noOut = NablaCli.Run("predict", "--image", dir.File("segment-scene.png"), "--model", model);
        Assert.Equal(ExitCodes.Usage, noOut.Code);
        Assert.Contains("--out", noOut.Err);
    }
}
