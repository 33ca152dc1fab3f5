using Nabla.Data;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Serialization;
using Nabla.Tests.Cli;
using Nabla.Training;

namespace Nabla.Tests.Api;

/// <summary>Float targets, the CSV reader, regression through Fit/Evaluate and the CLI, and transfer learning.</summary>
public class DataApiTests
{
    /// <summary>y = 3·a − 2·b + 5 + small noise, with a useless column c; 300 rows.</summary>
    private static string WriteRegressionCsv(string dir, int rows = 300)
    {
        var rng = new Random(1);
        var lines = new List<string> { "a,b,c,y" };
        for (int i = 0; i < rows; i++)
        {
            double a = rng.NextDouble() * 4 - 2, b = rng.NextDouble() * 10, c = rng.NextDouble();
            double y = 3 * a - 2 * b + 5 + (rng.NextDouble() - 0.5) * 0.2;
            lines.Add(FormattableString.Invariant($"{a:F4},{b:F4},{c:F4},{y:F4}"));
        }
        string path = Path.Combine(dir, "linear.csv");
        File.WriteAllLines(path, lines);
        return path;
    }

    [Fact]
    public void Csv_reads_a_header_and_numeric_columns_and_picks_the_target()
    {
        var table = Csv.Parse(new StringReader("x, \"y\",label\n1,2.5,0\n\n-3e2,4,1\n"), "t.csv");
        Assert.Equal(["x", "y", "label"], table.Columns);
        Assert.Equal(2, table.Rows);
        Assert.Equal(-300f, table[1, 0]);
        var reg = table.ToRegression("y");
        Assert.True(reg.IsRegression);
        Assert.Equal([2], reg.SampleShape);
        Assert.Equal([1f, 0f, -300f, 1f], reg.Features);
        Assert.Equal([2.5f, 4f], reg.Targets!);
        var cls = table.ToClassification("LABEL"); // a unique case-insensitive match is accepted
        Assert.Equal([0, 1], cls.Labels);
        Assert.Equal(2, cls.NumClasses);
    }

    [Theory]
    [InlineData("a,b\n1,2\n3,x\n", "line 3, column 2 ('b')", "'x' is not a finite number")]
    [InlineData("a,b\n1,2\n3\n", "line 3", "1 fields where the header has 2 columns")]
    [InlineData("a,b\n1,\n", "line 2, column 2 ('b')", "missing")]
    [InlineData("a,a\n1,2\n", "line 1, column 2", "repeats")]
    [InlineData("1,2\n3,4\n", "line 1", "header")]
    [InlineData("", "empty", "header")]
    [InlineData("a,b\n\"1,2\n", "line 2", "not closed")]
    [InlineData("a,b\n1,NaN\n", "line 2, column 2", "finite")]
    public void Csv_errors_name_the_line_and_column(string text, string where, string what)
    {
        var e = Assert.Throws<InvalidDataFileException>(() => Csv.Parse(new StringReader(text), "bad.csv"));
        Assert.Contains("bad.csv", e.Message);
        Assert.Contains(where, e.Message);
        Assert.Contains(what, e.Message);
    }

    [Fact]
    public void Csv_names_the_columns_when_the_target_is_unknown_and_limits_the_size()
    {
        var table = Csv.Parse(new StringReader("a,b\n1,2\n"), "t.csv");
        var e = Assert.Throws<InvalidDataFileException>(() => table.ToRegression("price"));
        Assert.Contains("'a', 'b'", e.Message);
        using var dir = new CliTempDir();
        string path = WriteRegressionCsv(dir.Path, 10);
        Assert.Throws<InvalidDataFileException>(() => Csv.Read(path, maxBytes: 100));
    }

    [Fact]
    public void Regression_datasets_batch_their_targets_and_split_and_subset_keep_them()
    {
        var ds = Dataset.Regression([1f, 2f, 3f, 4f, 5f, 6f], [2], [10f, 20f, 30f]);
        Assert.Equal("Dataset [3 x 2], float targets [1]", ds.ToString());
        var sub = ds.Subset([2, 0]);
        Assert.Equal([30f, 10f], sub.Targets!);
        var batch = new DataLoader(ds, batchSize: 2).First();
        Assert.Equal([2, 1], batch.Targets.Shape.ToArray());
        Assert.Equal([10f, 20f], batch.Targets.ToArray());
        var (a, b) = ds.Split(0.5, seed: 1);
        Assert.Equal(3, a.Targets!.Length + b.Targets!.Length);
        Assert.Throws<ArgumentException>(() => Dataset.Regression([1f, 2f], [1], [1f, float.NaN]));
        Assert.Throws<ArgumentException>(() => Dataset.Regression([1f, 2f, 3f], [1], [1f, 2f]));
    }

    [Fact]
    public void Fit_trains_a_regressor_and_Evaluate_reports_mse_mae_and_r2()
    {
        using var dir = new CliTempDir();
        var data = Csv.ReadRegression(WriteRegressionCsv(dir.Path), "y");
        var (mean, std) = data.MeanStd();
        var (train, test) = data.Standardize(mean, std).Split(0.8, seed: 1);
        var model = new Sequential(new Linear(3, 16, rng: new Random(1)), new Tanh(), new Linear(16, 1, rng: new Random(2)));
        var loss = new MseLoss();
        var before = Trainer.Evaluate(model, test, loss).Regression!;
        var history = Trainer.Fit(model, train, loss, new Adam(model.Parameters(), 0.02f), new FitOptions { Epochs = 40, BatchSize = 16, Seed = 1 });
        var after = Trainer.Evaluate(model, test, loss);
        Assert.True(history.Last.Loss < history.Epochs[0].Loss / 5, $"loss {history.Epochs[0].Loss} → {history.Last.Loss}");
        Assert.True(double.IsNaN(history.Last.Accuracy));
        Assert.True(after.Regression!.R2 > 0.95, $"R² {after.Regression.R2} (before training {before.R2})");
        Assert.Equal(after.Loss, after.Regression.Mse, 3); // MSE loss per sample of one target is the MSE
        Assert.True(after.Regression.Mae < Math.Sqrt(after.Regression.Mse) + 1e-9);
    }

    [Fact]
    public void Regression_metrics_match_hand_computed_values()
    {
        var m = RegressionMetrics.Compute([1f, 2f, 5f], [1f, 3f, 5f]);
        Assert.Equal(1.0 / 3, m.Mse, 9);
        Assert.Equal(1.0 / 3, m.Mae, 9);
        Assert.Equal(1 - 1.0 / 8, m.R2, 9); // Σ(y−ȳ)² = 1 + 0 + ... with ȳ = 3: 4 + 0 + 4 = 8
    }

    [Fact]
    public void Cli_trains_a_regressor_on_a_csv_file()
    {
        using var dir = new CliTempDir();
        string csv = WriteRegressionCsv(dir.Path);
        string model = dir.File("reg.safetensors");
        var r = NablaCli.Run("train", "--task", "regression", "--data", csv, "--target", "y", "--layers", "16", "--epochs", "20", "--out", model);
        Assert.True(r.Code == 0, r.ToString());
        Assert.Contains("R²", r.Out);
        var (loaded, meta) = ModelFile.Load(model);
        Assert.Equal("y", meta["nabla.target"]);
        Assert.True(double.Parse(meta["nabla.test_r2"], System.Globalization.CultureInfo.InvariantCulture) > 0.95, r.Out);
        // The saved model takes raw columns and predicts y in its units: a=1, b=2, c=0.5 → 3 − 4 + 5 = 4.
        var y = loaded.Forward(Tensor.FromArray([1f, 2f, 0.5f], 1, 3)).Item();
        Assert.InRange(y, 3.5f, 4.5f);

        var missing = NablaCli.Run("train", "--task", "regression", "--data", csv, "--target", "price", "--out", model);
        Assert.Equal(2, missing.Code);
        Assert.Contains("'y'", missing.Err);
        var noTarget = NablaCli.Run("train", "--task", "regression", "--data", csv, "--out", model);
        Assert.Equal(2, noTarget.Code);
        Assert.Contains("--target", noTarget.Err);
    }

    [Fact]
    public void Transfer_copies_matching_tensors_keeps_a_new_head_and_reports_it()
    {
        using var dir = new CliTempDir();
        var pre = new Sequential(new Linear(4, 3), new ReLU(), new Linear(3, 10));
        string path = dir.File("pre.safetensors");
        ModelFile.Save(path, pre);
        var model = new Sequential(new Linear(4, 3), new ReLU(), new Linear(3, 2));
        var headBefore = model[2].Parameters()[0].ToArray();
        var report = Transfer.LoadPretrained(model, path);
        Assert.Equal(["0.weight", "0.bias"], report.Loaded);
        Assert.Contains(report.Skipped, s => s.Name == "2.weight" && s.Reason.Contains("[2, 3]"));
        Assert.Equal(pre[0].Parameters()[0].ToArray(), model[0].Parameters()[0].ToArray());
        Assert.Equal(headBefore, model[2].Parameters()[0].ToArray());
        var excluded = Transfer.CopyMatching(model, pre.StateDict(), "0");
        Assert.Empty(excluded.Loaded);
        var other = new Sequential(new Linear(7, 7));
        Assert.Throws<ArgumentException>(() => Transfer.LoadPretrained(other, path));
    }

    [Fact]
    public void Cli_train_starts_from_init_and_freezes_a_prefix()
    {
        using var dir = new CliTempDir();
        string data = Path.Combine(dir.Path, "digits");
        FakeMnist.Write(data, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", 60, size: 8, classes: 4);
        string first = dir.File("first.safetensors"), second = dir.File("second.safetensors");
        var r1 = NablaCli.Run("train", "--data", data, "--layers", "6", "--epochs", "1", "--out", first);
        Assert.True(r1.Code == 0, r1.ToString());
        var r2 = NablaCli.Run("train", "--data", data, "--layers", "6", "--epochs", "2", "--init", first, "--freeze", "0", "--out", second);
        Assert.True(r2.Code == 0, r2.ToString());
        Assert.Contains("loaded 4 tensors", r2.Out);
        Assert.Contains("0.weight, 0.bias", r2.Out);
        var a = SafeTensors.Load(first).Tensors;
        var b = SafeTensors.Load(second).Tensors;
        Assert.Equal(a["0.weight"].ToArray(), b["0.weight"].ToArray()); // frozen: unchanged
        Assert.NotEqual(a["2.weight"].ToArray(), b["2.weight"].ToArray()); // trained on
        var bad = NablaCli.Run("train", "--data", data, "--layers", "6", "--epochs", "1", "--freeze", "body", "--out", second);
        Assert.Equal(2, bad.Code);
        Assert.Contains("--freeze", bad.Err);
    }
}
