using System.Globalization;
using Nabla.Cli.Demos;
using Nabla.Data;
using Nabla.Models;
using Nabla.Serialization;
using Nabla.Vision;
using Spectre.Console;

namespace Nabla.Cli.Commands;

/// <summary>
/// <c>nabla predict --image</c> for a detection model (a saved <see cref="Ssd"/>, e.g. from
/// <c>nabla demo detect</c>): the image is brought to the model's input size (stretched; a light
/// background is inverted, as for classification), the detections are decoded and suppressed per
/// class, listed with their boxes in the image's own pixels, and drawn over the image (<c>--out</c>).
/// </summary>
public static class DetectPredict
{
    /// <summary>Metadata key of the test mAP@0.5 recorded when the model was trained.</summary>
    public const string MapKey = "nabla.test_map50";

    /// <summary>Lowest class probability listed and drawn.</summary>
    public const float ScoreThreshold = 0.5f;

    /// <summary>Whether <paramref name="modelPath"/> holds a detection model (false for anything unreadable: the classifier path then reports it).</summary>
    public static bool IsDetectionModel(string modelPath)
    {
        try
        {
            if (string.IsNullOrWhiteSpace(modelPath) || !File.Exists(modelPath)) return false;
            var (model, _) = ModelFile.Load(modelPath);
            return model is Ssd;
        }
        catch (Exception e) when (e is InvalidDataFileException or ArgumentException or KeyNotFoundException or InvalidOperationException
                                     or FormatException or System.Text.Json.JsonException or IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Detects objects in the image, prints them and, with <paramref name="outPath"/>, draws them to that PNG.</summary>
    public static int Run(CliContext io, string modelPath, string imagePath, string? outPath)
    {
        string full = Path.GetFullPath(modelPath);
        var (loaded, meta) = ModelFile.Load(full);
        var model = loaded as Ssd ?? throw new UsageException($"{full}: the model is a {loaded.GetType().Name}, not a detector.");
        if (model.InChannels != 1) throw new UsageException($"{full}: the detector takes {model.InChannels} channels; --image gives one (grayscale).");
        if (outPath is not null && (string.IsNullOrWhiteSpace(outPath) || Directory.Exists(outPath)))
            throw new UsageException($"--out '{outPath}' is not a file path; give the PNG to write, e.g. --out boxes.png.");
        var img = ImageInput.Read(imagePath);
        int s = model.InputSize;
        var x = ImageInput.ToModelInput(img, s, s, ImageFit.Stretch, out bool inverted);
        var detector = new Detector(model, new SsdPostprocess(model) { ScoreThreshold = ScoreThreshold });
        var found = detector.Detect(Tensor.FromArray(x, 1, 1, s, s))[0];
        // Back from the model's S × S input to the image's own pixels.
        float sx = img.Width / (float)s, sy = img.Height / (float)s;
        var boxes = found.Boxes.Select(b => b.Scale(sx, sy)).ToArray();
        var names = meta.GetValueOrDefault(ModelInfo.Keys.ClassNames)?.Split('|');
        if (names is null || names.Length != model.NumClasses) names = Enumerable.Range(0, model.NumClasses).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();

        io.Markup($"[bold]image[/]  {Markup.Escape(Path.GetFullPath(imagePath))}: {img.Width}x{img.Height}" +
                  $"{(inverted ? ", light background (inverted)" : "")}{(img.Width == s && img.Height == s ? "" : $", resized to {s}x{s} for the detector")}");
        io.Markup($"[bold]{found.Count} object(s)[/] with class probability >= {ScoreThreshold.ToString("0.##", CultureInfo.InvariantCulture)}" +
                  (meta.TryGetValue(MapKey, out var map) && double.TryParse(map, NumberStyles.Float, CultureInfo.InvariantCulture, out double m)
                      ? $" (the model's test mAP@0.5: {m.ToString("F3", CultureInfo.InvariantCulture)})" : ""));
        for (int i = 0; i < found.Count; i++)
            io.Line($"  {names[found.Labels[i]],-6} {Common.Percent(found.Scores[i]),8}  box x {boxes[i].X1.ToString("F1", CultureInfo.InvariantCulture)}-{boxes[i].X2.ToString("F1", CultureInfo.InvariantCulture)}," +
                    $" y {boxes[i].Y1.ToString("F1", CultureInfo.InvariantCulture)}-{boxes[i].Y2.ToString("F1", CultureInfo.InvariantCulture)}");
        if (outPath is not null)
        {
            // Drawn over what the detector saw, at the image's own size: ink light on dark.
            var ink = img.Width == s && img.Height == s ? x : DigitImage.ToInk(img.Pixels, img.Width, img.Height, out _);
            var panel = new DetectionImages.Panel(ink, img.Width, img.Height, found with { Boxes = boxes });
            string written = DetectionImages.WriteSingle(panel, outPath, names);
            io.Markup($"[bold]boxes[/]  {Markup.Escape(written)}");
        }
        return ExitCodes.Ok;
    }
}
