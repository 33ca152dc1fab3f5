using System.Globalization;
using Nabla.Training;
using Spectre.Console;

namespace Nabla.Cli.Commands;

/// <summary>Spectre renderings shared by the commands.</summary>
public static class Render
{
    /// <summary>
    /// A confusion matrix as a table: rows = actual class, columns = predicted; the diagonal in green.
    /// Each row ends with its total and the class's recall; under the rows, each column's total, the
    /// precision and the F1 score of each predicted class, and in the corner the accuracy.
    /// </summary>
    public static Table Confusion(ConfusionMatrix m, IReadOnlyList<string> names)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("confusion matrix (rows: actual, columns: predicted)");
        table.AddColumn(new TableColumn("[bold]actual[/]"));
        for (int j = 0; j < m.Classes; j++) table.AddColumn(new TableColumn(Spectre.Console.Markup.Escape(Short(names, j))).RightAligned());
        table.AddColumn(new TableColumn("[bold]total[/]").RightAligned());
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
            long row = 0;
            for (int j = 0; j < m.Classes; j++) row += m.Counts[i, j];
            cells.Add(row.ToString(CultureInfo.InvariantCulture));
            double r = m.Recall(i);
            cells.Add(double.IsNaN(r) ? "-" : Common.Percent(r));
            table.AddRow(cells.ToArray());
        }
        // Column totals, precision and F1 per predicted class; accuracy where the recall column meets the precision row.
        var totals = new List<string> { "[bold]total[/]" };
        var precision = new List<string> { "[bold]precision[/]" };
        var f1 = new List<string> { "[bold]F1[/]" };
        for (int j = 0; j < m.Classes; j++)
        {
            long col = 0;
            for (int i = 0; i < m.Classes; i++) col += m.Counts[i, j];
            totals.Add(col.ToString(CultureInfo.InvariantCulture));
            double p = m.Precision(j), f = m.F1(j);
            precision.Add(double.IsNaN(p) ? "-" : Common.Percent(p));
            f1.Add(double.IsNaN(f) ? "-" : Common.Percent(f));
        }
        totals.Add(m.Total.ToString(CultureInfo.InvariantCulture));
        totals.Add("");
        precision.Add("");
        precision.Add(double.IsNaN(m.Accuracy) ? "-" : $"[bold]{Common.Percent(m.Accuracy)}[/] acc.");
        f1.Add("");
        f1.Add("");
        table.AddEmptyRow();
        table.AddRow(totals.ToArray());
        table.AddRow(precision.ToArray());
        table.AddRow(f1.ToArray());
        return table;
    }

    private static string Short(IReadOnlyList<string> names, int i)
    {
        string n = i < names.Count ? names[i] : i.ToString(CultureInfo.InvariantCulture);
        return n.Length <= 8 ? n : n[..7] + "…";
    }
}
