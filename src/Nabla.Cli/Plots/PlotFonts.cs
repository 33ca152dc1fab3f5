using ScottPlot;
using SkiaSharp;

namespace Nabla.Cli.Plots;

/// <summary>
/// Makes plots render text on any machine. ScottPlot draws text with fonts that SkiaSharp finds on
/// the system; a machine without fonts (a bare container) would give PNGs with no labels at all.
/// The CLI therefore carries DejaVu Sans (regular and bold) as embedded resources and puts a
/// resolver for them in front of ScottPlot's system-font resolver, so every plot looks the same
/// everywhere, with or without system fonts.
/// </summary>
public static class PlotFonts
{
    /// <summary>The family name every plot uses.</summary>
    public const string Family = "DejaVu Sans";

    private static readonly object gate = new();
    private static bool installed;

    /// <summary>Registers the embedded fonts with ScottPlot (once; later calls do nothing).</summary>
    public static void Install()
    {
        lock (gate)
        {
            if (installed) return;
            var resolver = new EmbeddedFontResolver(
                Load("Nabla.Cli.Plots.Fonts.DejaVuSans.ttf"),
                Load("Nabla.Cli.Plots.Fonts.DejaVuSans-Bold.ttf"));
            Fonts.FontResolvers.Insert(0, resolver);
            Fonts.Default = Family;
            Fonts.Sans = Family;
            installed = true;
        }
    }

    private static byte[] Load(string resource)
    {
        using var stream = typeof(PlotFonts).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Embedded font '{resource}' is missing from {typeof(PlotFonts).Assembly.GetName().Name}.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>
    /// Answers requests for <see cref="Family"/> with the embedded typefaces (a new instance per
    /// request, as ScottPlot's resolver contract asks); other names go to the next resolver.
    /// </summary>
    private sealed class EmbeddedFontResolver(byte[] regular, byte[] bold) : IFontResolver
    {
        public SKTypeface? CreateTypeface(string fontName, bool isBold, bool italic) =>
            Matches(fontName) ? Create(isBold ? bold : regular) : null;

        public SKTypeface? CreateTypeface(string fontName, FontWeight weight, FontSlant slant, FontSpacing width) =>
            Matches(fontName) ? Create((int)weight >= (int)FontWeight.SemiBold ? bold : regular) : null;

        private static bool Matches(string fontName) => string.Equals(fontName, Family, StringComparison.OrdinalIgnoreCase);

        private static SKTypeface Create(byte[] font) =>
            SKTypeface.FromStream(new MemoryStream(font, writable: false))
            ?? throw new InvalidOperationException("The embedded DejaVu Sans font could not be read by SkiaSharp.");
    }
}
