namespace Nabla.Cli.Bench;

/// <summary>What <c>nabla bench</c> runs.</summary>
public enum BenchMode
{
    /// <summary>MLP training and inference, then GEMM.</summary>
    All,
    /// <summary>GEMM only.</summary>
    Gemm,
    /// <summary>MLP training and inference only.</summary>
    Mlp,
    /// <summary>MLP training only, so that the peak working set is that of a training run alone.</summary>
    TrainOnly,
    /// <summary>LSTM classifier training (Fashion-MNIST rows as 28 steps).</summary>
    LstmTrain,
    /// <summary>GRU classifier training (Fashion-MNIST rows as 28 steps).</summary>
    GruTrain,
    /// <summary>CTC loss and gradient, batch 32, 100 steps, 11 classes.</summary>
    Ctc,
}

/// <summary>The parsed options of <c>nabla bench</c>, with the run lengths they imply.</summary>
public sealed record BenchSettings
{
    /// <summary>Thread counts to run every workload at (<c>--threads 1,2</c>).</summary>
    public IReadOnlyList<int> Threads { get; init; } = [1, 2];

    /// <summary>MNIST-style folder for the MLP; null: synthetic data (tiny sizes) or the default folder.</summary>
    public string? DataDir { get; init; }

    /// <summary>A short run: fewer repeats and steps (figures are noisier).</summary>
    public bool Quick { get; init; }

    /// <summary>Tiny problem sizes and synthetic data (for tests; the figures mean nothing).</summary>
    public bool Tiny { get; init; }

    /// <summary>Which workloads to run.</summary>
    public BenchMode Mode { get; init; } = BenchMode.All;

    /// <summary>The optimiser of the training benchmark: "adam" or "sgd" (momentum 0.9).</summary>
    public string Optimizer { get; init; } = MlpWorkload.DefaultOptimizer;

    /// <summary>Training batch size.</summary>
    public int Batch => Tiny ? 16 : 128;

    /// <summary>
    /// Timed repeats of each figure; the median is reported. Many short repeats rather than a few
    /// long ones: on a shared machine a repeat that another process pre-empted is an outlier the
    /// median drops, while a long repeat always absorbs some of the other process's time.
    /// </summary>
    public int Repeats => Tiny ? 3 : Quick ? 5 : 15;

    /// <summary>Minimum warm-up calls of a timed call (tier-up takes a few hundred).</summary>
    public int WarmupCalls => Tiny ? 5 : Quick ? 100 : 300;

    /// <summary>Minimum warm-up time of a timed call.</summary>
    public double WarmupSeconds => Tiny ? 0 : Quick ? 0.1 : 0.3;

    /// <summary>Target length of one timed batch of calls.</summary>
    public double BatchSeconds => Tiny ? 0.001 : 0.02;

    /// <summary>Training steps before timing.</summary>
    public int TrainWarmupSteps => Tiny ? 2 : Quick ? 30 : 100;

    /// <summary>
    /// Minimum warm-up time of training: tier-1 code for every method of the step (and on-stack
    /// replacement of its loops) arrives only after a few hundred milliseconds; a run that timed
    /// the first second measured about half the steady-state speed.
    /// </summary>
    public double TrainWarmupSeconds => Tiny ? 0 : Quick ? 1.0 : 2.0;

    /// <summary>Training steps per timed repeat.</summary>
    public int TrainStepsPerRepeat => Tiny ? 3 : Quick ? 25 : 50;

    /// <summary>Training steps of the run that counts allocated bytes and collections.</summary>
    public int AllocSteps => Tiny ? 3 : Quick ? 50 : 200;

    /// <summary>Inference batch for throughput.</summary>
    public int InferBatch => Tiny ? 32 : 1000;
}
