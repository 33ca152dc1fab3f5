namespace Nabla.Playground.Lab;

/// <summary>One line of a <see cref="LineChart"/>: y values at x = 0, 1, 2, … unless <paramref name="Xs"/> is given.</summary>
public sealed record Series(string Name, string Color, IReadOnlyList<double> Ys, IReadOnlyList<double>? Xs = null, bool Dashed = false);

/// <summary>Invariant number formatting for the pages and their data attributes.</summary>
public static class Fmt
{
    /// <summary>A number with <paramref name="format"/>, invariant culture.</summary>
    public static string F(double v, string format = "G4") => v.ToString(format, System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Values joined by commas (for data attributes read by the browser tests).</summary>
    public static string Join(IEnumerable<double> values) => string.Join(",", values.Select(v => F(v, "G6")));
}
