using Nabla.Cli;
using Nabla.Cli.Commands;
using Nabla.Models;
using Nabla.Serialization;
using Nabla.Tests.Plots;
using Nabla.Vision;

namespace Nabla.Tests.Vision;

/// <summary><c>nabla demo detect --fast</c> and <c>nabla predict --image</c> with the detector it saves.</summary>
// The demos reseed the shared RandomSource: keep them away from tests that depend on it.
[Collection("WorkerPoolSettingsCollection")]
public sealed class DetectionDemoTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("nabla-detect-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void Demo_writes_its_pngs_and_model_and_predict_draws_the_boxes_of_a_scene()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = Program.Run(["demo", "detect", "--out", dir, "--fast"], output, error);
        Assert.True(code == ExitCodes.Ok, $"exit code {code}: {error}");
        string text = output.ToString();
        foreach (var png in new[] { "detect-scenes.png", "detect-loss.png" })
        {
            PngFile.AssertValid(Path.Combine(dir, png));
            Assert.Contains(png, text);
        }
        Assert.Equal((64, 64), PngFile.AssertValid(Path.Combine(dir, "detect-scene.png"), minBytes: 100));
        Assert.Contains("mAP@0.5", text);
        Assert.Contains("AP per digit", text);

        // The saved model is the detector; predict reads the scene PNG back, lists and draws its boxes.
        string modelPath = Path.Combine(dir, "ssd.safetensors");
        var (loaded, _) = ModelFile.Load(modelPath);
        var model = Assert.IsType<Ssd>(loaded);
        string boxesPath = Path.Combine(dir, "boxes.png");
        var predictOut = new StringWriter();
        var predictErr = new StringWriter();
        code = Program.Run(["predict", "--model", modelPath, "--image", Path.Combine(dir, "detect-scene.png"), "--out", boxesPath], predictOut, predictErr);
        Assert.True(code == ExitCodes.Ok, $"exit code {code}: {predictErr}");
        Assert.Equal((512, 512), PngFile.AssertValid(boxesPath, minBytes: 1000));
        // As many objects as the detector finds on the same pixels (the PNG holds 8-bit values).
        var img = ImageInput.Read(Path.Combine(dir, "detect-scene.png"));
        var found = new Detector(model, new SsdPostprocess(model) { ScoreThreshold = DetectPredict.ScoreThreshold })
            .Detect(Tensor.FromArray(img.Pixels, 1, 1, 64, 64))[0];
        Assert.Contains($"{found.Count} object(s)", predictOut.ToString());

        // A classifier's file still goes the classifier's way; a detector's error names the bad --out.
        code = Program.Run(["predict", "--model", modelPath, "--image", Path.Combine(dir, "detect-scene.png"), "--out", dir], new StringWriter(), predictErr = new StringWriter());
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--out", predictErr.ToString());
    }
}
