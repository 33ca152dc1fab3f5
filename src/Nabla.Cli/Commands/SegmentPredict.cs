using System.Globalization;
using Nabla.Autograd;
using Nabla.Data;
using Nabla.Cli.Demos;
using Nabla.Models;
using Nabla.Serialization;
using Nabla.Vision;
using Spectre.Console;

namespace Nabla.Cli.Commands;

/// <summary>
/// <c>nabla predict --image</c> for a segmentation model (a saved <see cref="UNet"/>): labels every
/// pixel of the image at its own size (the network is fully convolutional) and writes the mask as a
/// colour PNG (<c>--out</c>), with the share of pixels per class.
/// </summary>
public static class SegmentPredict
{
    /// <summary>Whether <paramref name="modelPath"/> holds a segmentation model (read from its architecture, without the weights' checks).</summary>
    public static bool IsSegmentationModel(string modelPath)
    {
        try
        {
            if (!File.Exists(modelPath)) return false;
            var (model, _) = ModelFile.Load(modelPath);
            return model is UNet;
        }
        catch (Exception e) when (e is InvalidDataFileException or ArgumentException or KeyNotFoundException or InvalidOperationException
                                     or FormatException or System.Text.Json.JsonException or IOException)
        {
            return false;
        }
    }

    /// <summary>
    /// The hook of <c>nabla predict --image</c>: segments the image when the model is a segmentation
    /// model and returns the exit code; returns null for other models (classified as before), unless
    /// <c>--out</c> was given, which only a segmentation model writes.
    /// </summary>
    public static int? TryRun(CliContext io, string modelPath, string imagePath, string? outPath)
    {
        if (IsSegmentationModel(modelPath)) return Run(io, modelPath, imagePath, outPath);
        if (outPath is not null)
            throw new UsageException($"--out writes the mask of a segmentation model; {Path.GetFullPath(modelPath)} is not one (a classifier prints its prediction).");
        return null;
    }

    /// <summary>Segments the image and writes the colour mask to <paramref name="outPath"/>.</summary>
    public static int Run(CliContext io, string modelPath, string imagePath, string? outPath)
    {
        if (string.IsNullOrWhiteSpace(outPath)) throw new UsageException("--out: a segmentation model writes a mask; give --out mask.png.");
        var (loaded, meta) = ModelFile.Load(Path.GetFullPath(modelPath));
        var model = (UNet)loaded;
        var img = ImageInput.Read(imagePath);
        if (img.Width < model.MinimumSize || img.Height < model.MinimumSize)
            throw new UsageException($"image {Path.GetFullPath(imagePath)} is {img.Width}x{img.Height}; this U-Net of depth {model.Depth} needs at least {model.MinimumSize}x{model.MinimumSize}.");
        if (model.InChannels != 1) throw new UsageException($"the model takes {model.InChannels} channels; --image gives one (grayscale).");
        // The scenes are light ink on a dark background: a light image is inverted as for classification.
        var ink = DigitImage.ToInk(img.Pixels, img.Width, img.Height, out bool inverted);
        model.Eval();
        int[] mask;
        using (GradMode.NoGrad()) mask = SegmentationConfusion.ArgMaxClasses(model.Forward(Tensor.FromArray(ink, 1, 1, img.Height, img.Width)));
        string full = SegmentationImages.WriteMask(mask, img.Width, img.Height, outPath);
        var names = meta.TryGetValue("classes", out var list) ? list.Split(',') : [];
        string Name(int c) => c < names.Length ? names[c] : c.ToString(CultureInfo.InvariantCulture);
        io.Markup($"[bold]image[/]  {Markup.Escape(Path.GetFullPath(imagePath))}: {img.Width}x{img.Height}{(inverted ? ", light background (inverted)" : "")}");
        var counts = new int[model.NumClasses];
        foreach (int c in mask) counts[c]++;
        for (int c = 0; c < counts.Length; c++)
            if (counts[c] > 0) io.Line($"  {Name(c),-12} {counts[c],7} pixels ({Common.Percent(counts[c] / (double)mask.Length)})");
        io.Markup($"[bold]mask[/]  {Markup.Escape(full)}");
        return ExitCodes.Ok;
    }
}
