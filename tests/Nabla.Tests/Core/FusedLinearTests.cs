using Nabla.Nn;

namespace Nabla.Tests.Core;

public class FusedLinearTests
{
    [Theory]
    [InlineData(Activation.Relu)]
    [InlineData(Activation.Sigmoid)]
    [InlineData(Activation.Tanh)]
    public void Fused_linear_activation_matches_the_two_separate_ops(Activation activation)
    {
        var x = Tensor.Randn([7, 5], seed: 1);
        x.Data[3] = 0f;
        var w = Tensor.Randn([4, 5], seed: 2);
        var b = Tensor.Randn([4], seed: 3);
        // Force an exact zero pre-activation so ReLU's ½ subgradient is exercised.
        w.Data.Slice(0, 5).Clear();
        b.Data[0] = 0f;
        Tensor Separate(Tensor z) => activation switch
        {
            Activation.Relu => z.Relu(),
            Activation.Sigmoid => z.Sigmoid(),
            _ => z.Tanh(),
        };
        var (fx, fw, fb) = (x.Clone(), w.Clone(), b.Clone());
        var (sx, sw, sb) = (x.Clone(), w.Clone(), b.Clone());
        foreach (var t in new[] { fx, fw, fb, sx, sw, sb }) t.RequiresGrad = true;
        var upstream = Tensor.Randn([7, 4], seed: 4);

        var fused = Ops.Linear(fx, fw, fb, activation);
        var separate = Separate(Ops.Linear(sx, sw, sb));
        fused.Backward(upstream);
        separate.Backward(upstream);

        Assert.Equal(separate.ToArray(), fused.ToArray());
        foreach (var (f, s) in new[] { (fx, sx), (fw, sw), (fb, sb) })
            Assert.Equal(s.Grad!.ToArray(), f.Grad!.ToArray());
    }

    [Fact]
    public void Sequential_fuses_linear_and_activation_without_changing_results()
    {
        var rng = new Random(4);
        var model = new Sequential(new Linear(5, 6, rng: rng), new ReLU(), new Linear(6, 3, rng: rng), new Tanh());
        var x = Tensor.Randn([8, 5], seed: 5);
        var viaSequential = model.Forward(x);
        Assert.Equal("Linear+Tanh", viaSequential.GradFn);
        var byHand = model[3].Forward(model[2].Forward(model[1].Forward(model[0].Forward(x))));
        Assert.Equal(byHand.ToArray(), viaSequential.ToArray());
    }
}
