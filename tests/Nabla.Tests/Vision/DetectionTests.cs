using Nabla.Autograd;
using Nabla.Cli.Demos;
using Nabla.Data;
using Nabla.Losses;
using Nabla.Models;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Tests.Data;
using Nabla.Vision;

namespace Nabla.Tests.Vision;

/// <summary>
/// The single-shot detector: its default boxes, matching and encoding through them, the multibox loss
/// (gradient and hard negatives), the post-processing, and a short training run.
/// </summary>
public class DetectionTests
{
    [Fact]
    public void Default_boxes_of_the_model_follow_its_config_and_the_heads_order()
    {
        var m = new Ssd(1, 10, 64, width: 4, rng: new Random(1));
        Assert.Equal(2, m.FeatureMaps.Count);
        Assert.Equal((16, 16), (m.FeatureMaps[0].Height, m.FeatureMaps[0].Width));
        Assert.Equal((8, 8), (m.FeatureMaps[1].Height, m.FeatureMaps[1].Width));
        // Per cell: aspect ratios 1, 1/2, 1/3 at the map's scale, and the extra square √(sₖ·sₖ₊₁).
        Assert.Equal(4, DefaultBoxes.PerCell(m.FeatureMaps[0]));
        Assert.Equal(16 * 16 * 4 + 8 * 8 * 4, m.PriorCount);
        Assert.Equal(0.2f, m.FeatureMaps[0].Scale, 6);
        Assert.Equal(0.35f, m.FeatureMaps[1].Scale, 6);
        Assert.Equal(MathF.Sqrt(0.2f * 0.35f), m.FeatureMaps[0].ExtraScale!.Value, 6);
        Assert.Equal(MathF.Sqrt(0.35f * 0.5f), m.FeatureMaps[1].ExtraScale!.Value, 6);
        var p = m.Priors;
        AssertBox(Box.FromCenter(1 / 32f, 1 / 32f, 0.2f, 0.2f), p[0]);
        AssertBox(Box.FromCenter(1 / 32f, 1 / 32f, 0.2f * MathF.Sqrt(0.5f), 0.2f / MathF.Sqrt(0.5f)), p[1]);
        AssertBox(Box.FromCenter(1 / 32f, 1 / 32f, 0.2f / MathF.Sqrt(3f), 0.2f * MathF.Sqrt(3f)), p[2]);
        AssertBox(Box.FromCenter(1 / 32f, 1 / 32f, MathF.Sqrt(0.07f), MathF.Sqrt(0.07f)), p[3]);
        AssertBox(Box.FromCenter(3 / 32f, 1 / 32f, 0.2f, 0.2f), p[4]);                 // next cell: to the right
        AssertBox(Box.FromCenter(1 / 32f, 3 / 32f, 0.2f, 0.2f), p[16 * 4]);            // next row
        AssertBox(Box.FromCenter(1 / 16f, 1 / 16f, 0.35f, 0.35f), p[16 * 16 * 4]);     // first cell of the 8×8 map
        AssertBox(Box.FromCenter(15 / 16f, 15 / 16f, MathF.Sqrt(0.175f), MathF.Sqrt(0.175f)), p[^1]);

        // Prediction a comes from head channel (box-in-cell)·K + k at that cell: compare with the heads run by hand.
        var x = Core.Gen.N(3, 2, 1, 64, 64);
        m.Eval();
        using var _ = GradMode.NoGrad();
        var (cls, box) = m.ForwardHeads(x);
        Assert.Equal([2, m.PriorCount, 11], cls.Shape.ToArray());
        Assert.Equal([2, m.PriorCount, 4], box.Shape.ToArray());
        var all = m.Forward(x);
        Assert.Equal([2, m.PriorCount, 15], all.Shape.ToArray());
        Assert.Equal(cls[1, 700, 3], all[1, 700, 3]);
        Assert.Equal(box[1, 1100, 2], all[1, 1100, 13]);
        var (c2, b2) = m.Split(all);
        Assert.Equal(cls.ToArray(), c2.ToArray());
        Assert.Equal(box.ToArray(), b2.ToArray());
        var children = m.NamedChildren().ToDictionary(c => c.Name, c => c.Module);
        var f1 = children["backbone"].Forward(x);
        var f2 = children["extra"].Forward(f1);
        var head1 = ((ModuleList)children["cls_heads"])[0].Forward(f1);   // [2, 4·11, 16, 16]
        var head2 = ((ModuleList)children["box_heads"])[1].Forward(f2);   // [2, 4·4, 8, 8]
        foreach (var (i, j, q, k) in new[] { (0, 0, 0, 0), (3, 5, 2, 7), (15, 15, 3, 10), (7, 1, 1, 0) })
            Assert.Equal(head1[1, q * 11 + k, i, j], cls[1, (i * 16 + j) * 4 + q, k]);
        foreach (var (i, j, q, k) in new[] { (0, 0, 0, 0), (2, 6, 3, 1), (7, 7, 1, 3) })
            Assert.Equal(head2[0, q * 4 + k, i, j], box[0, 1024 + (i * 8 + j) * 4 + q, k]);
    }

    private static void AssertBox(Box expected, Box actual, float tolerance = 2e-5f)
    {
        float worst = new[] { expected.X1 - actual.X1, expected.Y1 - actual.Y1, expected.X2 - actual.X2, expected.Y2 - actual.Y2 }.Max(MathF.Abs);
        Assert.True(worst <= tolerance * MathF.Max(1f, MathF.Abs(expected.X2) + MathF.Abs(expected.Y2)), $"expected {expected}, got {actual}");
    }

    private static (SceneGenerator Train, SceneGenerator Test) Scenes(int count = 2000)
    {
        var digits = MnistFolder.Load(DataTestUtil.Mnist10kDir).Train;
        return SceneGenerator.Split(digits.Take(count).Features.ToArray(), digits.Take(count).Labels.ToArray(), 0.2, seed: 5);
    }

    [Fact]
    public void Matching_takes_every_object_and_the_encoded_targets_decode_back_to_it()
    {
        var m = new Ssd(1, 10, 64, width: 2, rng: new Random(2));
        var (train, _) = Scenes(600);
        var scenes = Enumerable.Range(0, 30).Select(train.Generate).ToList();
        var boxes = scenes.Select(s => (IReadOnlyList<Box>)s.Boxes.Select(b => b.Scale(1 / 64f, 1 / 64f)).ToArray()).ToList();
        var labels = scenes.Select(s => (IReadOnlyList<int>)s.Labels).ToList();
        var t = MultiBoxTargets.Build(m.Priors, boxes, labels, 10);
        Assert.Equal(30 * m.PriorCount, t.Classes.Length);
        int objects = 0, positives = 0;
        for (int i = 0; i < scenes.Count; i++)
        {
            var match = DefaultBoxes.Match(m.Priors, boxes[i]);
            for (int g = 0; g < boxes[i].Count; g++)
            {
                objects++;
                Assert.Contains(g, match);   // every object has at least one default box
            }
            for (int p = 0; p < m.PriorCount; p++)
            {
                int row = i * m.PriorCount + p;
                if (match[p] < 0) { Assert.Equal(0, t.Classes[row]); Assert.All(t.Offsets.AsSpan(row * 4, 4).ToArray(), v => Assert.Equal(0f, v)); continue; }
                positives++;
                var truth = boxes[i][match[p]];
                Assert.Equal(labels[i][match[p]] + 1, t.Classes[row]);
                // Matched at IoU ≥ 0.5, or it is the object's own best default box.
                float iou = Boxes.Iou(m.Priors[p], truth);
                Assert.True(iou >= 0.5f || m.Priors.Select(q => Boxes.Iou(q, truth)).Max() == iou, $"scene {i}, default box {p}: IoU {iou}");
                var back = Boxes.Decode((t.Offsets[row * 4], t.Offsets[row * 4 + 1], t.Offsets[row * 4 + 2], t.Offsets[row * 4 + 3]), m.Priors[p]);
                AssertBox(truth, back);
            }
        }
        Assert.Equal(positives, t.Positives);
        Assert.True(positives > 3 * objects, $"{positives} matches for {objects} objects: the default boxes fit the digits poorly");
        // Bad ground truth is named.
        var e = Assert.Throws<ArgumentException>(() => MultiBoxTargets.Build(m.Priors, [[new Box(0.1f, 0.1f, 0.1f, 0.3f)]], [[1]], 10));
        Assert.Contains("image 0, object 0", e.Message);
        Assert.Throws<ArgumentException>(() => MultiBoxTargets.Build(m.Priors, [[new Box(0.1f, 0.1f, 0.2f, 0.3f)]], [[10]], 10));
    }

    // Four hand-made default boxes per image and logits whose background losses are 0.1 apart or more,
    // so that the check's steps never change which negatives are the hardest.
    private static (MultiBoxLoss Loss, MultiBoxTargets Targets, Tensor Cls, Tensor Box) SmallLossCase()
    {
        var priors = new List<Box>();
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) priors.Add(Box.FromCenter((j + 0.5f) / 3, (i + 0.5f) / 3, 0.3f, 0.3f));
        var loss = new MultiBoxLoss(priors, 2);
        // Image 0: one object on the top-left default box; image 1: two objects.
        var targets = loss.Targets(
            [[Box.FromCenter(0.17f, 0.16f, 0.28f, 0.32f)], [Box.FromCenter(0.83f, 0.5f, 0.3f, 0.25f), Box.FromCenter(0.5f, 0.84f, 0.33f, 0.3f)]],
            [[1], [0, 1]]);
        var rng = new Random(3);
        var cls = new float[2 * 9 * 3];
        var order = Enumerable.Range(0, 18).OrderBy(_ => rng.Next()).ToArray();
        for (int r = 0; r < 18; r++)
        {
            cls[r * 3] = 0.15f * order[r] - 1f;           // background logits 0.15 apart, the others alike:
            cls[r * 3 + 1] = 0.1f + 0.01f * (r % 3);       // background losses at least 0.04 apart
            cls[r * 3 + 2] = -0.2f - 0.01f * (r % 2);
        }
        var box = Core.Gen.N(4, 2, 9, 4);
        return (loss, targets, Tensor.FromArray(cls, 2, 9, 3), box);
    }

    [Fact]
    public void Multibox_loss_matches_its_definition_and_passes_the_gradient_check()
    {
        var (loss, targets, cls, box) = SmallLossCase();
        Assert.Equal([1, 2], targets.PositivesPerImage);
        var r = loss.Forward(cls, box, targets);
        Assert.Equal(3, r.Positives);
        Assert.Equal(3 + 6, r.Negatives);   // 3 per match: 3 in image 0, 6 in image 1

        // By hand: cross-entropy over the matches and the hardest negatives, smooth L1 over the matches' offsets, / N.
        var hard = loss.HardNegatives(cls, targets);
        double conf = 0, loc = 0;
        for (int i = 0; i < 2; i++)
            for (int p = 0; p < 9; p++)
            {
                int row = i * 9 + p, c = targets.Classes[row];
                bool used = c > 0 || hard[i].Contains(p);
                if (used)
                {
                    var z = cls.Data.Slice(row * 3, 3).ToArray();
                    conf += Math.Log(z.Sum(v => Math.Exp(v))) - z[c];
                }
                if (c > 0)
                    for (int d = 0; d < 4; d++)
                    {
                        double diff = box.Data[row * 4 + d] - targets.Offsets[row * 4 + d];
                        loc += Math.Abs(diff) < 1 ? 0.5 * diff * diff : Math.Abs(diff) - 0.5;
                    }
            }
        Assert.Equal((conf + loc) / 3, r.Loss.Item(), 4);
        Assert.Equal(conf / 3, r.Confidence, 4);
        Assert.Equal(loc / 3, r.Localization, 4);
        var weighted = new MultiBoxLoss(loss.Priors, 2, alpha: 2.5f).Forward(cls, box, targets);
        Assert.Equal((conf + 2.5 * loc) / 3, weighted.Loss.Item(), 4);

        var check = GradCheck.Check(_ => loss.Forward(cls, box, targets).Loss, [cls, box]);
        Assert.True(check.Passed, check.ToString());
    }

    [Fact]
    public void Hard_negatives_are_the_background_boxes_with_the_largest_loss_three_per_match()
    {
        var (loss, targets, cls, _) = SmallLossCase();
        var hard = loss.HardNegatives(cls, targets);
        for (int i = 0; i < 2; i++)
        {
            var negatives = Enumerable.Range(0, 9).Where(p => targets.Classes[i * 9 + p] == 0).ToList();
            Assert.Equal(Math.Min(3 * targets.PositivesPerImage[i], negatives.Count), hard[i].Length);
            double BgLoss(int p)
            {
                var z = cls.Data.Slice((i * 9 + p) * 3, 3).ToArray();
                return Math.Log(z.Sum(v => Math.Exp(v))) - z[0];
            }
            double weakestKept = hard[i].Min(BgLoss);
            foreach (int p in negatives.Except(hard[i])) Assert.True(BgLoss(p) <= weakestKept, $"image {i}: negative {p} is harder than a kept one");
        }
        // Ratio 1 keeps one negative per match; ratio 0 none (the loss is then the matches' alone).
        var one = new MultiBoxLoss(loss.Priors, 2, negativeRatio: 1).HardNegatives(cls, targets);
        Assert.Equal([1, 2], one.Select(h => h.Length));
        Assert.Equal(3, new MultiBoxLoss(loss.Priors, 2, negativeRatio: 0).Forward(cls, Tensor.Zeros(2, 9, 4), targets).Positives);
        // Wrong shapes are named.
        var e = Assert.Throws<ShapeMismatchException>(() => loss.Forward(Tensor.Zeros(2, 9, 4), Tensor.Zeros(2, 9, 4), targets));
        Assert.Contains("MultiBoxLoss", e.Message);
    }

    [Fact]
    public void Postprocess_decodes_suppresses_per_class_thresholds_and_keeps_the_top_k()
    {
        Box[] priors =
        [
            Box.FromCenter(0.3f, 0.3f, 0.2f, 0.2f),    // 0: class 1, 0.9
            Box.FromCenter(0.32f, 0.3f, 0.2f, 0.2f),   // 1: class 1, 0.8, overlaps 0 → suppressed
            Box.FromCenter(0.31f, 0.3f, 0.2f, 0.2f),   // 2: class 0, 0.7, overlaps 0 but another class → kept
            Box.FromCenter(0.8f, 0.8f, 0.2f, 0.2f),    // 3: class 1, 0.6, apart → kept
            Box.FromCenter(0.5f, 0.8f, 0.2f, 0.2f),    // 4: background
        ];
        float[][] probs = [[0.05f, 0.05f, 0.9f], [0.1f, 0.1f, 0.8f], [0.2f, 0.7f, 0.1f], [0.3f, 0.1f, 0.6f], [0.98f, 0.01f, 0.01f]];
        var logits = Tensor.FromArray(probs.SelectMany(p => p.Select(v => MathF.Log(v))).ToArray(), 1, 5, 3);
        var offsets = Tensor.Zeros(1, 5, 4);
        offsets.Data[3 * 4 + 0] = 1f;   // prior 3 moved right by 0.1·1·0.2 = 0.02
        offsets.Data[3 * 4 + 2] = 1f;   // and its width scaled by e^(0.2·1)
        var post = new SsdPostprocess(priors, 2) { ScoreThreshold = 0.5f, IouThreshold = 0.45f };
        var r = post.Run(logits, offsets, 100, 50)[0];
        Assert.Equal([0.9f, 0.7f, 0.6f], r.Scores.Select(s => MathF.Round(s, 4)));
        Assert.Equal([1, 0, 1], r.Labels);
        AssertBox(priors[0].Scale(100, 50), r.Boxes[0]);
        AssertBox(Box.FromCenter(0.82f, 0.8f, 0.2f * MathF.Exp(0.2f), 0.2f).Scale(100, 50), r.Boxes[2]);
        Assert.Equal([0.9f, 0.7f], new SsdPostprocess(priors, 2) { ScoreThreshold = 0.5f, TopK = 2 }.Run(logits, offsets)[0].Scores.Select(s => MathF.Round(s, 4)));
        Assert.Equal([0.9f], new SsdPostprocess(priors, 2) { ScoreThreshold = 0.85f }.Run(logits, offsets)[0].Scores.Select(s => MathF.Round(s, 4)));
        // A looser IoU threshold (above the overlap of 0 and 1, 0.82) keeps both.
        Assert.Equal(4, new SsdPostprocess(priors, 2) { ScoreThreshold = 0.5f, IouThreshold = 0.9f }.Run(logits, offsets)[0].Count);
        // Decoded boxes are clipped to the image.
        offsets.Data[0] = -30f;
        Assert.Equal(0f, post.Run(logits, offsets)[0].Boxes[0].X1);
        Assert.Throws<ShapeMismatchException>(() => post.Run(Tensor.Zeros(1, 5, 4), offsets));
    }

    [Fact]
    public void A_short_seeded_training_run_lowers_the_loss_and_finds_the_digits()
    {
        // Two digit classes (0 and 1), 1–3 per 32×32 scene, a narrow detector, 100 steps of 16 scenes
        // (this reached mAP 0.85 in 16 s on a loaded 2-core machine; 64×64 scenes and 150 steps: 0.97).
        var digits = MnistFolder.Load(DataTestUtil.Mnist10kDir).Train;
        var images = digits.Take(3000).Features.ToArray();
        var labels = digits.Take(3000).Labels.ToArray();
        var zeroOne = Enumerable.Range(0, labels.Length).Where(i => labels[i] <= 1).ToArray();
        var train = new SceneGenerator(images, labels, zeroOne[100..], size: 32) { Objects = (1, 3) };
        var test = new SceneGenerator(images, labels, zeroOne[..100], size: 32) { Objects = (1, 3) };
        var model = new Ssd(1, 2, 32, width: 6, rng: new Random(11));
        var loss = new MultiBoxLoss(model.Priors, 2);
        var opt = new Adam(model.Parameters(), 4e-3f);
        var losses = new List<float>();
        for (int step = 0; step < 100; step++)
        {
            var scenes = Enumerable.Range(0, 16).Select(i => train.Generate(step * 16 + i)).ToList();
            var (cls, box) = model.ForwardHeads(DetectDemo.Images(scenes));
            var r = loss.Forward(cls, box, DetectDemo.RelativeBoxes(scenes), scenes.Select(s => (IReadOnlyList<int>)s.Labels).ToList());
            opt.ZeroGrad();
            r.Loss.Backward();
            opt.Step();
            losses.Add(r.Loss.Item());
        }
        double first = losses.Take(15).Average(), last = losses.TakeLast(15).Average();
        Assert.True(last < 0.7 * first, $"loss {first:F3} → {last:F3}");
        var held = Enumerable.Range(0, 60).Select(i => test.Generate(100_000 + i)).ToList();
        var (map, perClass, _) = DetectDemo.Evaluate(model, held);
        Assert.True(map > 0.6, $"mAP@0.5 {map:F3} (AP per class {string.Join(", ", perClass.Select(a => a.ToString("F2")))}), loss {first:F3} → {last:F3}");
    }

    [Fact]
    public void Overlapping_digits_of_one_class_get_a_box_each_around_their_own_ink()
    {
        // One 4×4 "digit" with ink only in its middle 2×2: each pasted copy's box is about half its square.
        var ink = new float[16];
        foreach (int p in new[] { 5, 6, 9, 10 }) ink[p] = 1f;
        // Pasted at 12×12, a copy's ink (value ≥ 0.35 after resampling) spans 6 pixels each way.
        var gen = new SceneGenerator(ink, [7], size: 32) { Objects = (2, 3), DigitScale = (0.375f, 0.375f), BackgroundLevel = 0 };
        int overlapping = 0;
        for (int seed = 0; seed < 60; seed++)
        {
            var s = gen.Generate(seed);
            foreach (var b in s.Boxes) Assert.True(b.Width <= 7 && b.Height <= 7, $"seed {seed}: box {b} is wider than one copy's ink");
            // Boxes this close have overlapping 12×12 squares: each square holds ink of the other copy.
            bool close = s.Boxes.Any(b => s.Boxes.Any(o => o != b && Boxes.Iou(b, new Box(o.X1 - 6, o.Y1 - 6, o.X2 + 6, o.Y2 + 6)) > 0));
            if (close) overlapping++;
        }
        Assert.True(overlapping > 5, $"only {overlapping} scenes with neighbouring copies");
    }
}
