// Error analysis of the segment demo's U-Net (src/Nabla.Cli/Demos/SegmentDemo.cs) on its 200 held-out scenes.
// Usage: dotnet SegAnalysis.dll MODEL.safetensors [DATA_DIR=data/mnist10k] [SEED=1] [N_TEST=200]
using System.Diagnostics;
using Nabla;
using Nabla.Autograd;
using Nabla.Data;
using Nabla.Kernels;
using Nabla.Models;
using Nabla.Serialization;
using Nabla.Vision;

WorkerPool.Threads = 1;
string modelPath = args.Length > 0 ? args[0] : "/work/notes/s4/segdemo/unet.safetensors";
string dataDir = args.Length > 1 ? args[1] : "data/mnist10k";
int seed = args.Length > 2 ? int.Parse(args[2]) : 1;
int nTest = args.Length > 3 ? int.Parse(args[3]) : 200;
const int C = 11, N = 64, Plane = N * N;
var total = Stopwatch.StartNew();

// --- 1. the demo's held-out scenes (SegmentDemo.Run) ---
var mnist = MnistFolder.Load(dataDir, flatten: true).Train;
var (trainGen, testGen) = SceneGenerator.Split(mnist.Features, mnist.Labels, 0.2, seed, N);
var sceneSeeds = Enumerable.Range(0, nTest).Select(i => seed * 1_000_003 + 7 + i).ToArray();
var test = sceneSeeds.Select(s => testGen.Generate(s)).ToList();
Console.WriteLine($"train pool {trainGen.Pool.Count}, test pool {testGen.Pool.Count}, {nTest} held-out scenes (seed {seed})");

// Per-object ink: SceneGenerator.Generate replayed with the same RNG draws, keeping each digit's own resampled ink.
var objs = new List<Obj[]>();
int mismatches = 0;
for (int i = 0; i < nTest; i++)
{
    var (img, mask, o) = Replay.Generate(mnist.Features, mnist.Labels, testGen.Pool, sceneSeeds[i], N, testGen);
    if (!img.AsSpan().SequenceEqual(test[i].Image) || !mask.AsSpan().SequenceEqual(test[i].Mask)) mismatches++;
    objs.Add(o);
}
Console.WriteLine($"replayed generator: {mismatches} of {nTest} scenes differ from SceneGenerator.Generate");

var model = new UNet(1, C, 8, 4, UNetDecoder.Transpose, new Random(seed));
ModelFile.LoadWeights(modelPath, model);
model.Eval();
Console.WriteLine($"U-Net base 8 depth 4 transpose, {model.ParameterCount:N0} parameters, weights {modelPath}");

var probs = new float[nTest * C * Plane]; // softmax, [scene, class, pixel]
var pred = new int[nTest * Plane];
var truthAll = new int[nTest * Plane];
var inf = Stopwatch.StartNew();
for (int b = 0; b < nTest; b += 16)
{
    var chunk = test.Skip(b).Take(16).ToList();
    var (x, truth) = SceneBatch.Stack(chunk);
    Tensor logits;
    using (GradMode.NoGrad()) logits = model.Forward(x);
    var am = SegmentationConfusion.ArgMaxClasses(logits);
    am.CopyTo(pred, b * Plane);
    truth.CopyTo(truthAll, b * Plane);
    var z = logits.Data;
    for (int i = 0; i < chunk.Count; i++)
        for (int p = 0; p < Plane; p++)
        {
            float m = float.NegativeInfinity;
            for (int c = 0; c < C; c++) m = MathF.Max(m, z[(i * C + c) * Plane + p]);
            float s = 0;
            for (int c = 0; c < C; c++) s += MathF.Exp(z[(i * C + c) * Plane + p] - m);
            for (int c = 0; c < C; c++) probs[((b + i) * C + c) * Plane + p] = MathF.Exp(z[(i * C + c) * Plane + p] - m) / s;
        }
}
double infSec = inf.Elapsed.TotalSeconds;
var conf = new SegmentationConfusion(C);
conf.Add(pred, truthAll);
Console.WriteLine($"\n== reproduction: mean IoU {conf.MeanIou:F4}, pixel accuracy {100 * conf.PixelAccuracy:F3} %  (inference {infSec:F1} s, {1000 * infSec / nTest:F1} ms/scene, 1 thread)");
Console.WriteLine("per-class IoU: " + string.Join("  ", Enumerable.Range(0, C).Select(c => $"{(c == 0 ? "bg" : (c - 1).ToString())}={conf.Iou(c):F3}")));
Console.WriteLine("class pixels (truth / predicted): " + string.Join("  ", Enumerable.Range(0, C).Select(c =>
{
    long t = 0, pr = 0; for (int k = 0; k < C; k++) { t += conf[c, k]; pr += conf[k, c]; }
    return $"{(c == 0 ? "bg" : (c - 1).ToString())}:{t}/{pr}";
})));

// --- 2. error breakdown ---
long wrong = 0, bgAsDigit = 0, digitAsBg = 0, wrongDigit = 0, wrongDigitOverlap = 0, wrongDigitSingle = 0;
long inkPixels = 0, overlapPixels = 0, overlapWrongAny = 0, singleWrongAny = 0, digitAsBgOverlap = 0;
var overlap = new bool[nTest * Plane];
for (int s = 0; s < nTest; s++)
    for (int p = 0; p < Plane; p++)
    {
        int cnt = 0;
        foreach (var o in objs[s]) if (o.Ink[p] >= 0.35f) cnt++;
        overlap[s * Plane + p] = cnt >= 2;
    }
for (int i = 0; i < pred.Length; i++)
{
    int t = truthAll[i], pr = pred[i];
    if (t != 0) { inkPixels++; if (overlap[i]) overlapPixels++; if (t != pr) { if (overlap[i]) overlapWrongAny++; else singleWrongAny++; } }
    if (t == pr) continue;
    wrong++;
    if (t == 0) bgAsDigit++;
    else if (pr == 0) { digitAsBg++; if (overlap[i]) digitAsBgOverlap++; }
    else { wrongDigit++; if (overlap[i]) wrongDigitOverlap++; else wrongDigitSingle++; }
}
string Pc(long a, long b) => $"{a} ({100.0 * a / b:F1} %)";
Console.WriteLine($"\n== error breakdown: {wrong} wrong pixels of {pred.Length} ({100.0 * wrong / pred.Length:F2} %)");
Console.WriteLine($"  (a) background predicted as a digit: {Pc(bgAsDigit, wrong)}");
Console.WriteLine($"  (b) digit predicted as background:   {Pc(digitAsBg, wrong)}  [of which in overlaps {digitAsBgOverlap}]");
Console.WriteLine($"  (c) digit ink with the wrong digit:  {Pc(wrongDigit, wrong)}");
Console.WriteLine($"      (c) in overlaps (>=2 digits' ink >= 0.35): {Pc(wrongDigitOverlap, wrong)};  not in overlaps: {Pc(wrongDigitSingle, wrong)}");
Console.WriteLine($"  ink pixels {inkPixels}, of which in overlaps {Pc(overlapPixels, inkPixels)}; error rate on ink: overlap {100.0 * overlapWrongAny / overlapPixels:F1} %, non-overlap {100.0 * singleWrongAny / (inkPixels - overlapPixels):F1} %");

// Which mistakes cost IoU: fix one error type with the truth and rescore.
double Fixed(Func<int, int, int> f)
{
    var q = new int[pred.Length];
    for (int i = 0; i < q.Length; i++) q[i] = f(truthAll[i], pred[i]);
    var cf = new SegmentationConfusion(C); cf.Add(q, truthAll); return cf.MeanIou;
}
Console.WriteLine($"  mIoU if (a) fixed {Fixed((t, p) => t == 0 && p != 0 ? 0 : p):F4}; (b) fixed {Fixed((t, p) => t != 0 && p == 0 ? t : p):F4}; (c) fixed {Fixed((t, p) => t != 0 && p != 0 ? t : p):F4}; (a)+(b) fixed {Fixed((t, p) => (t == 0) != (p == 0) ? t : p):F4}");

// Digit instances: the pixels each digit owns in the mask (its visible ink).
int instances = 0, majWrongDigit = 0, majBg = 0, correctUnderHalf = 0, pluralityWrongDigit = 0;
var instConfusion = new int[10, 11];
for (int s = 0; s < nTest; s++)
{
    foreach (var o in objs[s])
    {
        var counts = new int[C];
        int n = 0;
        for (int p = 0; p < Plane; p++) if (o.OwnerMask[p]) { counts[pred[s * Plane + p]]++; n++; }
        if (n == 0) continue;
        instances++;
        int cls = o.Digit + 1;
        int wrongD = 0; for (int c = 1; c < C; c++) if (c != cls) wrongD += counts[c];
        if (2 * wrongD > n) majWrongDigit++;
        if (2 * counts[0] > n) majBg++;
        if (2 * counts[cls] < n) correctUnderHalf++;
        int best = 1; for (int c = 2; c < C; c++) if (counts[c] > counts[best]) best = c;   // plurality among digit classes
        if (best != cls && counts[best] > 0) pluralityWrongDigit++;
        instConfusion[o.Digit, counts.Skip(1).Sum() == 0 ? 0 : best]++;
    }
}
Console.WriteLine($"\n== digit instances (visible ink owned per mask): {instances}");
Console.WriteLine($"  majority (>50 %) of pixels a wrong digit class (whole-digit misclassification): {Pc(majWrongDigit, instances)}");
Console.WriteLine($"  plurality digit class among predicted-digit pixels is wrong: {Pc(pluralityWrongDigit, instances)}");
Console.WriteLine($"  majority predicted background: {Pc(majBg, instances)};  under half of pixels correct: {Pc(correctUnderHalf, instances)}");
Console.WriteLine("  instance confusion (row true digit, col plurality predicted digit, col '-' = none):");
Console.WriteLine("        -" + string.Concat(Enumerable.Range(0, 10).Select(d => $"{d,5}")));
for (int d = 0; d < 10; d++)
    Console.WriteLine($"  {d,5}" + string.Concat(Enumerable.Range(0, 11).Select(c => $"{instConfusion[d, c],5}")));

// --- 3. post-processing: vote within 8-connected components of predicted foreground ---
Console.WriteLine($"\n== post-processing (8-connected components of predicted foreground)");
Console.WriteLine($"  none: mean IoU {conf.MeanIou:F4}, pixel accuracy {100 * conf.PixelAccuracy:F3} %");
var pp = Stopwatch.StartNew();
foreach (var (name, useProb, thr) in new (string, bool, double)[] {
    ("summed softmax, always", true, 0), ("majority vote, always", false, 0),
    ("summed softmax, top >= 50 %", true, 0.5), ("summed softmax, top >= 60 %", true, 0.6), ("summed softmax, top >= 70 %", true, 0.7), ("summed softmax, top >= 80 %", true, 0.8),
    ("majority vote, top >= 60 %", false, 0.6), ("majority vote, top >= 70 %", false, 0.7) })
{
    var q = (int[])pred.Clone();
    int comps = 0, voted = 0;
    for (int s = 0; s < nTest; s++)
    {
        var label = new int[Plane]; Array.Fill(label, -1);
        var stack = new Stack<int>();
        var members = new List<int>();
        for (int p0 = 0; p0 < Plane; p0++)
        {
            if (pred[s * Plane + p0] == 0 || label[p0] >= 0) continue;
            members.Clear(); stack.Push(p0); label[p0] = comps;
            while (stack.Count > 0)
            {
                int p = stack.Pop(); members.Add(p);
                int y = p / N, x = p % N;
                for (int dy = -1; dy <= 1; dy++) for (int dx = -1; dx <= 1; dx++)
                {
                    int yy = y + dy, xx = x + dx;
                    if ((uint)yy >= N || (uint)xx >= N) continue;
                    int r = yy * N + xx;
                    if (label[r] < 0 && pred[s * Plane + r] != 0) { label[r] = comps; stack.Push(r); }
                }
            }
            comps++;
            var score = new double[C];
            foreach (int p in members)
                if (useProb) for (int c = 1; c < C; c++) score[c] += probs[(s * C + c) * Plane + p];
                else score[pred[s * Plane + p]]++;
            int best = 1; double sum = 0;
            for (int c = 1; c < C; c++) { sum += score[c]; if (score[c] > score[best]) best = c; }
            if (score[best] < thr * sum) continue;
            voted++;
            foreach (int p in members) q[s * Plane + p] = best;
        }
    }
    var cf = new SegmentationConfusion(C); cf.Add(q, truthAll);
    Console.WriteLine($"  {name,-30}: mean IoU {cf.MeanIou:F4}, pixel accuracy {100 * cf.PixelAccuracy:F3} %  ({voted} of {comps} components relabelled)");
}
// How many components hold ink of more than one true digit class (merged overlapping/touching digits)?
{
    int comps = 0, multi = 0;
    for (int s = 0; s < nTest; s++)
    {
        var seen = new bool[Plane];
        for (int p0 = 0; p0 < Plane; p0++)
        {
            if (pred[s * Plane + p0] == 0 || seen[p0]) continue;
            var classes = new HashSet<int>(); var st = new Stack<int>(); st.Push(p0); seen[p0] = true;
            while (st.Count > 0)
            {
                int p = st.Pop(); if (truthAll[s * Plane + p] != 0) classes.Add(truthAll[s * Plane + p]);
                int y = p / N, x = p % N;
                for (int dy = -1; dy <= 1; dy++) for (int dx = -1; dx <= 1; dx++)
                {
                    int yy = y + dy, xx = x + dx; if ((uint)yy >= N || (uint)xx >= N) continue;
                    int r = yy * N + xx; if (!seen[r] && pred[s * Plane + r] != 0) { seen[r] = true; st.Push(r); }
                }
            }
            comps++; if (classes.Count >= 2) multi++;
        }
    }
    Console.WriteLine($"  components: {comps}, holding ink of >= 2 true digit classes: {multi}");
}
// Diagnostics: (c) pixels of whole-digit-misclassified instances vs partial errors; oracle-grouped votes.
{
    long cWhole = 0, cPartial = 0, cWholeOv = 0, cPartialOv = 0;
    var qInst = (int[])pred.Clone();
    for (int s = 0; s < nTest; s++)
        foreach (var o in objs[s])
        {
            var counts = new int[C]; var score = new double[C]; int n = 0;
            for (int p = 0; p < Plane; p++) if (o.OwnerMask[p]) { counts[pred[s * Plane + p]]++; n++; for (int c = 1; c < C; c++) score[c] += probs[(s * C + c) * Plane + p]; }
            if (n == 0) continue;
            int cls = o.Digit + 1, wrongD = 0; for (int c = 1; c < C; c++) if (c != cls) wrongD += counts[c];
            bool whole = 2 * wrongD > n;
            int best = 1; for (int c = 2; c < C; c++) if (score[c] > score[best]) best = c;
            for (int p = 0; p < Plane; p++)
            {
                if (!o.OwnerMask[p]) continue;
                int i = s * Plane + p, pr = pred[i];
                if (pr != 0) qInst[i] = best;
                if (pr == 0 || pr == cls) continue;
                if (whole) { cWhole++; if (overlap[i]) cWholeOv++; } else { cPartial++; if (overlap[i]) cPartialOv++; }
            }
        }
    Console.WriteLine($"  (c) pixels in whole-digit-misclassified instances: {Pc(cWhole, wrong)} [in overlaps {cWholeOv}]; in mostly-right instances: {Pc(cPartial, wrong)} [in overlaps {cPartialOv}]");
    var cf = new SegmentationConfusion(C); cf.Add(qInst, truthAll);
    Console.WriteLine($"  oracle grouping (summed softmax over each TRUE instance's visible ink, predicted-fg pixels relabelled): mean IoU {cf.MeanIou:F4}, pixel accuracy {100 * cf.PixelAccuracy:F3} %");
    // Component vote only where the component holds one true digit class (oracle gate).
    var q = (int[])pred.Clone();
    for (int s = 0; s < nTest; s++)
    {
        var seen = new bool[Plane];
        for (int p0 = 0; p0 < Plane; p0++)
        {
            if (pred[s * Plane + p0] == 0 || seen[p0]) continue;
            var mem = new List<int>(); var classes = new HashSet<int>(); var st = new Stack<int>(); st.Push(p0); seen[p0] = true;
            while (st.Count > 0)
            {
                int p = st.Pop(); mem.Add(p); if (truthAll[s * Plane + p] != 0) classes.Add(truthAll[s * Plane + p]);
                int y = p / N, x = p % N;
                for (int dy = -1; dy <= 1; dy++) for (int dx = -1; dx <= 1; dx++)
                {
                    int yy = y + dy, xx = x + dx; if ((uint)yy >= N || (uint)xx >= N) continue;
                    int r = yy * N + xx; if (!seen[r] && pred[s * Plane + r] != 0) { seen[r] = true; st.Push(r); }
                }
            }
            if (classes.Count > 1) continue;
            var score = new double[C]; foreach (int p in mem) for (int c = 1; c < C; c++) score[c] += probs[(s * C + c) * Plane + p];
            int best = 1; for (int c = 2; c < C; c++) if (score[c] > score[best]) best = c;
            foreach (int p in mem) q[s * Plane + p] = best;
        }
    }
    var cf2 = new SegmentationConfusion(C); cf2.Add(q, truthAll);
    Console.WriteLine($"  component vote (summed softmax) only on components holding one true class (oracle gate): mean IoU {cf2.MeanIou:F4}, pixel accuracy {100 * cf2.PixelAccuracy:F3} %");
}
Console.WriteLine($"  post-processing took {pp.Elapsed.TotalSeconds:F1} s");
Console.WriteLine($"\ntotal {total.Elapsed.TotalSeconds:F1} s (CPU {Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds:F1} s)");

record Obj(int Digit, float[] Ink, bool[] OwnerMask);

static class Replay
{
    // SceneGenerator.Generate (src/Nabla/Vision/SceneGenerator.cs) step by step, same RNG draws, keeping each digit's ink.
    public static (float[] Image, int[] Mask, Obj[] Objects) Generate(float[] images, int[] labels, IReadOnlyList<int> pool, int seed, int n, SceneGenerator g)
    {
        int source = (int)Math.Round(Math.Sqrt(images.Length / labels.Length));
        var rng = new Random(seed);
        var image = new float[n * n];
        var mask = new int[n * n];
        float bgl = g.BackgroundLevel, inkT = g.InkThreshold;
        if (bgl > 0)
        {
            double fx = rng.NextDouble() * 0.5, fy = rng.NextDouble() * 0.5, phase = rng.NextDouble() * Math.Tau;
            float texture = (float)rng.NextDouble() * bgl;
            for (int y = 0; y < n; y++)
                for (int x = 0; x < n; x++)
                {
                    float t = texture * 0.5f * (1f + (float)Math.Sin(fx * x + fy * y + phase));
                    float noise = bgl * 0.5f * rng.NextSingle();
                    image[y * n + x] = MathF.Min(t + noise, inkT * 0.8f);
                }
        }
        int count = rng.Next(g.Objects.Min, g.Objects.Max + 1);
        var placed = new List<(int X, int Y, int S, int Index)>();
        for (int k = 0; k < count; k++)
        {
            int index = pool[rng.Next(pool.Count)];
            int s = (int)Math.Round(n * (g.DigitScale.Min + rng.NextSingle() * (g.DigitScale.Max - g.DigitScale.Min)));
            s = Math.Clamp(s, 4, n);
            int x0 = rng.Next(0, n - s + 1), y0 = rng.Next(0, n - s + 1);
            placed.Add((x0, y0, s, index));
        }
        var owner = new int[n * n]; Array.Fill(owner, -1);
        var objs = new Obj[placed.Count];
        for (int k = 0; k < placed.Count; k++)
        {
            var (x0, y0, s, index) = placed[k];
            int digit = labels[index];
            var ink = new float[n * n];
            var src = images.AsSpan(index * source * source, source * source);
            for (int y = 0; y < s; y++)
                for (int x = 0; x < s; x++)
                {
                    float v = Sample(src, source, (x + 0.5f) * source / s - 0.5f, (y + 0.5f) * source / s - 0.5f);
                    int p = (y0 + y) * n + x0 + x;
                    ink[p] = v;
                    if (v > image[p]) image[p] = v;
                    if (v >= inkT) { mask[p] = digit + 1; owner[p] = k; }
                }
            objs[k] = new Obj(digit, ink, new bool[n * n]);
        }
        for (int p = 0; p < n * n; p++) if (owner[p] >= 0) objs[owner[p]].OwnerMask[p] = true;
        return (image, mask, objs);
    }

    static float Sample(ReadOnlySpan<float> src, int source, float x, float y)
    {
        int x0 = (int)MathF.Floor(x), y0 = (int)MathF.Floor(y);
        float fx = x - x0, fy = y - y0;
        return (1 - fy) * ((1 - fx) * At(src, source, x0, y0) + fx * At(src, source, x0 + 1, y0)) + fy * ((1 - fx) * At(src, source, x0, y0 + 1) + fx * At(src, source, x0 + 1, y0 + 1));
    }

    static float At(ReadOnlySpan<float> src, int source, int x, int y) => (uint)x < (uint)source && (uint)y < (uint)source ? src[y * source + x] : 0f;
}
