using Nabla.Cli.Commands;
using Nabla.Data;
using Nabla.Serialization;
using SharpFuzz;

namespace Nabla.Fuzz;

/// <summary>
/// SharpFuzz targets for AFL++ or libFuzzer: each reads one input through a Nabla reader; the format exceptions
/// (<see cref="InvalidDataFileException"/>, and the tool's <see cref="UsageException"/> for images) are expected,
/// anything else escapes and is reported as a crash. Usage: <c>Nabla.Fuzz TARGET [--libfuzzer]</c>, or
/// <c>Nabla.Fuzz TARGET --seeds DIR</c> to write a seed corpus. See docs/FUZZING.md.
/// </summary>
public static class Program
{
    private static readonly string[] Targets = ["idx", "safetensors", "model", "image"];

    /// <summary>Entry point.</summary>
    public static int Main(string[] args)
    {
        if (args.Length < 1 || !Targets.Contains(args[0]))
        {
            Console.Error.WriteLine($"usage: Nabla.Fuzz {{{string.Join("|", Targets)}}} [--libfuzzer | --seeds DIR | --run FILE...]");
            return 2;
        }
        string target = args[0];
        if (args.Length >= 3 && args[1] == "--seeds") return Seeds.Write(target, args[2]);
        if (args.Length >= 3 && args[1] == "--run")
        {
            // Replays inputs (e.g. a crash AFL found) outside the fuzzer, with the full exception.
            foreach (var f in args.Skip(2)) Run(target, File.ReadAllBytes(f));
            return 0;
        }
        // The readers take paths (they check the kind of file first), so each input goes through one temp file.
        string path = Path.Combine(Path.GetTempPath(), $"nabla-fuzz-{Environment.ProcessId}{Extension(target)}");
        Action<ReadOnlySpan<byte>> body = data => Run(target, data, path);
        if (args.Length >= 2 && args[1] == "--libfuzzer") Fuzzer.LibFuzzer.Run(d => body(d));
        else Fuzzer.OutOfProcess.Run(stream =>
        {
            var ms = new MemoryStream();
            stream.CopyTo(ms);
            body(ms.ToArray());
        });
        return 0;
    }

    private static string Extension(string target) => target switch { "image" => ".img", "idx" => ".idx", _ => ".safetensors" };

    private static void Run(string target, ReadOnlySpan<byte> data, string? path = null)
    {
        path ??= Path.Combine(Path.GetTempPath(), $"nabla-fuzz-replay-{Environment.ProcessId}{Extension(target)}");
        File.WriteAllBytes(path, data.ToArray());
        try
        {
            switch (target)
            {
                case "idx": Idx.Read(path); break;
                case "safetensors": SafeTensors.Load(path); break;
                case "model": ModelFile.Load(path); break;
                default: ImageInput.Read(path); break;
            }
        }
        catch (InvalidDataFileException) { }
        catch (UsageException) when (target == "image") { }
    }
}

/// <summary>Writes small valid files of a target's format as a starting corpus.</summary>
internal static class Seeds
{
    public static int Write(string target, string dir)
    {
        Directory.CreateDirectory(dir);
        switch (target)
        {
            case "idx":
            {
                var rng = new Random(1);
                var px = new byte[4 * 8 * 8];
                rng.NextBytes(px);
                Idx.Write(Path.Combine(dir, "images.idx3-ubyte"), px, [4, 8, 8], gzip: false);
                Idx.Write(Path.Combine(dir, "images.idx3-ubyte.gz"), px, [4, 8, 8], gzip: true);
                Idx.Write(Path.Combine(dir, "labels.idx1-ubyte"), [0, 1, 2, 3], [4], gzip: false);
                break;
            }
            case "safetensors" or "model":
            {
                var model = new Nabla.Nn.Sequential(new Nabla.Nn.Linear(6, 4, rng: new Random(1)), new Nabla.Nn.ReLU(), new Nabla.Nn.Linear(4, 3, rng: new Random(2)));
                ModelFile.Save(Path.Combine(dir, "mlp.safetensors"), model);
                break;
            }
            default:
            {
                var pixels = new float[12 * 10];
                for (int i = 0; i < pixels.Length; i++) pixels[i] = (i % 12) / 12f;
                ImageInput.WritePgm(Path.Combine(dir, "gradient.pgm"), 12, 10, pixels);
                break;
            }
        }
        Console.WriteLine($"seeds for '{target}' written to {dir}");
        return 0;
    }
}
