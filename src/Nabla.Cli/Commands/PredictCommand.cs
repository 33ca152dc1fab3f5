using System.CommandLine;
using System.Globalization;
using Nabla.Training;
using Spectre.Console;

namespace Nabla.Cli.Commands;

/// <summary>
/// <c>nabla predict</c>: the class a saved model predicts for one test sample (<c>--index</c>) or one image file
/// (<c>--image</c>, PGM or PNG), with the softmax probabilities as a bar chart.
/// </summary>
public static class PredictCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(CliContext io)
    {
        var model = new Option<string>("--model") { Description = "Model file written by 'nabla train'", Required = true, HelpName = "FILE" };
        var index = new Option<int?>("--index") { Description = "Index of a sample of the test set", HelpName = "N" };
        var data = new Option<string?>("--data") { Description = "With --index: folder of MNIST-style IDX files (default: the data the model was trained on)", HelpName = "DIR" };
        var image = new Option<string?>("--image") { Description = "An image file (PNG or PGM); light-on-dark or dark-on-light, any size", HelpName = "PATH" };
        var fit = new Option<ImageFit>("--fit") { Description = "With --image: Center (crop to the ink, fit a 20x20 box, centre by mass, as MNIST) or Stretch (resize the whole image)", DefaultValueFactory = _ => ImageFit.Center };
        var command = new Command("predict", "Predict the class of a test sample or an image file with a saved model");
        var arch = EvaluateCommand.ArchOption();
        foreach (var o in new Option[] { model, index, data, image, fit, arch }) command.Options.Add(o);
        var outPng = new Option<string?>("--out") { Description = "With --image and a detection or segmentation model: the PNG to write (boxes or mask)", HelpName = "PNG" };
        command.Options.Add(outPng);
        command.Validators.Add(r =>
        {
            bool hasIndex = r.GetResult(index) is not null, hasImage = r.GetResult(image) is not null;
            if (hasIndex == hasImage) r.AddError("give either --index N (a test sample) or --image PATH (an image file).");
            else if (hasImage && r.GetResult(data) is not null) r.AddError("--data goes with --index; --image reads only the image.");
        });
        command.SetAction(p => Common.Guard(io, () =>
            p.GetValue(image) is string path
                ? DetectPredict.IsDetectionModel(p.GetValue(model)!) ? DetectPredict.Run(io, p.GetValue(model)!, path, p.GetValue(outPng))
                : SegmentPredict.TryRun(io, p.GetValue(model)!, path, p.GetValue(outPng)) ?? RunImage(io, p.GetValue(model)!, path, p.GetValue(fit), p.GetValue(arch))
                : RunIndex(io, p.GetValue(model)!, p.GetValue(index)!.Value, p.GetValue(data), p.GetValue(arch))));
        return command;
    }

    /// <summary>Predicts test sample <paramref name="index"/>.</summary>
    public static int RunIndex(CliContext io, string modelPath, int index, string? dataDir, string? archPath = null)
    {
        var info = ModelInfo.Load(modelPath, archPath);
        var data = info.LoadData(dataDir);
        if (index < 0 || index >= data.Test.Count)
            throw new UsageException($"--index {index} is outside the test set of {data.Name}, which holds {data.Test.Count} samples (0..{data.Test.Count - 1}).");
        var x = new float[data.Test.SampleSize];
        Array.Copy(data.Test.Features, (long)index * x.Length, x, 0, x.Length);
        int label = data.Test.Labels[index];
        io.Markup($"[bold]sample[/] {index} of the test set of {Markup.Escape(data.Name)} ({data.Test.Count} samples), label {Markup.Escape(Name(info, label))}");
        Show(io, info, x, label);
        return ExitCodes.Ok;
    }

    /// <summary>Predicts the image in <paramref name="imagePath"/>.</summary>
    public static int RunImage(CliContext io, string modelPath, string imagePath, ImageFit fit, string? archPath = null)
    {
        var info = ModelInfo.Load(modelPath, archPath);
        var (h, w) = info.Image;
        if (info.Inputs == 3 * h * w)
        {
            // A colour model (e.g. CIFAR-10): the picture as it is, resized; no grayscale or digit centring.
            var rgb = ColorImageInput.Read(imagePath);
            io.Markup($"[bold]image[/]  {Markup.Escape(Path.GetFullPath(imagePath))}: {rgb.Width}x{rgb.Height} RGB{(rgb.Width == w && rgb.Height == h ? "" : $", resized to {w}x{h}")}");
            Show(io, info, ColorImageInput.ToModelInput(rgb, h, w), null);
            return ExitCodes.Ok;
        }
        var img = ImageInput.Read(imagePath);
        var x = ImageInput.ToModelInput(img, h, w, fit, out bool inverted);
        io.Markup($"[bold]image[/]  {Markup.Escape(Path.GetFullPath(imagePath))}: {img.Width}x{img.Height}" +
                  $"{(inverted ? ", light background (inverted)" : "")}{(img.Width == w && img.Height == h ? "" : $", fitted to {w}x{h} ({fit.ToString().ToLowerInvariant()})")}");
        Show(io, info, x, null);
        return ExitCodes.Ok;
    }

    private static string Name(ModelInfo info, int c) => c < info.ClassNames.Length ? info.ClassNames[c] : c.ToString(CultureInfo.InvariantCulture);

    private static void Show(CliContext io, ModelInfo info, float[] x, int? label)
    {
        var (h, w) = info.Image;
        io.Line(ImageInput.Preview(x.Length == 3 * h * w ? ColorImageInput.Luminance(x, h, w) : x, h, w).TrimEnd('\n'));
        var logits = Trainer.Predict(info.Model, Tensor.FromArray(x, 1, x.Length));
        float[] p = Ops.Softmax(logits).ToArray();
        int best = 0;
        for (int i = 1; i < p.Length; i++) if (p[i] > p[best]) best = i;
        string verdict = label is int l ? (l == best ? " [green](correct)[/]" : $" [red](wrong: the label is {Markup.Escape(Name(info, l))})[/]") : "";
        io.Markup($"[bold]predicted: {Markup.Escape(Name(info, best))}[/] ({Common.Percent(p[best])}){verdict}");
        var chart = new BarChart().Width(Math.Min(72, io.Out.Profile.Width)).Label("class probabilities (%)").WithMaxValue(100)
            .UseValueFormatter(v => v.ToString("F2", CultureInfo.InvariantCulture));
        for (int i = 0; i < p.Length; i++)
            chart.AddItem(Markup.Escape(Name(info, i)), Math.Round(p[i] * 100, 2), i == best ? Color.Green : Color.Grey);
        io.Out.Write(chart);
    }
}
