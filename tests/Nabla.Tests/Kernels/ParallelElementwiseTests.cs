using System.Numerics.Tensors;
using Nabla.Data;
using Nabla.Kernels;
using Nabla.Nn;
using Nabla.Optim;

namespace Nabla.Tests.Kernels;

/// <summary>
/// The elementwise operations split over threads give exactly TensorPrimitives' results (they are
/// elementwise, so the split may change no bit), whole optimiser steps and batch gathering agree bit
/// for bit between one and two threads, and short spans are not split.
/// </summary>
[Trait("Category", "Kernels")]
[Collection(nameof(WorkerPoolSettingsCollection))]
public class ParallelElementwiseTests
{
    // Long enough to be split into several chunks with a ragged last one.
    private const int N = 3 * ParallelElementwise.MinChunk + 1000;

    private static float[] Random(int seed, int n, float lo = -2f, float hi = 2f)
    {
        var r = new Random(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = lo + (hi - lo) * (float)r.NextDouble();
        return a;
    }

    private static T WithThreads<T>(int threads, Func<T> f)
    {
        int saved = WorkerPool.Threads;
        WorkerPool.Threads = threads;
        try { return f(); }
        finally { WorkerPool.Threads = saved; }
    }

    public static TheoryData<string> Ops => new() { "MultiplyAdd", "Multiply", "MultiplyScalar", "Add", "AddScalar", "Subtract", "Sqrt", "Divide", "DivideScalar", "Lerp", "MaxScalar", "Max" };

    [Theory]
    [MemberData(nameof(Ops))]
    public void EveryOperationEqualsTensorPrimitivesWhenSplit(string op)
    {
        var x = Random(1, N, 0.1f, 3f);
        var y = Random(2, N, 0.1f, 3f);
        var expected = new float[N];
        var actual = new float[N];
        void Both(Action<float[]> reference, Action<float[]> split)
        {
            reference(expected);
            WithThreads(2, () => { split(actual); return 0; });
        }
        switch (op)
        {
            case "MultiplyAdd": Both(d => TensorPrimitives.MultiplyAdd(x, 0.7f, y, d), d => ParallelElementwise.MultiplyAdd(x, 0.7f, y, d)); break;
            case "Multiply": Both(d => TensorPrimitives.Multiply(x, y, d), d => ParallelElementwise.Multiply(x, y, d)); break;
            case "MultiplyScalar": Both(d => TensorPrimitives.Multiply(x, 0.3f, d), d => ParallelElementwise.Multiply(x, 0.3f, d)); break;
            case "Add": Both(d => TensorPrimitives.Add(x, y, d), d => ParallelElementwise.Add(x, y, d)); break;
            case "AddScalar": Both(d => TensorPrimitives.Add(x, 1e-8f, d), d => ParallelElementwise.Add(x, 1e-8f, d)); break;
            case "Subtract": Both(d => TensorPrimitives.Subtract(x, y, d), d => ParallelElementwise.Subtract(x, y, d)); break;
            case "Sqrt": Both(d => TensorPrimitives.Sqrt(x, d), d => ParallelElementwise.Sqrt(x, d)); break;
            case "Divide": Both(d => TensorPrimitives.Divide(x, y, d), d => ParallelElementwise.Divide(x, y, d)); break;
            case "DivideScalar": Both(d => TensorPrimitives.Divide(x, 3f, d), d => ParallelElementwise.Divide(x, 3f, d)); break;
            case "Lerp": Both(d => TensorPrimitives.Lerp(x, y, 0.1f, d), d => ParallelElementwise.Lerp(x, y, 0.1f, d)); break;
            case "MaxScalar": Both(d => TensorPrimitives.Max(x, 1.5f, d), d => ParallelElementwise.Max(x, 1.5f, d)); break;
            case "Max": Both(d => TensorPrimitives.Max(x, y, d), d => ParallelElementwise.Max(x, y, d)); break;
            default: throw new ArgumentException(op);
        }
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void InPlaceUseAliasesSafely()
    {
        var x = Random(3, N);
        var y = Random(4, N);
        var expected = (float[])x.Clone();
        TensorPrimitives.MultiplyAdd(expected, 0.9f, y, expected);
        WithThreads(2, () => { ParallelElementwise.MultiplyAdd(x, 0.9f, y, x); return 0; });
        Assert.Equal(expected, x);
    }

    [Fact]
    public void SplitsLongSpansOnlyWhenThereAreThreads()
    {
        Assert.Equal(1, WithThreads(2, () => ParallelElementwise.ChunkCount(ParallelElementwise.MinChunk, out _)));
        Assert.Equal(1, WithThreads(1, () => ParallelElementwise.ChunkCount(N, out _)));
        int chunks = WithThreads(2, () => ParallelElementwise.ChunkCount(N, out int chunk) is var c && chunk * c >= N && chunk % 64 == 0 ? c : -1);
        Assert.Equal(2, chunks);
    }

    [Fact]
    public void LengthMismatchNamesTheOperation()
    {
        var e = Assert.Throws<ArgumentException>(() => ParallelElementwise.Add(new float[3], new float[4], new float[3]));
        Assert.Contains("Add", e.Message);
    }

    // The update of every built-in optimiser on a parameter long enough to be split is bit-identical
    // on one and two threads, over several steps (state buffers included).
    [Theory]
    [InlineData("sgd")]
    [InlineData("momentum")]
    [InlineData("nesterov")]
    [InlineData("adam")]
    [InlineData("adamw")]
    [InlineData("amsgrad")]
    [InlineData("rmsprop")]
    [InlineData("rmsprop-centered")]
    [InlineData("adagrad")]
    public void OptimizerStepsAreIdenticalOnOneAndTwoThreads(string name)
    {
        float[] Run(int threads) => WithThreads(threads, () =>
        {
            var p = new Parameter(new Tensor(Random(5, N), new Shape(N)));
            Optimizer opt = name switch
            {
                "sgd" => new Sgd([p], 0.1f, weightDecay: 0.01f),
                "momentum" => new Sgd([p], 0.1f, momentum: 0.9f),
                "nesterov" => new Sgd([p], 0.1f, momentum: 0.9f, nesterov: true),
                "adam" => new Adam([p], 0.01f, weightDecay: 0.01f),
                "adamw" => new AdamW([p], 0.01f, weightDecay: 0.01f),
                "amsgrad" => new Adam([p], 0.01f, amsGrad: true),
                "rmsprop" => new RmsProp([p], 0.01f, momentum: 0.5f),
                "rmsprop-centered" => new RmsProp([p], 0.01f, centered: true),
                "adagrad" => new Adagrad([p], 0.1f),
                _ => throw new ArgumentException(name),
            };
            for (int step = 0; step < 3; step++)
            {
                p.Grad = new Tensor(Random(10 + step, N), new Shape(N));
                opt.Step();
            }
            return p.Data.ToArray();
        });
        Assert.Equal(Run(1), Run(2));
    }

    // Adam and SGD update all parameters in one loop split in equal shares of their total length (cuts fall
    // inside parameters and across them). On 1 and 2 threads that must give the bits of one Update per
    // parameter: parameters of many lengths, a learning-rate group, a frozen one, one without a gradient.
    [Theory]
    [InlineData("adam")]
    [InlineData("adamw-no-decay")]
    [InlineData("momentum")]
    [InlineData("sgd")]
    public void OneLoopOverAllParametersEqualsOneUpdatePerParameter(string name)
    {
        int[] lengths = [5, 40_000, 1, 70_001, 129, 33_000, 64, 17];
        float[][] Run(int threads, bool perParameter) => WithThreads(threads, () =>
        {
            var ps = lengths.Select((n, i) => new Parameter(new Tensor(Random(100 + i, n), new Shape(n)))).ToArray();
            ps[2].RequiresGrad = false;
            var groups = new ParameterGroups { { ps[..3], 0.25f }, { ps[3..] } };
            Optimizer opt = name switch
            {
                "adam" => new Adam(groups, 0.01f, weightDecay: 0.01f),
                "adamw-no-decay" => new AdamW(groups, 0.01f, weightDecay: 0f),
                "momentum" => new Sgd(groups, 0.1f, momentum: 0.9f),
                "sgd" => new Sgd(groups, 0.1f),
                _ => throw new ArgumentException(name),
            };
            opt.PerParameterSteps = perParameter;
            for (int step = 0; step < 3; step++)
            {
                for (int i = 0; i < ps.Length; i++)
                    ps[i].Grad = i == 6 ? null : new Tensor(Random(200 + 10 * step + i, lengths[i]), new Shape(lengths[i]));
                opt.Step();
            }
            return ps.Select(p => p.Data.ToArray()).ToArray();
        });
        var expected = Run(1, perParameter: true);
        Assert.Equal(Random(102, 1), expected[2]); // frozen: unchanged
        Assert.Equal(Random(106, 64), expected[6]); // no gradient: unchanged
        Assert.Equal(expected, Run(1, perParameter: false));
        Assert.Equal(expected, Run(2, perParameter: false));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AGradientOfTheWrongLengthIsRefusedOnBothPaths(bool perParameter)
    {
        var ok = new Parameter(Tensor.Zeros(3)) { Grad = Tensor.Ones(3) };
        var p = new Parameter(Tensor.Zeros(8)) { Grad = Tensor.Ones(5) };
        var opt = new Adam([ok, p], 0.01f) { PerParameterSteps = perParameter };
        Assert.Throws<ArgumentException>(() => opt.Step());
        Assert.Equal(new float[8], p.Data.ToArray());
        // Once mended, the next step (Adam's second: m̂ = 0.1/0.19, v̂ = 0.001/0.001999 for a first gradient of 1)
        // moves each parameter once, by 0.01·m̂/√v̂; nothing is left over from the failed step. The per-parameter
        // path had already moved `ok` by the learning rate before it reached `p`.
        float second = (float)(0.01 * (0.1 / 0.19) / Math.Sqrt(0.001 / 0.001999));
        p.Grad = Tensor.Ones(8);
        opt.Step();
        Assert.All(p.Data.ToArray(), v => Assert.Equal(-second, v, 1e-5f));
        Assert.All(ok.Data.ToArray(), v => Assert.Equal(perParameter ? -0.02f : -second, v, 1e-5f));
    }

    [Fact]
    public void ZeroGradClearsEveryGradientOnTwoThreads()
    {
        int[] lengths = [3, 50_000, 70_001, 7];
        var ps = lengths.Select(n => new Parameter(Tensor.Zeros(n))).ToArray();
        foreach (var p in ps) p.Grad = new Tensor(Random(p.Length, p.Length), new Shape(p.Length));
        var opt = new Sgd(ps, 0.1f);
        WithThreads(2, () => { opt.ZeroGrad(); return 0; });
        foreach (var p in ps) Assert.All(p.Grad!.Data.ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void BatchesOfByteDataAreTheSameOnOneAndTwoThreads()
    {
        const int samples = 300, size = 28 * 28;
        var r = new Random(7);
        var bytes = new byte[samples * size];
        r.NextBytes(bytes);
        var table = new float[256];
        for (int v = 0; v < 256; v++) table[v] = v / 255f;
        var labels = Enumerable.Range(0, samples).Select(i => i % 10).ToArray();
        var ds = Dataset.FromBytes(bytes, table, [1, 28, 28], labels, 10);
        float[][] Batches(int threads) => WithThreads(threads, () =>
            new DataLoader(ds, batchSize: 128, shuffle: true, seed: 3).Select(b => b.Inputs.Data.ToArray()).ToArray());
        var one = Batches(1);
        var two = Batches(2);
        Assert.Equal(3, one.Length);
        for (int b = 0; b < one.Length; b++) Assert.Equal(one[b], two[b]);
        // And the values are the table's: the first sample of an unshuffled loader is bytes[0..784).
        var first = new DataLoader(ds, batchSize: 128).First().Inputs.Data;
        for (int i = 0; i < size; i++) Assert.Equal(bytes[i] / 255f, first[i]);
    }
}
