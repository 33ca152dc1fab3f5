using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Nabla.Autograd;
using Nabla.Nn;
using Nabla.Onnx;
using Nabla.Tests.Data;

namespace Nabla.Tests.Onnx;

/// <summary>Runs exported models in ONNX Runtime and in the ONNX checker, and compares with Nabla.</summary>
internal static class OnnxTestSupport
{
    /// <summary>Absolute tolerance between ONNX Runtime's and Nabla's outputs.</summary>
    public const float Tolerance = 1e-4f;

    /// <summary>Runs the ONNX file on <paramref name="input"/> in ONNX Runtime (CPU, one thread) and returns its first output.</summary>
    public static Tensor Run(string path, Tensor input, string inputName = "input")
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        using var session = new InferenceSession(path, options);
        long[] shape = input.Shape.Select(d => (long)d).ToArray();
        using var value = OrtValue.CreateTensorValueFromMemory(input.ToArray(), shape);
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, [inputName], [value], [session.OutputNames[0]]);
        var output = results[0];
        int[] outShape = output.GetTensorTypeAndShape().Shape.Select(d => checked((int)d)).ToArray();
        return Tensor.FromArray(output.GetTensorDataAsSpan<float>().ToArray(), outShape);
    }

    /// <summary>Nabla's output of <paramref name="model"/> in evaluation mode, without a graph.</summary>
    public static Tensor Reference(Module model, Tensor input)
    {
        using var _ = GradMode.NoGrad();
        var modes = new List<(Module, bool)>();
        void Collect(Module m)
        {
            modes.Add((m, m.IsTraining));
            foreach (var (_, c) in m.NamedChildren()) Collect(c);
        }
        Collect(model);
        model.Eval();
        try { return model.Forward(input); }
        finally { foreach (var (m, t) in modes) m.Train(t); }
    }

    /// <summary>
    /// Exports <paramref name="model"/> traced on a sample of batch <paramref name="sampleBatch"/>,
    /// then runs the file in ONNX Runtime with each of <paramref name="batches"/> (different from the
    /// sample's: the batch is dynamic) and asserts the outputs equal Nabla's within <see cref="Tolerance"/>.
    /// <paramref name="makeInput"/> makes an input of a given batch size. Returns the file's bytes.
    /// </summary>
    public static byte[] AssertRoundTrip(Module model, Func<int, Tensor> makeInput, int sampleBatch = 2, int[]? batches = null, OnnxExportOptions? options = null)
    {
        using var dir = new TempDir();
        string path = dir.File("model.onnx");
        OnnxExporter.Export(model, path, makeInput(sampleBatch), options);
        foreach (int b in batches ?? [1, 3, 5])
        {
            var x = makeInput(b);
            var expected = Reference(model, x);
            var actual = Run(path, x, options?.InputName ?? "input");
            Assert.True(expected.Shape == actual.Shape, $"batch {b}: ONNX Runtime's output {actual.Shape}, Nabla's {expected.Shape}");
            var e = expected.Data;
            var a = actual.Data;
            for (int i = 0; i < e.Length; i++)
                if (!(MathF.Abs(e[i] - a[i]) <= Tolerance))
                    Assert.Fail($"batch {b}: element {i} of {expected.Shape}: Nabla {e[i]}, ONNX Runtime {a[i]} (tolerance {Tolerance})");
        }
        return File.ReadAllBytes(path);
    }

    /// <summary>Standard-normal inputs of shape [batch, ..rest] from a seed.</summary>
    public static Func<int, Tensor> Normal(int seed, params int[] rest) =>
        b => Tensor.Normal(new Shape([b, .. rest]), 0f, 1f, new Random(seed + b));

    private static readonly Lazy<string?> checkerPython = new(FindCheckerPython);

    /// <summary>A python interpreter that imports the onnx package (Debian's python3-onnx), or null.</summary>
    public static string? CheckerPython => checkerPython.Value;

    /// <summary>
    /// Runs <c>onnx.checker.check_model(full_check=True)</c> and strict shape inference on each
    /// file (one python process for all); returns the failures as "file: message" lines (empty when all pass).
    /// </summary>
    public static List<string> Check(string python, IReadOnlyList<string> paths)
    {
        const string script = """
            import sys, onnx, onnx.checker, onnx.shape_inference
            for p in sys.argv[1:]:
                try:
                    m = onnx.load(p)
                    onnx.checker.check_model(m, full_check=True)
                    onnx.shape_inference.infer_shapes(m, check_type=True, strict_mode=True)
                    print('OK', p)
                except Exception as e:
                    print('FAIL', p, repr(e).replace('\n', ' '))
            """;
        var (code, output) = RunProcess(python, ["-c", script, .. paths]);
        var failures = new List<string>();
        if (code != 0) failures.Add($"the checker exited with {code}: {output}");
        foreach (var path in paths)
            if (!output.Contains("OK " + path + "\n", StringComparison.Ordinal))
                failures.Add($"{Path.GetFileName(path)}: {output.Split('\n').FirstOrDefault(l => l.Contains(path, StringComparison.Ordinal)) ?? "no result"}");
        return failures;
    }

    /// <summary>
    /// Asserts the ONNX checker accepts every model, or skips (visibly) where python3-onnx is not installed.
    /// </summary>
    public static void AssertCheckerAccepts(IEnumerable<(string Name, Module Model, Tensor Sample)> models)
    {
        Skip.If(CheckerPython is null, "python3 with the onnx package (Debian: apt-get install python3-onnx) is not installed; the ONNX checker was not run");
        using var dir = new TempDir();
        var paths = new List<string>();
        foreach (var (name, model, sample) in models)
        {
            string path = dir.File(name + ".onnx");
            OnnxExporter.Export(model, path, sample);
            paths.Add(path);
        }
        var failures = Check(CheckerPython!, paths);
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    private static string? FindCheckerPython()
    {
        // Debian's python3-onnx installs for the system interpreter, which may not be first on PATH.
        foreach (var candidate in new[] { "/usr/bin/python3", "python3" })
        {
            try
            {
                var (code, _) = RunProcess(candidate, ["-c", "import onnx, onnx.checker"]);
                if (code == 0) return candidate;
            }
            catch (System.ComponentModel.Win32Exception) { }
        }
        return null;
    }

    private static (int Code, string Output) RunProcess(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout + stderr.Result);
    }
}
