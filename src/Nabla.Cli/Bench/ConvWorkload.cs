using System.Diagnostics;
using System.Text.Json.Nodes;
using Nabla.Autograd;
using Nabla.Data;
using Nabla.Kernels;
using Nabla.Losses;
using Nabla.Models;
using Nabla.Nn;
using Nabla.Optim;
using Spectre.Console;

namespace Nabla.Cli.Bench;

/// <summary>
/// The convolution workloads of <c>nabla bench</c>: LeNet-5 and ResNet-14 training (samples/s, SGD
/// with momentum, batch 128, as a training step of Trainer.Fit runs), CNN inference (batch-1
/// latency, batch-256 throughput) and the GFLOP/s of single convolution layers (forward, input
/// gradient, weight gradient) beside the GEMM's on a product of the same size.
/// </summary>
public static class ConvWorkload
{
    /// <summary>Runs the workload <paramref name="s"/>.Mode asks for.</summary>
    public static void Run(BenchSettings s, string? dataDir, JsonObject report, JsonArray results, IAnsiConsole console)
    {
        if (s.Mode == BenchMode.Conv) { Layers(s, results, console); return; }
        var data = MlpWorkload.LoadData(dataDir);
        int side = (int)Math.Round(Math.Sqrt(data.SampleSize));
        report["data"] = dataDir ?? "synthetic";
        report["samples"] = data.Count;
        report["optimizer"] = "sgd momentum 0.9, lr 0.01";
        Func<Module> make = s.Mode == BenchMode.ResnetTrain ? () => new ResNet(1, 10, side, blocks: 2, width: 16, rng: new Random(42)) : () => new LeNet5(1, 10, side, new Random(42));
        foreach (int t in s.Threads)
        {
            if (s.Mode == BenchMode.CnnInfer)
            {
                foreach (var (name, m) in new[] { ("lenet5", (Module)new LeNet5(1, 10, side, new Random(1))), ("resnet", new ResNet(1, 10, side, rng: new Random(1))) })
                {
                    console.MarkupLine($"[grey]cnn_infer {name}, {t} thread(s)…[/]");
                    m.Eval();
                    var one = Tensor.FromArray(data.GetSample(0).ToArray(), 1, data.SampleSize);
                    var many = Batch(data, 256);
                    double lat = Threads(t, () => Measure.SecondsPerCall(() => { using var _ = GradMode.NoGrad(); m.Forward(one); }, s.Repeats, s.WarmupCalls, s.WarmupSeconds, s.BatchSeconds));
                    double thr = Threads(t, () => Measure.SecondsPerCall(() => { using var _ = GradMode.NoGrad(); m.Forward(many); }, s.Repeats, 5, s.WarmupSeconds, s.BatchSeconds));
                    results.Add((JsonNode)new JsonObject { ["name"] = "cnn_infer", ["model"] = name, ["threads"] = t, ["latency_us_batch1"] = Math.Round(lat * 1e6, 1), ["samples_per_s_batch256"] = Math.Round(256 / thr) });
                }
                continue;
            }
            string label = s.Mode == BenchMode.ResnetTrain ? "resnet_train" : "lenet_train";
            console.MarkupLine($"[grey]{label}, {t} thread(s)…[/]");
            double rate = Threads(t, () => TrainRate(make(), data, s));
            results.Add((JsonNode)new JsonObject { ["name"] = label, ["threads"] = t, ["batch"] = s.Batch, ["samples_per_s"] = Math.Round(rate) });
        }
    }

    private static T Threads<T>(int t, Func<T> f)
    {
        int saved = WorkerPool.Threads;
        WorkerPool.Threads = t;
        try { return f(); }
        finally { WorkerPool.Threads = saved; }
    }

    private static Tensor Batch(Dataset data, int n)
    {
        var x = new Tensor(new Shape(n, data.SampleSize));
        for (int i = 0; i < n; i++) data.GetSample(i % data.Count).CopyTo(x.Data.Slice(i * data.SampleSize, data.SampleSize));
        return x;
    }

    private static double TrainRate(Module model, Dataset data, BenchSettings s)
    {
        model.Train();
        var optimizer = new Sgd(model.Parameters(), 0.01f, momentum: 0.9f);
        var loss = new CrossEntropyLoss();
        var loader = new DataLoader(data, s.Batch, shuffle: true, seed: 1, dropLast: true);
        var batches = loader.GetEnumerator();
        var arena = new TensorArena();
        void Step()
        {
            if (!batches.MoveNext()) { batches = loader.GetEnumerator(); batches.MoveNext(); }
            var batch = batches.Current;
            arena.Reset();
            using var active = arena.Activate();
            optimizer.ZeroGrad();
            var l = loss.Forward(model.Forward(batch.Inputs), batch.Labels);
            l.Backward();
            optimizer.Step();
        }
        var warm = Stopwatch.StartNew();
        for (int i = 0; i < 3 || warm.Elapsed.TotalSeconds < s.TrainWarmupSeconds; i++) Step();
        var rates = new double[Math.Max(1, s.Repeats / 2)];
        int steps = s.Tiny ? 2 : 10;
        for (int r = 0; r < rates.Length; r++)
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < steps; i++) Step();
            rates[r] = steps * (double)s.Batch / Stopwatch.GetElapsedTime(t0).TotalSeconds;
        }
        return Measure.Median(rates);
    }

    // LeNet-5's and ResNet-14's convolutions (28×28 input): name, C, O, H, kernel, padding, stride.
    private static readonly (string Name, int C, int O, int H, int K, int P, int S)[] Shapes =
    [
        ("lenet.conv1 1->6 5x5 28x28", 1, 6, 28, 5, 2, 1),
        ("lenet.conv2 6->16 5x5 14x14", 6, 16, 14, 5, 0, 1),
        ("resnet 16->16 3x3 28x28", 16, 16, 28, 3, 1, 1),
        ("resnet 32->32 3x3 14x14", 32, 32, 14, 3, 1, 1),
        ("resnet 64->64 3x3 7x7", 64, 64, 7, 3, 1, 1),
        ("resnet 16->32 3x3 s2 28x28", 16, 32, 28, 3, 1, 2),
    ];

    private static void Layers(BenchSettings s, JsonArray results, IAnsiConsole console)
    {
        int n = s.Tiny ? 2 : s.Batch;
        foreach (int t in s.Threads)
            foreach (var (name, c, o, h, k, p, st) in Shapes)
            {
                console.MarkupLine($"[grey]conv {name}, {t} thread(s)…[/]");
                var rng = new Random(1);
                var x = Tensor.Normal(new Shape(n, c, h, h), 0, 1, rng);
                var w = Tensor.Normal(new Shape(o, c, k, k), 0, 0.1f, rng);
                var g = Ops.Geometry("bench", n, c, h, h, o, k, k, (st, st), p, (1, 1), 1);
                var y = new float[g.N * g.O * g.P];
                var dy = Tensor.Normal(new Shape(n, o, g.OH, g.OW), 0, 1, rng);
                var dx = new float[x.Length];
                var dw = new float[w.Length];
                double flops = 2.0 * g.Macs;
                double fwd = Threads(t, () => Measure.SecondsPerCall(() => ConvKernels.Forward(in g, x.Data, w.Data, default, y), s.Repeats, 3, s.WarmupSeconds, s.BatchSeconds));
                double bwdData = Threads(t, () => Measure.SecondsPerCall(() => ConvKernels.BackwardData(in g, dy.Data, w.Data, dx), s.Repeats, 3, s.WarmupSeconds, s.BatchSeconds));
                double bwdWeight = Threads(t, () => Measure.SecondsPerCall(() => ConvKernels.BackwardWeight(in g, x.Data, dy.Data, dw), s.Repeats, 3, s.WarmupSeconds, s.BatchSeconds));
                // The GEMM of the same size: [O, K]·[K, N·P], one product.
                var a = new float[o * g.K];
                var b = new float[g.K * g.N * g.P];
                var cc = new float[o * g.N * g.P];
                double gemm = Threads(t, () => Measure.SecondsPerCall(() => Gemm.Sgemm(false, false, o, g.N * g.P, g.K, 1f, a, g.K, b, g.N * g.P, 0f, cc, g.N * g.P), s.Repeats, 3, s.WarmupSeconds, s.BatchSeconds));
                results.Add((JsonNode)new JsonObject
                {
                    ["name"] = "conv", ["layer"] = name, ["threads"] = t, ["batch"] = n,
                    ["forward_gflops"] = Math.Round(flops / fwd / 1e9, 2),
                    ["backward_data_gflops"] = Math.Round(flops / bwdData / 1e9, 2),
                    ["backward_weight_gflops"] = Math.Round(flops / bwdWeight / 1e9, 2),
                    ["gemm_same_size_gflops"] = Math.Round(flops / gemm / 1e9, 2),
                });
            }
    }
}
