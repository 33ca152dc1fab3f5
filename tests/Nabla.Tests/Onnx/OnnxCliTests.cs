using Nabla.Cli.Commands;
using Nabla.Nn;
using Nabla.Serialization;
using Nabla.Tests.Cli;
using Nabla.Tests.Data;
using static Nabla.Tests.Onnx.OnnxTestSupport;

namespace Nabla.Tests.Onnx;

public class OnnxCliTests
{
    private static Sequential Mlp() => new(new Linear(12, 8, rng: new Random(1)), new ReLU(), new Linear(8, 3, rng: new Random(2)), new Softmax());

    [Fact]
    public void Export_writes_a_file_that_onnx_runtime_runs_like_nabla()
    {
        using var dir = new CliTempDir();
        var model = Mlp();
        ModelFile.Save(dir.File("m.safetensors"), model, metadata: new Dictionary<string, string> { [ModelInfo.Keys.InputShape] = "12" });
        var r = NablaCli.Run("export", "--model", dir.File("m.safetensors"), "--onnx", dir.File("m.onnx"));
        Assert.True(r.Code == 0, r.ToString());
        Assert.Contains("input [batch, 12]", r.Out);
        Assert.Contains("output [batch, 3]", r.Out);
        Assert.Contains("opset 17", r.Out);
        var x = Tensor.Normal(new Shape(6, 12), 0f, 1f, new Random(3));
        var expected = Reference(model, x);
        var actual = Run(dir.File("m.onnx"), x);
        Assert.Equal(expected.Shape, actual.Shape);
        for (int i = 0; i < expected.Length; i++) Assert.InRange(actual.Data[i], expected.Data[i] - Tolerance, expected.Data[i] + Tolerance);
    }

    [Fact]
    public void A_model_trained_by_nabla_train_predicts_the_same_digits_in_onnx_runtime()
    {
        using var dir = new CliTempDir();
        string file = dir.File("digits.safetensors"), onnx = dir.File("digits.onnx");
        var t = NablaCli.Run("train", "--limit", "600", "--epochs", "2", "--layers", "32", "--no-augment", "--out", file);
        Assert.True(t.Code == 0, t.ToString());
        var r = NablaCli.Run("export", "--model", file, "--onnx", onnx);
        Assert.True(r.Code == 0, r.ToString());
        Assert.Contains("input [batch, 784]", r.Out);

        var (model, _) = ModelFile.Load(file);
        var digits = Nabla.Data.MnistFolder.Load(DataTestUtil.Mnist10kDir, flatten: true).Train;
        var x = digits.Take(200).ToTensor();
        var expected = Reference(model, x);
        var actual = Run(onnx, x);
        Assert.Equal(expected.Shape, actual.Shape);
        for (int i = 0; i < expected.Length; i++) Assert.InRange(actual.Data[i], expected.Data[i] - Tolerance, expected.Data[i] + Tolerance);
        Assert.Equal(Ops.ArgMax(expected).ToArray(), Ops.ArgMax(actual).ToArray());
    }

    [Fact]
    public void The_input_shape_can_be_given_when_the_file_does_not_record_it()
    {
        using var dir = new CliTempDir();
        ModelFile.Save(dir.File("m.safetensors"), new Sequential(new Flatten(), new Linear(12, 2, rng: new Random(1))));
        var missing = NablaCli.Run("export", "--model", dir.File("m.safetensors"), "--onnx", dir.File("m.onnx"));
        Assert.Equal(ExitCodes.Usage, missing.Code);
        Assert.Contains("--input-shape", missing.Err);
        var r = NablaCli.Run("export", "--model", dir.File("m.safetensors"), "--onnx", dir.File("m.onnx"), "--input-shape", "3,2,2");
        Assert.True(r.Code == 0, r.ToString());
        Assert.Contains("input [batch, 3, 2, 2]", r.Out);
        Assert.Contains("output [batch, 2]", r.Out);
    }

    [Theory]
    [InlineData("0,4", "not a positive whole number")]
    [InlineData("abc", "not a positive whole number")]
    [InlineData("100000,100000", "values per example")]
    [InlineData("7", "Linear")]
    public void Bad_input_shapes_are_usage_errors(string shape, string message)
    {
        using var dir = new CliTempDir();
        ModelFile.Save(dir.File("m.safetensors"), Mlp());
        var r = NablaCli.Run("export", "--model", dir.File("m.safetensors"), "--onnx", dir.File("m.onnx"), "--input-shape", shape);
        Assert.True(r.Code == ExitCodes.Usage, r.ToString());
        Assert.Contains(message, r.Err);
        Assert.False(File.Exists(dir.File("m.onnx")));
    }

    [Fact]
    public void Missing_or_broken_model_files_are_usage_errors()
    {
        using var dir = new CliTempDir();
        var r = NablaCli.Run("export", "--model", dir.File("none.safetensors"), "--onnx", dir.File("m.onnx"));
        Assert.Equal(ExitCodes.Usage, r.Code);
        Assert.Contains("does not exist", r.Err);
        File.WriteAllBytes(dir.File("bad.safetensors"), [1, 2, 3]);
        r = NablaCli.Run("export", "--model", dir.File("bad.safetensors"), "--onnx", dir.File("m.onnx"), "--input-shape", "12");
        Assert.Equal(ExitCodes.Usage, r.Code);
        Assert.Contains("bad.safetensors", r.Err);
        var noDir = NablaCli.Run("export", "--model", dir.File("bad.safetensors"), "--onnx", dir.File("m.onnx"));
        Assert.Equal(ExitCodes.Usage, noDir.Code);
    }

    [Fact]
    public void An_onnx_path_in_a_missing_folder_is_a_usage_error()
    {
        using var dir = new CliTempDir();
        ModelFile.Save(dir.File("m.safetensors"), Mlp());
        var r = NablaCli.Run("export", "--model", dir.File("m.safetensors"), "--onnx", Path.Combine(dir.Path, "no", "m.onnx"), "--input-shape", "12");
        Assert.Equal(ExitCodes.Usage, r.Code);
        Assert.Contains("does not exist", r.Err);
    }
}
