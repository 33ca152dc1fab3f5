using Nabla.Autograd;

namespace Nabla.Tests.Core;

/// <summary>Generic theories over <see cref="OpRegistry"/>: every op's backward rule against central differences, and its graph behaviour.</summary>
public class OpGradientTests
{
    [Theory]
    [MemberData(nameof(OpRegistry.Names), MemberType = typeof(OpRegistry))]
    public void Backward_matches_central_differences(string op)
    {
        var c = OpRegistry.Get(op);
        var result = GradCheck.Check(c.F, c.Inputs());
        Assert.True(result.Passed, $"{op}: {result}");
    }

    [Theory]
    [MemberData(nameof(OpRegistry.Names), MemberType = typeof(OpRegistry))]
    public void Gradients_have_the_input_shapes_and_inputs_are_not_modified(string op)
    {
        var c = OpRegistry.Get(op);
        var inputs = c.Inputs();
        var before = inputs.Select(x => x.ToArray()).ToArray();
        foreach (var x in inputs) x.RequiresGrad = true;
        var y = c.F(inputs);
        Assert.True(y.RequiresGrad);
        y.Backward(Tensor.Ones(y.Shape.ToArray()));
        for (int i = 0; i < inputs.Length; i++)
        {
            Assert.Equal(before[i], inputs[i].ToArray());
            if (inputs[i].Length == 0) continue;
            Assert.NotNull(inputs[i].Grad);
            Assert.Equal(inputs[i].Shape, inputs[i].Grad!.Shape);
            Assert.All(inputs[i].Grad!.ToArray(), g => Assert.True(float.IsFinite(g)));
            if (c.ZeroGradient) Assert.All(inputs[i].Grad!.ToArray(), g => Assert.Equal(0f, g));
        }
    }

    [Theory]
    [MemberData(nameof(OpRegistry.Names), MemberType = typeof(OpRegistry))]
    public void NoGrad_gives_the_same_values_and_records_nothing(string op)
    {
        var c = OpRegistry.Get(op);
        var inputs = c.Inputs();
        foreach (var x in inputs) x.RequiresGrad = true;
        var recorded = c.F(inputs);
        Tensor plain;
        using (GradMode.NoGrad()) plain = c.F(inputs);
        Assert.False(plain.RequiresGrad);
        Assert.Null(plain.GradFn);
        Assert.True(plain.IsLeaf);
        Assert.Equal(recorded.Shape, plain.Shape);
        Assert.Equal(recorded.ToArray(), plain.ToArray());
    }
}
