using System.Globalization;
using Nabla.Training;
using Spectre.Console;

namespace Nabla.Cli.Commands;

/// <summary>Spectre renderings shared by the commands.</summary>
public static class Render
{
    /// <summary>A confusion matrix as a table: rows = actual class, columns = predicted; the diagonal in green.</summary>
    public static Table Confusion(ConfusionMatrix m, IReadOnlyList<string> names)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("confusion matrix (rows: actual, columns: predicted)");
        table.AddColumn(new TableColumn("[bold]actual[/]"));
        for (int j = 0; j < m.Classes; j++) table.AddColumn(new TableColumn(Spectre.Console.Markup.Escape(Short(names, j))).RightAligned());
        table.AddColumn(new TableColumn("[bold]recall[/]").RightAligned());
        for (int i = 0; i < m.Classes; i++)
        {
            var cells = new List<string> { Spectre.Console.Markup.Escape(Short(names, i)) };
            for (int j = 0; j < m.Classes; j++)
            {
                long c = m.Counts[i, j];
                string s = c.ToString(CultureInfo.InvariantCulture);
                cells.Add(i == j ? $"[green]{s}[/]" : c == 0 ? $"[grey]{s}[/]" : $"[red]{s}[/]");
            }
            double r = m.Recall(i);
            cells.Add(double.IsNaN(r) ? "-" : Common.Percent(r));
            table.AddRow(cells.ToArray());
        }
        return table;
    }

    private static string Short(IReadOnlyList<string> names, int i)
    {
        string n = i < names.Count ? names[i] : i.ToString(CultureInfo.InvariantCulture);
        return n.Length <= 8 ? n : n[..7] + "…";
    }
}
