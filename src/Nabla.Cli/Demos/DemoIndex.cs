using System.Text;

namespace Nabla.Cli.Demos;

/// <summary>
/// index.html of <c>nabla demo all</c>: every PNG a demo wrote, under the heading of the notes'
/// section the demo belongs to and the sentence that says what the figure shows, in the order of
/// <see cref="DemoCatalog.All"/>. Built from the catalog's entries and the figures the run recorded,
/// so a new demo appears without changes here (a demo without a section is headed by its description).
/// </summary>
public static class DemoIndex
{
    /// <summary>The file name of the index.</summary>
    public const string FileName = "index.html";

    /// <summary>Writes index.html into the run's folder; returns its full path.</summary>
    public static string Write(DemoRun run, IReadOnlyList<DemoEntry> demos)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(demos);
        string path = Path.Combine(run.OutDir, FileName);
        File.WriteAllText(path, Html(run.OutDir, demos, run.Figures), new UTF8Encoding(false));
        return path;
    }

    /// <summary>Escapes &amp;, &lt;, &gt; and quotes; other characters stay as they are (the page is UTF-8, so §, α and ² stay readable in the source).</summary>
    public static string Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal)
            .Replace(">", "&gt;", StringComparison.Ordinal).Replace("\"", "&quot;", StringComparison.Ordinal);
    }

    /// <summary>The HTML of the index for <paramref name="figures"/> in <paramref name="outDir"/> (image paths relative to it).</summary>
    public static string Html(string outDir, IReadOnlyList<DemoEntry> demos, IReadOnlyList<DemoFigure> figures)
    {
        static string E(string s) => Encode(s);
        var sb = new StringBuilder();
        sb.AppendLine("<!DOCTYPE html>");
        sb.AppendLine("<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Nabla: the notes' worked examples</title>");
        sb.AppendLine("<style>body{font-family:sans-serif;max-width:1400px;margin:2em auto;padding:0 1em;color:#222}"
            + "h2{border-bottom:1px solid #ccc;padding-top:1em}p.note{font-style:italic}p.demo{color:#555}"
            + "figure{margin:1.5em 0}img{max-width:100%;border:1px solid #eee}figcaption{color:#555}</style></head><body>");
        sb.AppendLine("<h1>Nabla: the notes' worked examples</h1>");
        sb.AppendLine("<p>Written by <code>nabla demo all</code>. Each section shows the figures of one demo under the part of the notes it belongs to; the numbers behind them are in the command's output.</p>");
        var shown = new HashSet<string>(StringComparer.Ordinal);
        void Figure(DemoFigure f)
        {
            string rel = Path.GetRelativePath(outDir, f.Path).Replace('\\', '/');
            string caption = f.Caption is null ? E(rel) : $"{E(f.Caption)} <small>({E(rel)})</small>";
            sb.AppendLine($"<figure><img src=\"{E(Uri.EscapeDataString(rel).Replace("%2F", "/"))}\" alt=\"{E(f.Caption ?? rel)}\"><figcaption>{caption}</figcaption></figure>");
            shown.Add(f.Path);
        }
        foreach (var demo in demos)
        {
            var own = figures.Where(f => f.Demo == demo.Name).ToList();
            if (own.Count == 0) continue;
            sb.AppendLine($"<section id=\"{E(demo.Name)}\"><h2>{E(demo.Section ?? demo.Description)}</h2>");
            if (demo.Sentence is not null) sb.AppendLine($"<p class=\"note\">{E(demo.Sentence)}</p>");
            sb.AppendLine($"<p class=\"demo\"><code>nabla demo {E(demo.Name)}</code>: {E(demo.Description)}</p>");
            foreach (var f in own) Figure(f);
            sb.AppendLine("</section>");
        }
        var rest = figures.Where(f => !shown.Contains(f.Path)).ToList();
        if (rest.Count > 0)
        {
            sb.AppendLine("<section id=\"other\"><h2>Other figures</h2>");
            foreach (var f in rest) Figure(f);
            sb.AppendLine("</section>");
        }
        sb.AppendLine("</body></html>");
        return sb.ToString();
    }
}
