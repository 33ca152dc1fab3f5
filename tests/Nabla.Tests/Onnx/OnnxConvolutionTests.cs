using Nabla.Autograd;
using Nabla.Models;
using Nabla.Nn;
using static Nabla.Tests.Onnx.OnnxTestSupport;

namespace Nabla.Tests.Onnx;

/// <summary>Convolution, pooling, upsampling, batch-norm layers and the zoo's image models in ONNX Runtime.</summary>
public class OnnxConvolutionTests
{
    private static readonly Dictionary<string, Func<(Module Model, Func<int, Tensor> Input)>> Cases = new()
    {
        ["conv2d"] = () => (new Conv2d(3, 4, 3, rng: new Random(1)), Normal(1, 3, 7, 6)),
        ["conv2d-stride-pad-dilation-rect"] = () => (new Conv2d(2, 3, (3, 2), (2, 1), (1, 2), (1, 2), rng: new Random(2)), Normal(2, 2, 8, 9)),
        ["conv2d-groups-no-bias"] = () => (new Conv2d(4, 6, 3, padding: 1, groups: 2, bias: false, rng: new Random(3)), Normal(3, 4, 5, 5)),
        ["conv2d-same-even-kernel"] = () => (new Conv2d(2, 3, 4, padding: Padding.Same, rng: new Random(4)), Normal(4, 2, 6, 7)),
        ["conv2d-full"] = () => (new Conv2d(2, 2, 3, padding: Padding.Full, dilation: 2, rng: new Random(5)), Normal(5, 2, 5, 5)),
        ["conv1d-same-groups"] = () => (new Conv1d(4, 2, 3, padding: Padding.Same, groups: 2, rng: new Random(6)), Normal(6, 4, 9)),
        ["conv1d-stride-pad"] = () => (new Conv1d(3, 5, 4, stride: 2, padding: 1, dilation: 1, rng: new Random(7)), Normal(7, 3, 11)),
        ["conv-transpose2d"] = () => (new ConvTranspose2d(2, 4, 3, stride: 2, padding: 1, outputPadding: 1, groups: 2, rng: new Random(8)), Normal(8, 2, 3, 4)),
        ["conv-transpose2d-dilation-no-bias"] = () => (new ConvTranspose2d(3, 2, 2, stride: 1, bias: false, dilation: 2, rng: new Random(9)), Normal(9, 3, 4, 4)),
        ["max-pool"] = () => (new MaxPool2d(2), Normal(10, 2, 6, 8)),
        ["max-pool-pad-ceil"] = () => (new MaxPool2d(3, 2, 1, ceilMode: true), Normal(11, 2, 5, 6)),
        ["avg-pool-include-pad"] = () => (new AvgPool2d(3, 2, 1), Normal(12, 2, 5, 6)),
        ["avg-pool-exclude-pad-ceil"] = () => (new AvgPool2d(3, 2, 1, ceilMode: true, countIncludePad: false), Normal(13, 2, 6, 7)),
        ["adaptive-avg-pool-even"] = () => (new AdaptiveAvgPool2d((2, 3)), Normal(14, 2, 4, 6)),
        ["adaptive-avg-pool-uneven"] = () => (new AdaptiveAvgPool2d((2, 3)), Normal(15, 2, 5, 7)),
        ["adaptive-avg-pool-global"] = () => (new AdaptiveAvgPool2d(1), Normal(16, 3, 5, 4)),
        ["global-avg-pool"] = () => (new GlobalAvgPool2d(), Normal(17, 3, 4, 5)),
        ["upsample-nearest-2"] = () => (new Upsample(2f), Normal(18, 2, 3, 4)),
        ["upsample-nearest-size"] = () => (new Upsample((5, 7)), Normal(19, 2, 3, 4)),
        ["upsample-nearest-1.5"] = () => (new Upsample(1.5f), Normal(20, 1, 4, 5)),
        ["upsample-bilinear-2"] = () => (new Upsample(2f, UpsampleMode.Bilinear), Normal(21, 2, 3, 4)),
        ["upsample-bilinear-size"] = () => (new Upsample((7, 3), UpsampleMode.Bilinear), Normal(22, 2, 4, 5)),
        ["dropout2d"] = () => (new Sequential(new Dropout2d(0.4f), new Conv2d(2, 2, 1, rng: new Random(23))), Normal(23, 2, 3, 3)),
        ["batch-norm2d"] = () => (Trained(new BatchNorm2d(3), Normal(24, 3, 4, 4)), Normal(25, 3, 4, 4)),
        ["batch-norm1d-features"] = () => (Trained(new BatchNorm1d(5, eps: 1e-3f), Normal(26, 5)), Normal(27, 5)),
        ["batch-norm1d-sequence-not-affine"] = () => (Trained(new BatchNorm1d(3, affine: false), Normal(28, 3, 6)), Normal(29, 3, 6)),
        ["batch-norm2d-batch-statistics"] = () => (new BatchNorm2d(2, trackRunningStats: false), Normal(30, 2, 3, 3)),
        ["mlp"] = () => (new Mlp(12, [8, 6], 3, "leaky-relu", dropout: 0.2f, rng: new Random(31)), Normal(31, 3, 2, 2)),
        ["lenet5-images"] = () => (new LeNet5(1, 10, 28, rng: new Random(32)), Normal(32, 1, 28, 28)),
        ["lenet5-flat-rgb-32"] = () => (new LeNet5(3, 5, 32, rng: new Random(33)), Normal(33, 3 * 32 * 32)),
        ["basic-block-downsample"] = () => (Trained(new BasicBlock(2, 4, 2, new Random(34)), Normal(34, 2, 6, 6)), Normal(35, 2, 6, 6)),
        ["resnet"] = () => (Trained(new ResNet(1, 10, 12, blocks: 1, width: 4, rng: new Random(36)), Normal(36, 1, 12, 12)), Normal(37, 1, 12, 12)),
        ["resnet-flat-2-blocks"] = () => (Trained(new ResNet(2, 3, 8, blocks: 2, width: 2, rng: new Random(38)), Normal(38, 2 * 8 * 8)), Normal(39, 2 * 8 * 8)),
    };

    public static TheoryData<string> Names => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(Names))]
    public void Layers_and_models_match_onnx_runtime_at_other_batch_sizes(string name)
    {
        var (model, input) = Cases[name]();
        AssertRoundTrip(model, input, sampleBatch: 2, batches: [1, 3]);
    }

    [SkippableFact]
    public void Convolution_exports_pass_the_onnx_checker() =>
        AssertCheckerAccepts(Cases.Select(kv =>
        {
            var (model, input) = kv.Value();
            return (kv.Key, model, input(2));
        }));

    [Fact]
    public void Batch_norm_exports_the_running_statistics_under_their_state_dict_names()
    {
        var model = new Sequential(new Conv2d(1, 2, 3, rng: new Random(1)), Trained(new BatchNorm2d(2), Normal(2, 2, 4, 4)));
        var proto = global::Onnx.ModelProto.Parser.ParseFrom(Nabla.Onnx.OnnxExporter.ExportToBytes(model, Tensor.Zeros(1, 1, 6, 6)));
        Assert.Equal(["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var"], proto.Graph.Initializer.Select(i => i.Name));
        Assert.Equal(["Conv", "BatchNormalization"], proto.Graph.Node.Select(n => n.OpType));
    }

    /// <summary>An encoder–decoder step of the notes' segmentation networks: pool with indices, convolve, unpool.</summary>
    private sealed class PoolUnpool(int channels, MaxPool2d pool, MaxUnpool2d unpool, (int H, int W)? outputSize) : Module
    {
        public MaxPool2d Pool { get; } = pool;
        public Conv2d Conv { get; } = new(channels, channels, 3, padding: 1, rng: new Random(1));
        public MaxUnpool2d Unpool { get; } = unpool;
        public (int H, int W)? OutputSize { get; } = outputSize;

        public override Tensor Forward(Tensor input)
        {
            var (y, indices) = Pool.ForwardWithIndices(input);
            return Unpool.Forward(Conv.Forward(y), indices, OutputSize);
        }
    }

    [Theory]
    [InlineData(6, 8, 2, 2, 0, false)]
    [InlineData(7, 9, 2, 2, 0, true)]
    [InlineData(5, 5, 3, 2, 1, false)]
    [InlineData(5, 6, 3, 2, 1, true)]
    public void Max_unpooling_with_the_pooling_indices_matches(int h, int w, int kernel, int stride, int padding, bool givenSize)
    {
        Nabla.Onnx.OnnxExporter.Register<PoolUnpool>("TestPoolUnpool", (ctx, m, x) =>
        {
            var (y, indices) = Nabla.Onnx.OnnxExporter.MaxPoolWithIndices(ctx, m.Pool, x);
            var c = ctx.Export(m.Conv, y, "conv");
            return Nabla.Onnx.OnnxExporter.MaxUnpool(ctx, m.Unpool, c, indices, m.OutputSize).Name;
        });
        var model = new PoolUnpool(2, new MaxPool2d(kernel, stride, padding), new MaxUnpool2d(kernel, stride, padding), givenSize ? (h, w) : null);
        AssertRoundTrip(model, b => Tensor.Normal(new Shape(b, 2, h, w), 0f, 1f, new Random(100 + b)), sampleBatch: 2, batches: [1, 3]);
    }

    // Runs a few training-mode forward passes so that batch-norm running statistics are not the
    // initial zeros and ones, then leaves the model in training mode (the exporter switches to evaluation).
    private static T Trained<T>(T model, Func<int, Tensor> input) where T : Module
    {
        using var _ = GradMode.NoGrad();
        model.Train();
        for (int i = 0; i < 3; i++) model.Forward(input(4 + i) * 2f + 0.5f);
        return model;
    }
}
