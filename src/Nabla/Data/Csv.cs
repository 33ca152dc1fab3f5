using System.Globalization;
using System.Text;

namespace Nabla.Data;

/// <summary>
/// A numeric table read from CSV: a header of column names and <see cref="Rows"/> rows of numbers, row-major in
/// <see cref="Values"/>.
/// </summary>
/// <param name="Columns">The header's column names.</param>
/// <param name="Values">Rows × Columns numbers, row after row.</param>
/// <param name="Rows">Number of data rows.</param>
/// <param name="Source">The file (or name) it came from, for messages.</param>
public sealed record CsvTable(string[] Columns, float[] Values, int Rows, string Source)
{
    /// <summary>The value in <paramref name="row"/> and column <paramref name="column"/>.</summary>
    public float this[int row, int column] => Values[row * Columns.Length + column];

    /// <summary>
    /// The position of the column called <paramref name="name"/> (exact, else the one case-insensitive match, else a
    /// zero-based number); an error naming the file and the columns when there is none.
    /// </summary>
    public int ColumnIndex(string name)
    {
        int exact = Array.IndexOf(Columns, name);
        if (exact >= 0) return exact;
        var loose = Columns.Select((c, i) => (c, i)).Where(p => string.Equals(p.c, name, StringComparison.OrdinalIgnoreCase)).ToList();
        if (loose.Count == 1) return loose[0].i;
        if (int.TryParse(name, NumberStyles.Integer, CultureInfo.InvariantCulture, out int k) && k >= 0 && k < Columns.Length) return k;
        throw new InvalidDataFileException(Source, -1,
            $"{Source}: no column '{name}'; the columns are {string.Join(", ", Columns.Select(c => $"'{c}'"))}.");
    }

    /// <summary>
    /// A regression data set: every column but <paramref name="target"/> is a feature (sample shape [F]), the target
    /// column is the float target (shape [1]).
    /// </summary>
    public Dataset ToRegression(string target)
    {
        int t = ColumnIndex(target);
        var (features, f) = FeaturesWithout(t);
        var targets = new float[Rows];
        for (int r = 0; r < Rows; r++) targets[r] = this[r, t];
        return Dataset.Regression(features, [f], targets, [1], System.IO.Path.GetFileName(Source));
    }

    /// <summary>
    /// A classification data set: the <paramref name="target"/> column holds class labels 0, 1, …, C−1 (whole numbers);
    /// the other columns are the features.
    /// </summary>
    public Dataset ToClassification(string target)
    {
        int t = ColumnIndex(target);
        var (features, f) = FeaturesWithout(t);
        var labels = new int[Rows];
        for (int r = 0; r < Rows; r++)
        {
            float v = this[r, t];
            if (v < 0 || v != MathF.Floor(v) || v > 1_000_000)
                throw new InvalidDataFileException(Source, -1,
                    $"{Source}: data row {r + 1}, column '{Columns[t]}': {v.ToString(CultureInfo.InvariantCulture)} is not a class label (a whole number from 0).");
            labels[r] = (int)v;
        }
        int classes = Rows == 0 ? 1 : labels.Max() + 1;
        return new Dataset(features, [f], labels, classes, System.IO.Path.GetFileName(Source));
    }

    private (float[] Features, int Count) FeaturesWithout(int target)
    {
        int c = Columns.Length, f = c - 1;
        if (f < 1) throw new InvalidDataFileException(Source, -1, $"{Source}: only the target column '{Columns[target]}'; no feature columns are left.");
        if (Rows == 0) throw new InvalidDataFileException(Source, -1, $"{Source}: the header has no data rows under it.");
        var features = new float[(long)Rows * f];
        for (int r = 0; r < Rows; r++)
        {
            int o = r * f;
            for (int j = 0; j < c; j++)
                if (j != target) features[o++] = Values[r * c + j];
        }
        return (features, f);
    }
}

/// <summary>
/// Reads numeric CSV files: a header line of column names, then one row of numbers per line (invariant culture, '.'
/// decimals), separated by commas (or another separator); fields may be quoted; blank lines are skipped. Every error
/// names the file, the line and the column.
/// </summary>
public static class Csv
{
    /// <summary>The largest file read by default (1 GiB); pass a larger <c>maxBytes</c> to read more.</summary>
    public const long DefaultMaxBytes = 1L << 30;

    /// <summary>Reads <paramref name="path"/> into a numeric table.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataFileException">The file is not a numeric CSV table (the message names line and column).</exception>
    public static CsvTable Read(string path, char separator = ',', long maxBytes = DefaultMaxBytes)
    {
        string full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FileNotFoundException($"CSV file {full} does not exist.", full);
        long length = new FileInfo(full).Length;
        if (length > maxBytes)
            throw new InvalidDataFileException(full, -1, $"{full}: {length} bytes, more than the {maxBytes} this reader accepts (pass a larger maxBytes).");
        using var reader = new StreamReader(full, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return Parse(reader, full, separator);
    }

    /// <summary>Reads a regression data set from <paramref name="path"/>: column <paramref name="target"/> is the target, the others the features.</summary>
    public static Dataset ReadRegression(string path, string target, char separator = ',') => Read(path, separator).ToRegression(target);

    /// <summary>Reads a classification data set: column <paramref name="target"/> holds labels 0…C−1, the others the features.</summary>
    public static Dataset ReadClassification(string path, string target, char separator = ',') => Read(path, separator).ToClassification(target);

    /// <summary>Parses CSV text from <paramref name="reader"/>; <paramref name="source"/> names it in messages.</summary>
    public static CsvTable Parse(TextReader reader, string source, char separator = ',')
    {
        ArgumentNullException.ThrowIfNull(reader);
        string[]? header = null;
        var values = new List<float>();
        int rows = 0, lineNo = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var fields = SplitLine(line, separator, source, lineNo);
            if (header is null)
            {
                header = fields.Select(f => f.Trim()).ToArray();
                for (int j = 0; j < header.Length; j++)
                {
                    if (header[j].Length == 0) throw Error(source, lineNo, j + 1, null, "the header has an empty column name");
                    int dup = Array.IndexOf(header, header[j]);
                    if (dup < j) throw Error(source, lineNo, j + 1, header[j], $"the column name repeats column {dup + 1}");
                }
                if (header.All(h => float.TryParse(h, NumberStyles.Float, CultureInfo.InvariantCulture, out _)))
                    throw Error(source, lineNo, 1, null, "the first line holds only numbers; a CSV file here needs a header line of column names");
                continue;
            }
            if (fields.Count != header.Length)
                throw Error(source, lineNo, Math.Min(fields.Count, header.Length) + 1, null,
                    $"{fields.Count} fields where the header has {header.Length} columns");
            if ((long)values.Count + header.Length > Array.MaxLength)
                throw Error(source, lineNo, 1, null, "the table holds more values than an array can");
            for (int j = 0; j < fields.Count; j++)
            {
                string text = fields[j].Trim();
                if (text.Length == 0) throw Error(source, lineNo, j + 1, header[j], "the value is missing");
                if (!float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out float v) || !float.IsFinite(v))
                    throw Error(source, lineNo, j + 1, header[j], $"'{Shorten(text)}' is not a finite number");
                values.Add(v);
            }
            rows++;
        }
        if (header is null) throw new InvalidDataFileException(source, 0, $"{source}: the file is empty (a header line of column names is needed).");
        return new CsvTable(header, values.ToArray(), rows, source);
    }

    private static List<string> SplitLine(string line, char separator, string source, int lineNo)
    {
        var fields = new List<string>();
        var sb = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char ch = line[i];
            if (quoted)
            {
                if (ch == '"' && i + 1 < line.Length && line[i + 1] == '"') { sb.Append('"'); i++; }
                else if (ch == '"') quoted = false;
                else sb.Append(ch);
            }
            else if (ch == '"' && sb.ToString().Trim().Length == 0) { sb.Clear(); quoted = true; }
            else if (ch == separator) { fields.Add(sb.ToString()); sb.Clear(); }
            else sb.Append(ch);
        }
        if (quoted) throw Error(source, lineNo, fields.Count + 1, null, "a quoted field is not closed");
        fields.Add(sb.ToString());
        return fields;
    }

    private static InvalidDataFileException Error(string source, int line, int column, string? name, string what) =>
        new(source, -1, $"{source}: line {line}, column {column}{(name is null ? "" : $" ('{name}')")}: {what}.");

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..37] + "...";
}
