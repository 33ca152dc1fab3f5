using Nabla.Data;
using Nabla.Tests.Data;
using Nabla.Vision;

namespace Nabla.Tests.Vision;

public class BoxesTests
{
    [Fact]
    public void Iou_of_hand_made_boxes()
    {
        var a = new Box(0, 0, 2, 2);
        Assert.Equal(1f, Boxes.Iou(a, a));
        Assert.Equal(0f, Boxes.Iou(a, new Box(3, 3, 4, 4)));            // apart
        Assert.Equal(0f, Boxes.Iou(a, new Box(2, 0, 4, 2)));            // touching along an edge
        Assert.Equal(0f, Boxes.Iou(a, new Box(2, 2, 3, 3)));            // touching at a corner
        Assert.Equal(0.25f, Boxes.Iou(new Box(0, 0, 4, 4), new Box(1, 1, 3, 3)));   // nested: 4 / 16
        Assert.Equal(1f / 7f, Boxes.Iou(a, new Box(1, 1, 3, 3)), 6);   // 1 / (4 + 4 − 1)
        Assert.Equal(0f, Boxes.Iou(new Box(1, 1, 1, 1), new Box(1, 1, 1, 1)));      // two zero-area boxes
        Assert.Equal(0f, Boxes.Iou(new Box(1, 1, 1, 3), a));            // a zero-width box
        Assert.Equal(0f, new Box(3, 3, 1, 1).Area);                     // inverted corners: empty
    }

    [Fact]
    public void Iou_matrix_is_pairwise_and_symmetric()
    {
        var a = RandomBoxes(1, 7);
        var b = RandomBoxes(2, 5);
        var ab = Boxes.IouMatrix(a, b);
        var ba = Boxes.IouMatrix(b, a);
        Assert.Equal(7, ab.GetLength(0));
        Assert.Equal(5, ab.GetLength(1));
        for (int i = 0; i < 7; i++)
            for (int j = 0; j < 5; j++)
            {
                Assert.Equal(ab[i, j], ba[j, i]);
                Assert.Equal(Boxes.Iou(a[i], b[j]), ab[i, j]);
                Assert.InRange(ab[i, j], 0f, 1f);
            }
    }

    [Fact]
    public void Encoding_is_relative_to_the_default_box_with_log_scale_sizes_and_decodes_back()
    {
        var prior = Box.FromCenter(0.5f, 0.5f, 0.2f, 0.4f);
        Assert.Equal((0f, 0f, 0f, 0f), Boxes.Encode(prior, prior));
        var target = Box.FromCenter(0.52f, 0.46f, 0.4f, 0.2f);
        var (dx, dy, dw, dh) = Boxes.Encode(target, prior, (1f, 1f));
        Assert.Equal(0.02f / 0.2f, dx, 5);
        Assert.Equal(-0.04f / 0.4f, dy, 5);
        Assert.Equal(MathF.Log(2f), dw, 5);
        Assert.Equal(MathF.Log(0.5f), dh, 5);
        var back = Boxes.Decode(Boxes.Encode(target, prior), prior);
        Assert.Equal(target.X1, back.X1, 5);
        Assert.Equal(target.Y2, back.Y2, 5);
        Assert.Throws<ArgumentException>(() => Boxes.Encode(new Box(1, 1, 1, 2), prior));
    }

    [Fact]
    public void Nms_keeps_the_best_box_of_each_cluster_and_breaks_ties_by_index()
    {
        var boxes = new[] { new Box(0, 0, 10, 10), new Box(1, 1, 11, 11), new Box(20, 20, 30, 30), new Box(0, 0, 10, 10), new Box(2, 0, 4, 2) };
        var scores = new[] { 0.8f, 0.9f, 0.5f, 0.9f, 0.1f };
        // 1 and 3 tie at 0.9: 1 (lower index) first; 3 overlaps 1 by 81/119 > 0.5, so it goes; 0 too.
        Assert.Equal([1, 2, 4], Boxes.Nms(boxes, scores, 0.5f));
        Assert.Equal([1, 2], Boxes.Nms(boxes, scores, 0.5f, scoreThreshold: 0.2f));
        Assert.Equal([1], Boxes.Nms(boxes, scores, 0.5f, topK: 1));
        // A nested box is kept when the threshold is above its IoU (4 / 100 here).
        Assert.Contains(4, Boxes.Nms(boxes, scores, 0.99f));
        Assert.Empty(Boxes.Nms([], [], 0.5f));
    }

    [Theory]
    [InlineData(1, 0.3f)]
    [InlineData(2, 0.5f)]
    [InlineData(3, 0.7f)]
    public void Nms_agrees_with_a_brute_force_reference(int seed, float threshold)
    {
        var boxes = RandomBoxes(seed, 60);
        var rng = new Random(seed);
        var scores = boxes.Select(_ => (float)Math.Round(rng.NextDouble(), 2)).ToArray(); // rounded: some ties
        Assert.Equal(Reference(boxes, scores, threshold), Boxes.Nms(boxes, scores, threshold));
    }

    // The definition: a box survives when no higher-ranked surviving box overlaps it by more than the threshold.
    private static int[] Reference(Box[] boxes, float[] scores, float threshold)
    {
        var rank = Enumerable.Range(0, boxes.Length).OrderByDescending(i => scores[i]).ThenBy(i => i).ToList();
        var kept = new List<int>();
        foreach (int i in rank)
        {
            bool suppressed = false;
            foreach (int k in kept) suppressed |= Boxes.Iou(boxes[k], boxes[i]) > threshold;
            if (!suppressed) kept.Add(i);
        }
        return kept.ToArray();
    }

    [Fact]
    public void Batched_nms_never_suppresses_across_classes()
    {
        var boxes = new[] { new Box(0, 0, 10, 10), new Box(0, 0, 10, 10), new Box(1, 0, 10, 10) };
        var scores = new[] { 0.9f, 0.8f, 0.7f };
        Assert.Equal([0, 1], Boxes.BatchedNms(boxes, scores, [0, 1, 0], 0.5f));
        var many = RandomBoxes(9, 50);
        var rng = new Random(9);
        var s = many.Select(_ => rng.NextSingle()).ToArray();
        var cls = many.Select(_ => rng.Next(3)).ToArray();
        var expected = Enumerable.Range(0, 3).SelectMany(c =>
        {
            var idx = Enumerable.Range(0, many.Length).Where(i => cls[i] == c).ToArray();
            return Reference(idx.Select(i => many[i]).ToArray(), idx.Select(i => s[i]).ToArray(), 0.4f).Select(k => idx[k]);
        }).OrderByDescending(i => s[i]).ToArray();
        Assert.Equal(expected, Boxes.BatchedNms(many, s, cls, 0.4f));
    }

    [Fact]
    public void Average_precision_is_vocs_all_point_interpolation()
    {
        var truths = new[] { new GroundTruth(0, 1, new Box(0, 0, 10, 10)), new GroundTruth(1, 1, new Box(0, 0, 10, 10)) };
        // TP (0.9), FP (0.8), TP (0.7): precision 1, ½, ⅔ at recall ½, ½, 1 → AP = ½·1 + ½·⅔.
        var dets = new[]
        {
            new Detection(0, 1, 0.9f, new Box(0, 0, 10, 10)),
            new Detection(0, 1, 0.8f, new Box(50, 50, 60, 60)),
            new Detection(1, 1, 0.7f, new Box(1, 1, 10, 10)),
        };
        Assert.Equal(0.5 + 0.5 * 2 / 3.0, DetectionMetrics.AveragePrecision(dets, truths, 1), 6);
        Assert.Equal(1.0, DetectionMetrics.AveragePrecision(dets.Where(d => d.Score != 0.8f), truths, 1), 6);
        // A duplicate detection of a matched object is a false positive.
        var dup = new[] { dets[0], dets[0] with { Score = 0.85f } };
        Assert.Equal(0.5, DetectionMetrics.AveragePrecision(dup, truths, 1), 6);
        // The wrong class, or too little overlap, finds nothing.
        Assert.Equal(0.0, DetectionMetrics.AveragePrecision([new Detection(0, 1, 0.9f, new Box(0, 0, 10, 3))], truths, 1), 6);
        Assert.Equal(0.5 + 0.5 * 2 / 3.0, DetectionMetrics.MeanAveragePrecision(dets, truths), 6);
    }

    [Fact]
    public void Default_boxes_cover_each_cell_and_every_object_gets_one()
    {
        var maps = new[] { new FeatureMapSpec(4, 4, 0.3f, [1f, 2f, 0.5f]), new FeatureMapSpec(2, 2, 0.6f, [1f, 2f]) };
        var priors = DefaultBoxes.Generate(maps);
        Assert.Equal(4 * 4 * 3 + 2 * 2 * 2, priors.Length);
        Assert.Equal(Box.FromCenter(0.125f, 0.125f, 0.3f, 0.3f), priors[0]);
        Assert.Equal(0.3f * MathF.Sqrt(2f), priors[1].Width, 5);
        var truths = new[] { Box.FromCenter(0.15f, 0.14f, 0.3f, 0.3f), new Box(0.7f, 0.71f, 0.72f, 0.73f) }; // the second is tiny
        var match = DefaultBoxes.Match(priors, truths);
        Assert.Contains(1, match);                       // the tiny box still takes its best default box
        Assert.Equal(0, match[0]);                       // IoU(prior 0, truth 0) ≈ 0.76 ≥ 0.5 → matched
        Assert.True(match.Count(m => m == 0) > 1);       // and other default boxes over it too
        for (int p = 0; p < priors.Length; p++)
            if (match[p] == 0 && Boxes.Iou(priors[p], truths[0]) < 0.5f)
                Assert.Equal(priors.Select((b, i) => (Boxes.Iou(b, truths[0]), i)).Max().i, p);
        Assert.All(DefaultBoxes.Match(priors, []), m => Assert.Equal(-1, m));
    }

    [Fact]
    public void Segmentation_metrics()
    {
        int[] truth = [0, 0, 1, 1, 2, 2];
        int[] pred = [0, 1, 1, 1, 2, 0];
        Assert.Equal(4 / 6.0, SegmentationMetrics.PixelAccuracy(pred, truth), 9);
        var iou = SegmentationMetrics.IouPerClass(pred, truth, 4);
        Assert.Equal(1 / 3.0, iou[0], 9);
        Assert.Equal(2 / 3.0, iou[1], 9);
        Assert.Equal(1 / 2.0, iou[2], 9);
        Assert.True(double.IsNaN(iou[3]));
        Assert.Equal((1 / 3.0 + 2 / 3.0 + 1 / 2.0) / 3, SegmentationMetrics.MeanIou(pred, truth, 4), 9);
    }

    [Fact]
    public void Scenes_are_seeded_and_their_masks_and_boxes_agree()
    {
        var digits = MnistFolder.Load(DataTestUtil.Mnist10kDir).Train;
        var images = digits.Take(400).Features.ToArray();
        var labels = digits.Take(400).Labels.ToArray();
        var (train, test) = SceneGenerator.Split(images, labels, 0.25, seed: 3);
        Assert.Empty(train.Pool.Intersect(test.Pool));
        Assert.Equal(400, train.Pool.Count + test.Pool.Count);
        var a = train.Generate(11);
        Assert.Equal(a.Image, train.Generate(11).Image);
        Assert.NotEqual(a.Image, train.Generate(12).Image);
        int withSeveral = 0;
        for (int seed = 0; seed < 40; seed++)
        {
            var s = train.Generate(seed);
            Assert.Equal(64 * 64, s.Image.Length);
            Assert.All(s.Image, v => Assert.InRange(v, 0f, 1f));
            Assert.Equal(s.Boxes.Length, s.Labels.Length);
            Assert.InRange(s.Boxes.Length, 1, 5);
            if (s.Boxes.Length > 1) withSeveral++;
            // Every pixel of class c lies in a box labelled c − 1; every box holds its class's pixels.
            for (int p = 0; p < s.Mask.Length; p++)
            {
                if (s.Mask[p] == 0) continue;
                int x = p % 64, y = p / 64;
                Assert.Contains(Enumerable.Range(0, s.Boxes.Length), k => s.Labels[k] == s.Mask[p] - 1
                    && x >= s.Boxes[k].X1 && x < s.Boxes[k].X2 && y >= s.Boxes[k].Y1 && y < s.Boxes[k].Y2);
            }
            foreach (var b in s.Boxes)
            {
                Assert.True(b.X1 >= 0 && b.Y1 >= 0 && b.X2 <= 64 && b.Y2 <= 64 && b.Area > 0, $"box {b}");
            }
        }
        Assert.True(withSeveral > 10, $"only {withSeveral} of 40 scenes hold several digits");
    }

    private static Box[] RandomBoxes(int seed, int n)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ =>
        {
            float x = rng.Next(0, 40), y = rng.Next(0, 40);
            return new Box(x, y, x + rng.Next(0, 20), y + rng.Next(0, 20));
        }).ToArray();
    }
}
