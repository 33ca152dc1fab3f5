using System.CommandLine;
using System.Globalization;
using Nabla.Data;
using Nabla.Nn;
using Nabla.Onnx;
using Nabla.Serialization;
using Spectre.Console;

namespace Nabla.Cli.Commands;

/// <summary>
/// <c>nabla export --onnx FILE --model MODEL</c>: writes a saved model as an ONNX file (opset 17,
/// dynamic batch) that ONNX Runtime and other ONNX tools run.
/// </summary>
public static class ExportCommand
{
    /// <summary>Largest sample (values per example) the command builds to trace a model.</summary>
    private const long MaxSampleValues = 1L << 24;

    /// <summary>Builds the command.</summary>
    public static Command Create(CliContext io)
    {
        var onnx = new Option<string>("--onnx") { Description = "ONNX file to write (opset 17, dynamic batch dimension)", Required = true, HelpName = "FILE" };
        var model = new Option<string>("--model") { Description = "Model file (.safetensors) written by 'nabla train' or ModelFile.Save", Required = true, HelpName = "FILE" };
        var shape = new Option<string?>("--input-shape")
        {
            Description = "Shape of one example without the batch, e.g. 784 or 1,28,28 (default: the shape recorded in the model file)",
            HelpName = "D1,D2,…",
        };
        var arch = new Option<string?>("--arch")
        {
            Description = "Architecture JSON (ModelFile.Architecture) for a plain safetensors file without Nabla's metadata, e.g. weights saved by PyTorch",
            HelpName = "FILE",
        };
        var command = new Command("export", "Export a saved model to ONNX, for ONNX Runtime and other ONNX tools");
        command.Options.Add(onnx);
        command.Options.Add(model);
        command.Options.Add(shape);
        command.Options.Add(arch);
        command.SetAction(p => Common.Guard(io, () => Run(io, p.GetValue(model)!, p.GetValue(onnx)!, p.GetValue(shape), p.GetValue(arch))));
        return command;
    }

    /// <summary>Exports <paramref name="modelPath"/> to <paramref name="onnxPath"/>.</summary>
    public static int Run(CliContext io, string modelPath, string onnxPath, string? inputShape, string? archPath = null)
    {
        string full = Path.GetFullPath(modelPath);
        if (Directory.Exists(full)) throw new UsageException($"model file {full} is a folder; give the .safetensors file.");
        if (!File.Exists(full)) throw new UsageException($"model file {full} does not exist.");
        var (model, meta) = LoadModel(full, archPath is null ? null : ReadArchitecture(archPath));
        string? shapeText = inputShape ?? meta.GetValueOrDefault(ModelInfo.Keys.InputShape);
        if (shapeText is null)
            throw new UsageException($"{full} does not record the shape of its input; give it with --input-shape (e.g. 784 or 1,28,28).");
        int[] dims = ParseShape(shapeText, inputShape is null ? $"{full}: metadata {ModelInfo.Keys.InputShape}" : "--input-shape");
        var sample = Tensor.Zeros([1, .. dims]);
        OnnxExportSummary summary;
        try
        {
            summary = OnnxExporter.Export(model, onnxPath, sample);
        }
        catch (OnnxExportException e)
        {
            throw new UsageException($"{full}: {e.Message}");
        }
        io.Markup($"[bold]model[/]   {Markup.Escape(full)}");
        io.Markup($"[bold]onnx[/]    {Markup.Escape(Path.GetFullPath(onnxPath))}  (opset {OnnxExporter.Opset}, {summary.Nodes} nodes, {summary.Weights:N0} weights, {summary.Bytes:N0} bytes)");
        io.Markup($"[bold]input[/]   {Markup.Escape(summary.InputName)} [[{string.Join(", ", summary.InputDims)}]] float32");
        io.Markup($"[bold]output[/]  {Markup.Escape(summary.OutputName)} [[{string.Join(", ", summary.OutputDims)}]] float32");
        io.Markup($"[bold]ops[/]     {Markup.Escape(string.Join(", ", summary.Operators))}");
        return ExitCodes.Ok;
    }

    /// <summary>Reads an architecture JSON file given with --arch (size-checked).</summary>
    internal static string ReadArchitecture(string archPath)
    {
        if (string.IsNullOrWhiteSpace(archPath)) throw new UsageException("--arch: the path is empty; give a JSON architecture file (ModelFile.Architecture writes one).");
        string full = Path.GetFullPath(archPath);
        if (!File.Exists(full)) throw new UsageException($"architecture file {full} does not exist.");
        long size = new FileInfo(full).Length;
        if (size > MaxArchitectureBytes)
            throw new UsageException($"architecture file {full} is {size:N0} bytes; an architecture is JSON of at most {MaxArchitectureBytes:N0} bytes.");
        return File.ReadAllText(full);
    }

    private const long MaxArchitectureBytes = 16L << 20;

    private static (Nabla.Nn.Module Model, Dictionary<string, string> Metadata) LoadModel(string full, string? architecture)
    {
        try
        {
            var (model, meta) = architecture is null ? ModelFile.Load(full) : ModelFile.Load(full, architecture);
            return (model, meta);
        }
        catch (InvalidDataFileException e)
        {
            throw new UsageException($"{full} is not a usable Nabla model file: {e.Message}");
        }
        catch (Exception e) when (e is ArgumentException or KeyNotFoundException or InvalidOperationException or FormatException
                                     or NotSupportedException or System.Text.Json.JsonException or LayerConfigException)
        {
            throw new UsageException($"{full} is not a usable Nabla model file: {e.Message}");
        }
    }

    /// <summary>Parses "784" or "1,28,28" (also with 'x' or spaces) into positive dimensions.</summary>
    internal static int[] ParseShape(string text, string where)
    {
        var parts = text.Split([',', 'x', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0) throw new UsageException($"{where}: the input shape '{text}' is empty.");
        var dims = new int[parts.Length];
        long size = 1;
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out dims[i]) || dims[i] <= 0)
                throw new UsageException($"{where}: '{parts[i]}' in the input shape '{text}' is not a positive whole number.");
            size *= dims[i];
            if (size > MaxSampleValues)
                throw new UsageException($"{where}: the input shape '{text}' has more than {MaxSampleValues:N0} values per example.");
        }
        return dims;
    }
}
