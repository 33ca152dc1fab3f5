using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using Nabla.Cli.Commands;
using Nabla.Data;
using Nabla.Serialization;
using Nabla.Tests.Data;
using Xunit.Abstractions;

namespace Nabla.Tests.Fuzz;

/// <summary>
/// Seeded mutation fuzzing of every reader: valid files of each format are mutated (bit flips, truncations,
/// insertions, duplicated ranges, boundary bytes, header field edits) and read back. Each case must either
/// load to a consistent object or fail with the format exception (<see cref="InvalidDataFileException"/>;
/// for the tool's image reader also its <see cref="UsageException"/>) — never another exception, never more
/// than <see cref="Format.MemoryFactor"/> × the file size + 2 MiB allocated on the reading thread, never a hang
/// (30 s per case). Cases per mutation kind and format: <see cref="CasesPerKind"/> (NABLA_FUZZ_CASES overrides it
/// for longer runs); every case is reproducible from its format, kind and index.
/// </summary>
public class FuzzTests(ITestOutputHelper output)
{
    /// <summary>Cases per mutation kind and format in CI.</summary>
    public const int DefaultCasesPerKind = 100;

    private static int CasesPerKind =>
        int.TryParse(Environment.GetEnvironmentVariable("NABLA_FUZZ_CASES"), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : DefaultCasesPerKind;

    private const long FixedOverhead = 2L << 20;

    /// <summary>A reader under test.</summary>
    /// <param name="Name">Format name.</param>
    /// <param name="Seeds">Valid files to mutate.</param>
    /// <param name="Edit">The format's header edit.</param>
    /// <param name="Load">Reads a file and checks the result is consistent (throws <see cref="InconsistentException"/> if not).</param>
    /// <param name="MemoryFactor">Allowed allocation as a multiple of the file size (plus a fixed 2 MiB).</param>
    /// <param name="Extension">File extension.</param>
    public sealed record Format(string Name, byte[][] Seeds, Func<byte[], Random, byte[]> Edit, Action<string> Load, long MemoryFactor, string Extension);

    /// <summary>A reader returned an object that breaks its own invariants.</summary>
    public sealed class InconsistentException(string message) : Exception(message);

    private static void Require(bool ok, string what)
    {
        if (!ok) throw new InconsistentException(what);
    }

    private static readonly Lazy<Dictionary<string, Format>> All = new(Build);

    public static TheoryData<string> FormatNames()
    {
        var d = new TheoryData<string>();
        foreach (var n in new[] { "idx-ubyte", "idx-float", "idx-gzip", "safetensors", "model", "pgm-p5", "pgm-p2", "png", "csv", "cifar10" }) d.Add(n);
        return d;
    }

    private static Dictionary<string, Format> Build()
    {
        string tmp = Directory.CreateTempSubdirectory("nabla-fuzz-seeds-").FullName;
        try
        {
            void CheckIdx(string p)
            {
                var a = Idx.Read(p);
                long n = 1;
                foreach (int d in a.Dims) { Require(d >= 1, "dimension < 1"); n *= d; }
                Require(n == a.Length && a.Data.Length == a.Length, $"IDX {a}: {a.Length} elements for dims of {n}");
            }
            void CheckSafeTensors(string p)
            {
                var (tensors, _) = SafeTensors.Load(p);
                foreach (var (name, t) in tensors)
                {
                    Require(t.Data.Length >= t.Shape.Size, $"tensor {name}: data shorter than its shape");
                    Require(t.ToArray().All(float.IsFinite), $"tensor {name}: non-finite value loaded");
                }
            }
            void CheckModel(string p)
            {
                var (model, _) = ModelFile.Load(p);
                foreach (var (name, t) in model.StateDict())
                    Require(t.ToArray().All(float.IsFinite), $"model tensor {name}: non-finite value loaded");
            }
            void CheckImage(string p)
            {
                var img = ImageInput.Read(p);
                Require((long)img.Width * img.Height == img.Pixels.Length, $"image {img.Width}x{img.Height} with {img.Pixels.Length} pixels");
                Require(img.Pixels.All(v => v >= 0 && v <= 1), "pixel outside [0, 1]");
            }
            var idxU8 = new[] { FuzzFiles.IdxImages(6, 8, 1), FuzzFiles.IdxImages(3, 5, 2), FuzzFiles.IdxBytes(new IdxArray(IdxType.UInt8, [20], new byte[20])) };
            var idxF = new[] { FuzzFiles.IdxFloats(24, 2), FuzzFiles.IdxBytes(new IdxArray(IdxType.Int16, [3, 5], new short[15])), FuzzFiles.IdxBytes(new IdxArray(IdxType.Float64, [4], new double[] { 1, 2, 3, 4 })) };
            void CheckCsv(string p)
            {
                var table = Csv.Read(p);
                var data = table.ToClassification("label");
                Require(data.Features.Length == data.Count * data.SampleSize, "CSV dataset size");
                Require(data.Features.ToArray().All(float.IsFinite), "CSV dataset: non-finite feature");
            }
            void CheckCifar(string p)
            {
                var data = Cifar10.ReadRecords([p], 10, [3, 32, 32]);
                Require(data.Labels.ToArray().All(l => l is >= 0 and < 10), "CIFAR label outside 0..9");
                Require(data.Features.Length == data.Count * 3072, "CIFAR features size");
            }
            var csv = System.Text.Encoding.UTF8.GetBytes("x1,x2,x3,label\n0.5,1.25,-3,0\n1e-3,2,4.5,1\n7,8,9,2\n-1.5,0,0.25,1\n");
            var cifar = new byte[3 * 3073];
            new Random(3).NextBytes(cifar);
            for (int r = 0; r < 3; r++) cifar[r * 3073] = (byte)(r * 3);
            var formats = new[]
            {
                new Format("csv", [csv], EditCsv, CheckCsv, 64, ".csv"),
                new Format("cifar10", [cifar, cifar[..3073]], EditCifar, CheckCifar, 8, ".bin"),
                new Format("idx-ubyte", idxU8, Mutator.EditIdxHeader, CheckIdx, 4, ""),
                new Format("idx-float", idxF, Mutator.EditIdxHeader, CheckIdx, 4, ""),
                new Format("idx-gzip", idxU8.Concat(idxF).Select(FuzzFiles.Gzip).ToArray(), EditGzipIdx, CheckIdx, 64, ".gz"),
                new Format("safetensors", [FuzzFiles.ModelBytes(tmp), FuzzFiles.ModelBytes(tmp, 2, 3, 2)], Mutator.EditSafeTensorsHeader, CheckSafeTensors, 8, ".safetensors"),
                new Format("model", [FuzzFiles.ModelBytes(tmp), FuzzFiles.ModelBytes(tmp, 4, 2, 3)], Mutator.EditSafeTensorsHeader, CheckModel, 16, ".safetensors"),
                new Format("pgm-p5", [FuzzFiles.Pgm(12, 10), FuzzFiles.Pgm(3, 2)], Mutator.EditPgmHeader, CheckImage, 16, ".pgm"),
                new Format("pgm-p2", [FuzzFiles.PgmAscii(6, 5), FuzzFiles.PgmAscii(2, 2)], Mutator.EditPgmHeader, CheckImage, 32, ".pgm"),
                new Format("png", [FuzzFiles.Png(16, 12), FuzzFiles.Png(5, 7)], Mutator.EditPngHeader, CheckImage, 64, ".png"),
            };
            return formats.ToDictionary(f => f.Name);
        }
        finally
        {
            try { Directory.Delete(tmp, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>Header edit for CSV: a number or the header row rewritten (huge, negative, non-numeric, NaN, extra columns).</summary>
    private static byte[] EditCsv(byte[] b, Random rng)
    {
        string text = System.Text.Encoding.UTF8.GetString(b);
        var lines = text.Split('\n').ToList();
        int i = rng.Next(lines.Count);
        var cells = lines[i].Split(',').ToList();
        int j = rng.Next(Math.Max(1, cells.Count));
        string[] values = ["1e39", "-1e39", "NaN", "Infinity", "", "x", "999999999999", "255", "-1", "0.5,7", "\"1\"", "label"];
        if (cells.Count > 0) cells[j] = values[rng.Next(values.Length)];
        lines[i] = string.Join(",", cells);
        return System.Text.Encoding.UTF8.GetBytes(string.Join("\n", lines));
    }

    /// <summary>Header edit for CIFAR-10: a record's label byte set to a boundary value.</summary>
    private static byte[] EditCifar(byte[] b, Random rng)
    {
        if (b.Length >= 3073) b[3073 * rng.Next(b.Length / 3073)] = new byte[] { 9, 10, 255, 128, 0 }[rng.Next(5)];
        return b;
    }

    /// <summary>Header edit for a gzipped IDX file: the inner IDX header (re-compressed), or the gzip header's flags or size trailer.</summary>
    private static byte[] EditGzipIdx(byte[] b, Random rng)
    {
        if (rng.Next(4) == 0 && b.Length >= 18)
        {
            if (rng.Next(2) == 0) b[3] = (byte)rng.Next(256); // FLG
            else System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(b.Length - 4), (uint)Mutator.InterestingNumber(rng, 100));
            return b;
        }
        try
        {
            using var gz = new GZipStream(new MemoryStream(b), CompressionMode.Decompress);
            var raw = new MemoryStream();
            gz.CopyTo(raw);
            return FuzzFiles.Gzip(Mutator.EditIdxHeader(raw.ToArray(), rng));
        }
        catch (InvalidDataException)
        {
            return b;
        }
    }

    /// <summary>How one case ended.</summary>
    public enum Outcome { Loaded, Rejected, OtherException, Inconsistent, TooMuchMemory, Hang }

    /// <summary>Runs <paramref name="cases"/> mutated files of every kind through <paramref name="format"/>'s reader; returns counts and failures.</summary>
    public static (Dictionary<(MutationKind, Outcome), int> Counts, List<string> Failures, double MaxRatio) Campaign(Format format, int cases, string dir)
    {
        var counts = new Dictionary<(MutationKind, Outcome), int>();
        var failures = new List<string>();
        double maxRatio = 0;
        string path = Path.Combine(dir, "case" + format.Extension);
        foreach (var kind in Enum.GetValues<MutationKind>())
        {
            // A seed that is the same in every process (HashCode.Combine is randomised per process, which made
            // each run fuzz different files: issue 16).
            int stable = ((format.Name.Length * 31 + format.Name[0]) * 31 + format.Name[^1]) * 31 + (int)kind;
            var mutator = new Mutator((stable & 0x7FFFFFFF) ^ 12345, format.Edit);
            var pick = new Random((int)kind * 7919 + format.Name.Length);
            for (int i = 0; i < cases; i++)
            {
                var seed = format.Seeds[pick.Next(format.Seeds.Length)];
                byte[] bytes = mutator.Mutate(seed, kind);
                File.WriteAllBytes(path, bytes);
                long allocated = 0;
                Exception? error = null;
                var task = Task.Factory.StartNew(() =>
                {
                    long before = GC.GetAllocatedBytesForCurrentThread();
                    try { format.Load(path); }
                    catch (Exception e) { error = e; }
                    allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
                Outcome outcome;
                if (!task.Wait(TimeSpan.FromSeconds(30))) outcome = Outcome.Hang;
                else if (error is null) outcome = Outcome.Loaded;
                else if (error is InvalidDataFileException or UsageException) outcome = Outcome.Rejected;
                else if (error is InconsistentException) outcome = Outcome.Inconsistent;
                else outcome = Outcome.OtherException;
                long limit = format.MemoryFactor * bytes.Length + FixedOverhead;
                if (outcome is Outcome.Loaded or Outcome.Rejected && allocated > limit) outcome = Outcome.TooMuchMemory;
                maxRatio = Math.Max(maxRatio, (double)allocated / Math.Max(1, bytes.Length));
                counts[(kind, outcome)] = counts.GetValueOrDefault((kind, outcome)) + 1;
                if (outcome is not (Outcome.Loaded or Outcome.Rejected) && failures.Count < 10)
                    failures.Add($"{format.Name} {kind} case {i} ({bytes.Length} bytes): {outcome}" +
                                 (error is null ? "" : $" {error.GetType().Name}: {error.Message}") + $" allocated {allocated} (limit {limit})" +
                                 $"\n  bytes: {Convert.ToHexString(bytes.AsSpan(0, Math.Min(bytes.Length, 48)))}…");
                if (outcome == Outcome.Hang) return (counts, failures, maxRatio); // a hung reader keeps its thread: stop here
            }
        }
        return (counts, failures, maxRatio);
    }

    [Theory]
    [MemberData(nameof(FormatNames))]
    public void Mutated_files_load_consistently_or_fail_with_the_format_exception(string formatName)
    {
        var format = All.Value[formatName];
        using var dir = new TempDir();
        // The seeds themselves must load.
        foreach (var s in format.Seeds)
        {
            string p = dir.File("seed" + format.Extension);
            File.WriteAllBytes(p, s);
            format.Load(p);
        }
        var clock = Stopwatch.StartNew();
        var (counts, failures, maxRatio) = Campaign(format, CasesPerKind, dir.Path);
        var sb = new StringBuilder($"{format.Name}: {counts.Values.Sum()} cases in {clock.Elapsed.TotalSeconds:F1} s, largest allocation {maxRatio:F1} x the file size (limit {format.MemoryFactor} x + 2 MiB)\n");
        foreach (var kind in Enum.GetValues<MutationKind>())
            sb.Append($"  {kind,-15}").AppendJoin("  ", Enum.GetValues<Outcome>().Select(o => $"{o} {counts.GetValueOrDefault((kind, o))}")).Append('\n');
        output.WriteLine(sb.ToString());
        Assert.True(failures.Count == 0, sb + string.Join("\n", failures));
        // A campaign where nothing is rejected or nothing loads is not exercising the reader.
        Assert.True(counts.Where(kv => kv.Key.Item2 == Outcome.Rejected).Sum(kv => kv.Value) > 0, "no case was rejected");
    }
}
