using System.CommandLine;
using Nabla.Losses;
using Nabla.Training;
using Spectre.Console;

namespace Nabla.Cli.Commands;

/// <summary>
/// <c>nabla evaluate</c>: loss, accuracy and confusion matrix of a saved model on a test set — by default the
/// test split of the data it was trained on, made with the seed stored in the model, so the numbers match
/// what <c>nabla train</c> reported.
/// </summary>
public static class EvaluateCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(CliContext io)
    {
        var model = new Option<string>("--model") { Description = "Model file written by 'nabla train'", Required = true, HelpName = "FILE" };
        var data = new Option<string?>("--data") { Description = "Folder of MNIST-style IDX files (default: the data the model was trained on)", HelpName = "DIR" };
        var arch = ArchOption();
        var command = new Command("evaluate", "Loss, accuracy and confusion matrix of a saved model on the test set");
        command.Options.Add(model);
        command.Options.Add(data);
        command.Options.Add(arch);
        command.SetAction(p => Common.Guard(io, () => Run(io, p.GetValue(model)!, p.GetValue(data), p.GetValue(arch))));
        return command;
    }

    /// <summary>The --arch option of evaluate and predict: the architecture of a plain safetensors file.</summary>
    internal static Option<string?> ArchOption() => new("--arch")
    {
        Description = "Architecture JSON for a plain safetensors file without Nabla's metadata (e.g. weights saved by PyTorch with the same layout)",
        HelpName = "FILE",
    };

    /// <summary>Evaluates <paramref name="modelPath"/> on the test part of <paramref name="dataDir"/> (or of the recorded data).</summary>
    public static int Run(CliContext io, string modelPath, string? dataDir, string? archPath = null)
    {
        var info = ModelInfo.Load(modelPath, archPath);
        var data = info.LoadData(dataDir);
        var result = Trainer.Evaluate(info.Model, data.Test, new CrossEntropyLoss());
        io.Markup($"[bold]model[/]  {Markup.Escape(info.Path)}");
        io.Markup($"[bold]data[/]   {Markup.Escape(data.Name)}: test set of {data.Test.Count} ({Markup.Escape(data.Split)})");
        io.Markup($"[bold]test[/]   loss {Common.F(result.Loss)}  accuracy [bold]{Common.Percent(result.Accuracy)}[/]");
        io.Out.Write(Render.Confusion(result.Confusion, info.ClassNames));
        return ExitCodes.Ok;
    }
}
