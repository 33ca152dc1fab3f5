using Nabla.Autograd;
using Nabla.Data;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;

namespace Nabla.Playground.Lab;

/// <summary>The settings of a 2-D training run (the controls of the Training page).</summary>
public sealed class TwoDSettings
{
    /// <summary>xor, spirals, blobs, circle or toy.</summary>
    public string DataSet { get; set; } = "xor";
    /// <summary>Hidden layer widths, comma separated ("" = a linear model).</summary>
    public string Hidden { get; set; } = "16,16";
    /// <summary>relu, tanh or sigmoid.</summary>
    public string Activation { get; set; } = "relu";
    /// <summary>gd, momentum, nesterov, adagrad, rmsprop or adam.</summary>
    public string Optimizer { get; set; } = "adam";
    /// <summary>Learning rate η.</summary>
    public float LearningRate { get; set; } = 0.03f;
    /// <summary>Mini-batch size (capped at the data set's size).</summary>
    public int BatchSize { get; set; } = 32;
    /// <summary>L2 regularisation λ (the optimisers' weight decay).</summary>
    public float L2 { get; set; }
    /// <summary>Dropout probability after each hidden layer.</summary>
    public float Dropout { get; set; }
    /// <summary>Seed of the data, the initialisation and the batches.</summary>
    public int Seed { get; set; } = 1;
}

/// <summary>
/// One training run on a small 2-D (or, for the notes' toy problem, 4-D) classification set: an MLP built from
/// <see cref="TwoDSettings"/>, cross-entropy loss, one of the library's optimisers, mini-batch steps, the full-data
/// loss and accuracy, and the decision field over the plotted plane.
/// </summary>
public sealed class TwoDLab
{
    /// <summary>The data sets offered, with their labels.</summary>
    public static readonly (string Key, string Label)[] DataSets =
    [
        ("xor", "XOR (the four points of note 002)"),
        ("spirals", "two spirals"),
        ("blobs", "three Gaussian blobs"),
        ("circle", "circle (disc inside a ring)"),
        ("toy", "the notes' toy problem: bright/dark 2×2 images (note 000)"),
    ];

    /// <summary>Steps between two points of the loss and accuracy curves.</summary>
    public const int RecordEvery = 5;

    private readonly Dataset data;
    private readonly int dims;
    private readonly Tensor all;
    private readonly CrossEntropyLoss loss = new();
    private readonly Random rng;
    private int[] order;
    private int cursor;

    /// <summary>The model being trained.</summary>
    public Sequential Model { get; }

    /// <summary>Its optimiser.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The settings the run was built from.</summary>
    public TwoDSettings Settings { get; }

    /// <summary>Mini-batch steps taken.</summary>
    public int Steps { get; private set; }

    /// <summary>Full-data loss every <see cref="RecordEvery"/> steps (the first at step 0).</summary>
    public List<double> Losses { get; } = [];

    /// <summary>Full-data accuracy every <see cref="RecordEvery"/> steps.</summary>
    public List<double> Accuracies { get; } = [];

    /// <summary>The points to plot: plane coordinates and class.</summary>
    public (float X, float Y, int Label)[] Points { get; }

    /// <summary>Number of classes.</summary>
    public int Classes => data.NumClasses;

    /// <summary>The plotted plane: [Min, Max] on both axes.</summary>
    public (float Min, float Max) View { get; }

    /// <summary>Builds the data, the model and the optimiser; records the loss before training.</summary>
    public TwoDLab(TwoDSettings settings)
    {
        Settings = settings;
        if (!(settings.LearningRate > 0 && float.IsFinite(settings.LearningRate)))
            throw new ArgumentException($"the learning rate must be a positive number, got {settings.LearningRate}.");
        if (settings.BatchSize < 1) throw new ArgumentException($"the batch size must be at least 1, got {settings.BatchSize}.");
        if (!(settings.Dropout >= 0 && settings.Dropout < 1)) throw new ArgumentException($"dropout must be in [0, 1), got {settings.Dropout}.");
        if (!(settings.L2 >= 0)) throw new ArgumentException($"L2 must be non-negative, got {settings.L2}.");
        data = MakeData(settings.DataSet, settings.Seed);
        View = settings.DataSet switch { "xor" => (-0.5f, 1.5f), "toy" => (0f, 1f), _ => (-1.5f, 1.5f) };
        all = data.ToTensor();
        dims = data.SampleShape[0];
        Points = new (float, float, int)[data.Count];
        var f = data.Features;
        for (int i = 0; i < data.Count; i++)
            Points[i] = dims == 2
                ? (f[2 * i], f[2 * i + 1], data.Labels[i])
                : ((f[4 * i] + f[4 * i + 1]) / 2, (f[4 * i + 2] + f[4 * i + 3]) / 2, data.Labels[i]);

        rng = new Random(settings.Seed);
        Model = BuildModel(dims, data.NumClasses, settings, rng);
        var ps = Model.Parameters();
        float lr = settings.LearningRate, l2 = settings.L2;
        Optimizer = settings.Optimizer switch
        {
            "gd" => new Sgd(ps, lr, weightDecay: l2),
            "momentum" => new Sgd(ps, lr, momentum: 0.9f, weightDecay: l2),
            "nesterov" => new Sgd(ps, lr, momentum: 0.9f, nesterov: true, weightDecay: l2),
            "adagrad" => new Adagrad(ps, lr, weightDecay: l2),
            "rmsprop" => new RmsProp(ps, lr, weightDecay: l2),
            "adam" => new Adam(ps, lr, weightDecay: l2),
            _ => throw new ArgumentException($"unknown optimiser '{settings.Optimizer}'."),
        };
        order = Enumerable.Range(0, data.Count).ToArray();
        Shuffle();
        Record();
    }

    /// <summary>Parses "8,8" into widths; "" or "none" is a linear model.</summary>
    public static int[] ParseHidden(string text)
    {
        if (string.IsNullOrWhiteSpace(text) || text.Trim() == "none") return [];
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length > 6) throw new ArgumentException($"at most 6 hidden layers, got {parts.Length}.");
        return parts.Select(p => int.TryParse(p, out int w) && w is >= 1 and <= 256 ? w
            : throw new ArgumentException($"hidden layer width '{p}' must be a whole number from 1 to 256.")).ToArray();
    }

    private static Sequential BuildModel(int dims, int classes, TwoDSettings s, Random rng)
    {
        var model = new Sequential();
        int width = dims;
        foreach (int h in ParseHidden(s.Hidden))
        {
            model.Add(new Linear(width, h, rng: rng));
            model.Add(s.Activation switch
            {
                "relu" => new ReLU(),
                "tanh" => new Tanh(),
                "sigmoid" => new Sigmoid(),
                _ => throw new ArgumentException($"unknown activation '{s.Activation}'."),
            });
            if (s.Dropout > 0) model.Add(new Nabla.Nn.Dropout(s.Dropout, rng));
            width = h;
        }
        model.Add(new Linear(width, classes, rng: rng));
        return model;
    }

    /// <summary>The data set named <paramref name="key"/> (see <see cref="DataSets"/>).</summary>
    public static Dataset MakeData(string key, int seed) => key switch
    {
        "xor" => Synthetic.Xor(),
        "spirals" => Synthetic.Spirals(100, 0.04, seed),
        "blobs" => Synthetic.Blobs(60, 3, 0.3, seed),
        "circle" => Circle(100, seed),
        "toy" => Synthetic.BrightDark(200, seed),
        _ => throw new ArgumentException($"unknown data set '{key}'."),
    };

    // A disc of radius 0.5 (class 0) inside a ring from radius 0.8 to 1.1 (class 1).
    private static Dataset Circle(int perClass, int seed)
    {
        var r = new Random(seed);
        var f = new float[4 * perClass];
        var l = new int[2 * perClass];
        for (int i = 0; i < 2 * perClass; i++)
        {
            int c = i % 2;
            double radius = c == 0 ? 0.5 * Math.Sqrt(r.NextDouble()) : 0.8 + 0.3 * r.NextDouble();
            double a = 2 * Math.PI * r.NextDouble();
            f[2 * i] = (float)(radius * Math.Cos(a));
            f[2 * i + 1] = (float)(radius * Math.Sin(a));
            l[i] = c;
        }
        return new Dataset(f, [2], l, 2, "circle");
    }

    private void Shuffle()
    {
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        cursor = 0;
    }

    /// <summary>One mini-batch step (forward, loss, backward, optimiser step); returns the batch loss.</summary>
    public double Step()
    {
        int b = Math.Min(Settings.BatchSize, data.Count);
        if (cursor + b > order.Length) Shuffle();
        var x = new float[b * dims];
        var y = new int[b];
        for (int i = 0; i < b; i++)
        {
            int k = order[cursor + i];
            Array.Copy(data.Features, k * dims, x, i * dims, dims);
            y[i] = data.Labels[k];
        }
        cursor += b;
        Model.Train();
        Optimizer.ZeroGrad();
        var l = loss.Forward(Model.Forward(Tensor.FromArray(x, b, dims)), y);
        l.Backward();
        Optimizer.Step();
        Steps++;
        if (Steps % RecordEvery == 0) Record();
        return l.Item();
    }

    /// <summary>Full-data loss and accuracy in evaluation mode.</summary>
    public (double Loss, double Accuracy) Evaluate()
    {
        Model.Eval();
        using var _ = GradMode.NoGrad();
        var logits = Model.Forward(all);
        double l = loss.Forward(logits, data.Labels).Item();
        var z = logits.ToArray();
        int k = data.NumClasses, correct = 0;
        for (int i = 0; i < data.Count; i++)
        {
            int best = 0;
            for (int c = 1; c < k; c++) if (z[i * k + c] > z[i * k + best]) best = c;
            if (best == data.Labels[i]) correct++;
        }
        return (l, (double)correct / data.Count);
    }

    private void Record()
    {
        var (l, a) = Evaluate();
        Losses.Add(l);
        Accuracies.Add(a);
    }

    /// <summary>Class colours (RGB) of the field and the points.</summary>
    public static readonly (byte R, byte G, byte B)[] Palette = [(232, 119, 34), (52, 120, 198), (60, 160, 80)];

    /// <summary>
    /// The decision field on an n×n grid over <see cref="View"/> (row 0 at the top) as RGBA bytes: each cell the
    /// class colours mixed by the predicted probabilities, paler where the model is unsure.
    /// </summary>
    public byte[] Field(int n)
    {
        var grid = new float[n * n * dims];
        var (lo, hi) = View;
        for (int r = 0; r < n; r++)
            for (int c = 0; c < n; c++)
            {
                float px = lo + (hi - lo) * (c + 0.5f) / n, py = hi - (hi - lo) * (r + 0.5f) / n;
                int o = (r * n + c) * dims;
                if (dims == 2) { grid[o] = px; grid[o + 1] = py; }
                else { grid[o] = grid[o + 1] = px; grid[o + 2] = grid[o + 3] = py; } // the toy problem's plane: [a, a, b, b]
            }
        Model.Eval();
        float[] p;
        using (GradMode.NoGrad()) p = Ops.Softmax(Model.Forward(Tensor.FromArray(grid, n * n, dims))).ToArray();
        int k = data.NumClasses;
        var rgba = new byte[n * n * 4];
        for (int i = 0; i < n * n; i++)
        {
            double r = 0, g = 0, b = 0, top = 0;
            for (int c = 0; c < k; c++)
            {
                double q = p[i * k + c];
                r += q * Palette[c].R; g += q * Palette[c].G; b += q * Palette[c].B;
                top = Math.Max(top, q);
            }
            // Confidence (1/k … 1) → strength of the colour over white.
            double s = 0.25 + 0.55 * (top - 1.0 / k) / (1 - 1.0 / k);
            rgba[4 * i] = (byte)(255 - s * (255 - r));
            rgba[4 * i + 1] = (byte)(255 - s * (255 - g));
            rgba[4 * i + 2] = (byte)(255 - s * (255 - b));
            rgba[4 * i + 3] = 255;
        }
        return rgba;
    }
}
