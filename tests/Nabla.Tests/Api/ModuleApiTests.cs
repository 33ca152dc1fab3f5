using Nabla.Nn;
using Nabla.Optim;

namespace Nabla.Tests.Api;

/// <summary>Containers, parameter discovery and naming, freezing, parameter groups and editable Sequential.</summary>
public class ModuleApiTests
{
    private sealed class Collections : Module
    {
        public readonly Linear[] Layers = [new(2, 3), new(3, 2)];
        public readonly Dictionary<string, Linear> Heads = new() { ["digits"] = new(2, 10), ["parity"] = new(2, 1) };
        public readonly List<Parameter> Scales = [new(2)];
        public override Tensor Forward(Tensor x) => Heads["digits"].Forward(Layers[1].Forward(Layers[0].Forward(x)) * Scales[0]);
    }

    [Fact]
    public void Arrays_lists_and_dictionaries_of_modules_and_parameters_are_found()
    {
        var names = new Collections().NamedParameters().Select(n => n.Name).ToList();
        // This module's own parameters come first, then its children's (as PyTorch's named_parameters).
        Assert.Equal(
            ["Scales.0", "Layers.0.weight", "Layers.0.bias", "Layers.1.weight", "Layers.1.bias",
             "Heads.digits.weight", "Heads.digits.bias", "Heads.parity.weight", "Heads.parity.bias"],
            names);
    }

    private sealed class Named : Module
    {
        public readonly Linear FC1 = new(2, 2);
        private readonly Linear _hidden = new(2, 2);
        [ParameterName("output")] private readonly Linear last = new(2, 1);
        [ParameterName("embedding")] public Parameter Table { get; } = new(3, 2);
        public override Tensor Forward(Tensor x) => last.Forward(_hidden.Forward(FC1.Forward(x)));
    }

    [Fact]
    public void Parameter_names_keep_the_field_name_as_written_or_the_attributes()
    {
        var names = new Named().NamedParameters().Select(n => n.Name).ToList();
        Assert.Contains("FC1.weight", names); // not fC1
        Assert.Contains("hidden.weight", names); // the private-field underscore is dropped
        Assert.Contains("output.bias", names);
        Assert.Contains("embedding", names);
        Assert.DoesNotContain(names, n => n.StartsWith("last", StringComparison.Ordinal));
    }

    private sealed class WeightsHolder
    {
        public Parameter W = new(2, 2);
    }

    private sealed class HiddenInTuple : Module
    {
        private readonly (Linear A, Linear B) pair = (new Linear(2, 2), new Linear(2, 2));
        public override Tensor Forward(Tensor x) => pair.B.Forward(pair.A.Forward(x));
    }

    private sealed class HiddenInHelper : Module
    {
        private readonly WeightsHolder holder = new();
        public override Tensor Forward(Tensor x) => x.MatMul(holder.W);
    }

    [Fact]
    public void A_parameter_discovery_cannot_see_is_an_error_not_silence()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new HiddenInTuple().Parameters());
        Assert.Contains("HiddenInTuple.pair", e.Message);
        e = Assert.Throws<InvalidOperationException>(() => new HiddenInHelper().Parameters());
        Assert.Contains("holder", e.Message);
        Assert.Contains("WeightsHolder", e.Message);
    }

    private sealed class WithContainers : Module
    {
        public readonly ModuleList Blocks = new(new Linear(2, 2), new Linear(2, 2));
        public readonly ModuleDict Heads = new() { ["a"] = new Linear(2, 1) };
        public override Tensor Forward(Tensor x)
        {
            foreach (var b in Blocks) x = b.Forward(x);
            return Heads["a"].Forward(x);
        }
    }

    [Fact]
    public void ModuleList_and_ModuleDict_name_their_children_as_pytorch()
    {
        var m = new WithContainers();
        Assert.Equal(["Blocks.0.weight", "Blocks.0.bias", "Blocks.1.weight", "Blocks.1.bias", "Heads.a.weight", "Heads.a.bias"],
            m.NamedParameters().Select(n => n.Name).ToArray());
        Assert.Equal([2, 1], m.Forward(Tensor.Ones(2, 2)).Shape.ToArray());
        Assert.Throws<NotSupportedException>(() => m.Blocks.Forward(Tensor.Ones(1, 2)));
        Assert.Throws<ArgumentException>(() => m.Heads["a.b"] = new Linear(1, 1));
    }

    private static Tensor Train(Sequential model, Optimizer optimizer, int steps, Action<int>? before = null)
    {
        var x = Tensor.Randn([8, 3], seed: 1);
        var y = Tensor.Randn([8, 2], seed: 2);
        Tensor loss = Tensor.Scalar(0);
        for (int i = 0; i < steps; i++)
        {
            before?.Invoke(i);
            optimizer.ZeroGrad();
            loss = Ops.MseLoss(model.Forward(x), y);
            loss.Backward();
            optimizer.Step();
        }
        return loss;
    }

    [Fact]
    public void A_layer_frozen_mid_training_does_not_move_even_with_momentum_and_weight_decay()
    {
        var model = new Sequential(new Linear(3, 4), new Tanh(), new Linear(4, 2));
        var optimizer = new Sgd(model.Parameters(), learningRate: 0.1f, momentum: 0.9f, weightDecay: 0.01f);
        float[]? frozenAt = null;
        float[]? headBefore = null;
        Train(model, optimizer, 10, i =>
        {
            if (i != 5) return;
            model.Freeze("0"); // after 5 steps: its gradient buffer exists (zeroed in place) and momentum is non-zero
            frozenAt = model[0].Parameters()[0].ToArray();
            headBefore = model[2].Parameters()[0].ToArray();
        });
        Assert.Equal(frozenAt, model[0].Parameters()[0].ToArray());
        Assert.NotEqual(headBefore, model[2].Parameters()[0].ToArray());
        Assert.Equal(["0.weight", "0.bias"], model.FrozenParameterNames());
        Assert.Equal(2, model.TrainableParameters().Count);
        model.Unfreeze();
        Assert.Empty(model.FrozenParameterNames());
        var e = Assert.Throws<ArgumentException>(() => model.Freeze("body"));
        Assert.Contains("0.weight", e.Message);
    }

    [Fact]
    public void Freeze_by_prefix_does_not_catch_longer_names()
    {
        var layers = Enumerable.Range(0, 11).Select(_ => (Module)new Linear(1, 1)).ToArray();
        var model = new Sequential(layers);
        model.Freeze("1");
        Assert.Equal(["1.weight", "1.bias"], model.FrozenParameterNames());
        model[10].Freeze();
        Assert.Equal(4, model.FrozenParameterNames().Count);
    }

    [Fact]
    public void Parameter_groups_give_the_body_a_smaller_learning_rate_and_follow_schedules()
    {
        var body = new Parameter(Tensor.Zeros(2));
        var head = new Parameter(Tensor.Zeros(2));
        var groups = new ParameterGroups { { [body], 0.01f }, { [head] } };
        var optimizer = new Sgd(groups, learningRate: 0.1f);
        Assert.Equal(2, optimizer.Parameters.Count);
        void Step()
        {
            body.Grad = Tensor.Ones(2);
            head.Grad = Tensor.Ones(2);
            optimizer.Step();
        }
        Step();
        Assert.Equal([-0.01f, -0.01f], body.ToArray());
        Assert.Equal([-0.1f, -0.1f], head.ToArray());
        Assert.Equal(0.1f, optimizer.LearningRate); // restored after the step
        optimizer.LearningRate = 0.05f; // a schedule halves the rate: both groups halve
        Step();
        Assert.Equal(-0.015f, body[0].Item(), 6);
        Assert.Equal(-0.15f, head[0].Item(), 6);
        Assert.Equal(0.005f, optimizer.LearningRateOf(0), 6);
        Assert.Throws<ArgumentException>(() => new Sgd(new ParameterGroups { { [body] }, { [body], 0.1f } }, 0.1f));
    }

    [Fact]
    public void Sequential_can_be_edited()
    {
        var model = new Sequential(new Linear(4, 3), new ReLU(), new Linear(3, 2));
        var oldHead = model.Replace(-1, new Linear(3, 5));
        Assert.IsType<Linear>(oldHead);
        Assert.Equal([1, 5], model.Forward(Tensor.Ones(1, 4)).Shape.ToArray());
        model.Insert(2, new Dropout(0.1f));
        Assert.Equal(4, model.Count);
        Assert.IsType<Dropout>(model[2]);
        Assert.Contains("3.weight", model.StateDict().Keys);
        model.RemoveAt(2);
        model[1] = new Tanh();
        Assert.IsType<Tanh>(model[1]);
        Assert.Contains("2.weight", model.StateDict().Keys);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.RemoveAt(3));
    }
}
