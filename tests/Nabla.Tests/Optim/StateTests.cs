using Nabla.Nn;
using Nabla.Optim;
using Nabla.Serialization;

namespace Nabla.Tests.Optim;

/// <summary>
/// An optimiser interrupted after some steps and restored — from <see cref="Optimizer.StateDict"/>
/// or through a model file on disk — continues exactly as one that never stopped.
/// </summary>
public class StateTests
{
    private sealed class TinyNet : Module
    {
        public TinyNet(int seed)
        {
            var rng = new Random(seed);
            fc1 = new Linear(3, 4, rng: rng);
            fc2 = new Linear(4, 2, rng: rng);
        }

        private readonly Linear fc1;
        private readonly Linear fc2;

        public override Tensor Forward(Tensor input) => fc2.Forward(Ops.Tanh(fc1.Forward(input)));
    }

    private static readonly Tensor X = Tensor.Randn([8, 3], seed: 5);
    private static readonly Tensor Y = Tensor.Randn([8, 2], seed: 6);

    private static void TrainSteps(Module model, Optimizer opt, int from, int count)
    {
        for (int s = from; s < from + count; s++)
        {
            // A different minibatch per step, so that the state really carries history.
            var x = Ops.SliceRows(X, s % 4 * 2, 2);
            var y = Ops.SliceRows(Y, s % 4 * 2, 2);
            opt.ZeroGrad();
            opt.BeforeForward();
            Ops.MseLoss(model.Forward(x), y).Backward();
            opt.Step();
        }
    }

    private static float[] Weights(Module model) => model.Parameters().SelectMany(p => p.ToArray()).ToArray();

    private static Optimizer Create(string name, Module model) => name switch
    {
        "rmsprop-centered" => new RmsProp(model.Parameters(), 0.01f, momentum: 0.9f, centered: true),
        "adam-amsgrad" => new Adam(model.Parameters(), 0.01f, amsGrad: true, weightDecay: 0.01f),
        "adagrad-decay" => new Adagrad(model.Parameters(), 0.05f, learningRateDecay: 0.1f, initialAccumulatorValue: 0.1f),
        _ => Optimizers.Create(name, model.Parameters(), 0.05f),
    };

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var n in Optimizers.Names) data.Add(n);
        data.Add("rmsprop-centered");
        data.Add("adam-amsgrad");
        data.Add("adagrad-decay");
        return data;
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void RestoredFromStateDict_ContinuesIdentically(string name)
    {
        var straight = new TinyNet(1);
        var straightOpt = Create(name, straight);
        TrainSteps(straight, straightOpt, 0, 7);

        var first = new TinyNet(1);
        var firstOpt = Create(name, first);
        TrainSteps(first, firstOpt, 0, 3);
        var weights = first.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone());
        var state = firstOpt.StateDict();

        var resumed = new TinyNet(99);          // different initial weights, all overwritten
        var resumedOpt = Create(name, resumed);
        resumed.LoadStateDict(weights);
        resumedOpt.LoadStateDict(state);
        Assert.Equal(3, resumedOpt.StepCount);
        TrainSteps(resumed, resumedOpt, 3, 4);

        Assert.Equal(Weights(straight), Weights(resumed));
        Assert.NotEqual(Weights(first), Weights(resumed));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void RestoredThroughAModelFile_ContinuesIdentically(string name)
    {
        string path = Path.Combine(Path.GetTempPath(), $"nabla-optim-{name}-{Guid.NewGuid():N}.safetensors");
        try
        {
            var straight = new TinyNet(2);
            var straightOpt = Create(name, straight);
            TrainSteps(straight, straightOpt, 0, 6);

            var first = new TinyNet(2);
            var firstOpt = Create(name, first);
            TrainSteps(first, firstOpt, 0, 4);
            firstOpt.LearningRate *= 0.5f;
            straightOpt.LearningRate *= 0.5f;  // (not used after the save: checks the rate travels)
            ModelFile.Save(path, first, firstOpt);

            var resumed = new TinyNet(98);
            var resumedOpt = Create(name, resumed);
            ModelFile.LoadWeights(path, resumed, resumedOpt);
            Assert.Equal(firstOpt.LearningRate, resumedOpt.LearningRate);
            resumedOpt.LearningRate *= 2f;
            TrainSteps(resumed, resumedOpt, 4, 2);

            Assert.Equal(Weights(straight), Weights(resumed));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Accelerated_SavedBetweenLookaheadAndStep_ResumesTheSameStep()
    {
        var straight = new TinyNet(3);
        var straightOpt = new NesterovAccelerated(straight.Parameters(), 0.05f);
        TrainSteps(straight, straightOpt, 0, 5);

        var first = new TinyNet(3);
        var firstOpt = new NesterovAccelerated(first.Parameters(), 0.05f);
        TrainSteps(first, firstOpt, 0, 3);
        firstOpt.PrepareLookahead();           // weights now at v⁽⁴⁾
        var weights = first.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone());
        var state = firstOpt.StateDict();

        var resumed = new TinyNet(97);
        var resumedOpt = new NesterovAccelerated(resumed.Parameters(), 0.05f);
        resumed.LoadStateDict(weights);
        resumedOpt.LoadStateDict(state);
        Assert.True(resumedOpt.IsLookaheadPrepared);
        TrainSteps(resumed, resumedOpt, 3, 2);  // its BeforeForward is a no-op for step 4

        Assert.Equal(Weights(straight), Weights(resumed));
    }
}
