using System.Globalization;
using System.Text.Json;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Interactions;
using OpenQA.Selenium.Support.UI;
using Xunit.Abstractions;

namespace Nabla.Playground.Tests;

/// <summary>
/// The playground in headless Chromium: every page loads without a console error (screenshot of each kept),
/// drawn digits are read, XOR trains to 100 %, the learning rate changes the curve, the perceptron and the
/// one-neuron pages react; the speed figures are written to playground-bench.json (not asserted: no timed tests).
/// </summary>
public sealed class PlaygroundBrowserTests(PlaygroundFixture fx, ITestOutputHelper output) : IClassFixture<PlaygroundFixture>
{
    private ChromeDriver D => fx.Driver!;

    private static double Num(string? s) => double.Parse(s!, CultureInfo.InvariantCulture);

    private IWebElement Wait(string css, int seconds = 60) =>
        new WebDriverWait(D, TimeSpan.FromSeconds(seconds)).Until(d => d.FindElements(By.CssSelector(css)).FirstOrDefault());

    private void WaitFor(Func<bool> condition, string what, int seconds = 60)
    {
        var wait = new WebDriverWait(D, TimeSpan.FromSeconds(seconds)) { Message = what };
        wait.IgnoreExceptionTypes(typeof(StaleElementReferenceException));
        wait.Until(_ => condition());
    }

    private string Attr(string css, string name) => Wait(css).GetAttribute(name) ?? "";

    /// <summary>Loads the app at its root (a full page load) and waits for Blazor to render the navigation.</summary>
    private void Open()
    {
        D.Navigate().GoToUrl(fx.Server!.BaseAddress);
        Wait("#nav-handwriting", 120);
        WaitFor(() => Attr("#model-info", "data-ready") == "1", "the digit model loaded");
    }

    /// <summary>Navigates inside the app (no reload) by its menu.</summary>
    private void Go(string nav, string readyCss)
    {
        if (D.FindElements(By.Id("nav-handwriting")).Count == 0) Open();
        Wait("#" + nav).Click();
        Wait(readyCss);
    }

    private void Screenshot(string name)
    {
        string path = Path.Combine(fx.ArtifactDir, name + ".png");
        D.GetScreenshot().SaveAsFile(path);
        output.WriteLine($"screenshot: {path}");
    }

    private List<string> SevereConsoleEntries() =>
        D.Manage().Logs.GetLog(LogType.Browser).Where(e => e.Level >= LogLevel.Severe).Select(e => e.Message).ToList();

    private void Draw(IEnumerable<(int X, int Y)> points)
    {
        var pad = Wait("#pad");
        var pts = points.ToList();
        var actions = new Actions(D).MoveToElement(pad, pts[0].X, pts[0].Y).ClickAndHold();
        for (int i = 1; i < pts.Count; i++) actions = actions.MoveByOffset(pts[i].X - pts[i - 1].X, pts[i].Y - pts[i - 1].Y);
        actions.Release().Perform();
    }

    private int DrawAndRead(IEnumerable<(int X, int Y)> points)
    {
        Wait("#clear").Click();
        WaitFor(() => Attr("#prediction", "data-class") == "", "the pad cleared");
        Draw(points);
        WaitFor(() => Attr("#prediction", "data-class") != "", "a prediction after drawing");
        Thread.Sleep(300); // the last queued prediction (pointer up) lands
        return int.Parse(Attr("#prediction", "data-class"), CultureInfo.InvariantCulture);
    }

    private static IEnumerable<(int, int)> OneStroke() => Enumerable.Range(0, 13).Select(i => (4 - i * 8 / 12, -90 + 15 * i));

    private static IEnumerable<(int, int)> ZeroStroke() =>
        Enumerable.Range(0, 37).Select(i => ((int)Math.Round(55 * Math.Sin(2 * Math.PI * i / 36)), (int)Math.Round(-85 * Math.Cos(2 * Math.PI * i / 36))));

    [BrowserFact]
    public void Every_page_loads_without_console_errors_and_is_screenshot()
    {
        Open();
        Screenshot("handwriting");
        Go("nav-training", "#loss-chart");
        Screenshot("training");
        Go("nav-perceptron", "#perceptron-plot");
        Screenshot("perceptron");
        Go("nav-one-neuron", "#one-loss-chart");
        Screenshot("one-neuron");
        var severe = SevereConsoleEntries();
        Assert.True(severe.Count == 0, "console errors:\n" + string.Join("\n", severe));
        Assert.Empty(D.FindElements(By.CssSelector("#blazor-error-ui[style*='block']")));
    }

    [BrowserFact]
    public void Drawn_one_and_zero_are_read_as_1_and_0()
    {
        Go("nav-handwriting", "#pad");
        WaitFor(() => Attr("#model-info", "data-ready") == "1", "the digit model loaded");
        Assert.Equal(1, DrawAndRead(OneStroke()));
        Screenshot("handwriting-1");
        Assert.Equal(0, DrawAndRead(ZeroStroke()));
        Screenshot("handwriting-0");
        Assert.Empty(SevereConsoleEntries());
    }

    [BrowserFact]
    public void Xor_trains_to_100_percent_and_the_loss_falls()
    {
        Go("nav-training", "#loss-chart");
        new SelectElement(Wait("#dataset")).SelectByValue("xor");
        Wait("#reset").Click();
        Wait("#start").Click();
        WaitFor(() => Num(Attr("#accuracy", "data-value")) >= 1.0 && Num(Attr("#steps", "data-value")) >= 100, "XOR at 100 % accuracy", 90);
        Wait("#pause").Click();
        var losses = Attr("#loss-chart", "data-values").Split(',').Select(Num).ToArray();
        output.WriteLine($"XOR: {losses.Length} loss points, {losses[0]:G4} → {losses[^1]:G4}");
        Assert.True(losses[^1] < 0.5 * losses[0], $"loss {losses[0]} → {losses[^1]} did not fall by half");
        Screenshot("training-xor");
    }

    private double[] CurveAfterSteps(string learningRate, int steps)
    {
        var lr = Wait("#lr");
        lr.Clear();
        lr.SendKeys(learningRate + Keys.Tab);
        WaitFor(() => Attr("#steps", "data-value") == "0", "a reset after the change");
        var step = Wait("#step");
        for (int i = 0; i < steps; i++) step.Click();
        WaitFor(() => Attr("#steps", "data-value") == steps.ToString(CultureInfo.InvariantCulture), $"{steps} steps");
        return Attr("#loss-chart", "data-values").Split(',').Select(Num).ToArray();
    }

    [BrowserFact]
    public void Changing_the_learning_rate_changes_the_curve()
    {
        Go("nav-training", "#loss-chart");
        new SelectElement(Wait("#dataset")).SelectByValue("circle");
        new SelectElement(Wait("#optimizer")).SelectByValue("gd");
        var slow = CurveAfterSteps("0.01", 30);
        var fast = CurveAfterSteps("0.5", 30);
        output.WriteLine($"η = 0.01: {string.Join(", ", slow.Select(v => v.ToString("F4", CultureInfo.InvariantCulture)))}");
        output.WriteLine($"η = 0.5:  {string.Join(", ", fast.Select(v => v.ToString("F4", CultureInfo.InvariantCulture)))}");
        Assert.Equal(slow.Length, fast.Length);
        Assert.Equal(slow[0], fast[0], 6); // same seed, same start
        Assert.True(fast[^1] < slow[^1] - 0.01, $"after 30 steps η = 0.5 gave {fast[^1]}, η = 0.01 gave {slow[^1]}");
        Screenshot("training-learning-rate");
    }

    [BrowserFact]
    public void Perceptron_converges_on_and_but_not_on_xor()
    {
        Go("nav-perceptron", "#perceptron-plot");
        new SelectElement(Wait("#gate")).SelectByValue("and");
        Wait("#p-step").Click();
        WaitFor(() => Wait("#p-last").Text.Contains("x = (0, 0)"), "one step shown");
        Wait("#p-run").Click();
        WaitFor(() => Wait("#p-status").Text.StartsWith("converged", StringComparison.Ordinal), "AND converged");
        Assert.NotEmpty(D.FindElements(By.Id("p-line")));
        Screenshot("perceptron-and");
        new SelectElement(Wait("#gate")).SelectByValue("xor");
        Wait("#p-run").Click();
        WaitFor(() => Wait("#p-status").Text.StartsWith("not converged", StringComparison.Ordinal), "XOR not converged");
    }

    [BrowserFact]
    public void One_neuron_page_shows_what_too_large_a_learning_rate_does()
    {
        Go("nav-one-neuron", "#one-loss-chart");
        Assert.Contains("fits the data", Wait("#one-verdict").Text);
        var lr = Wait("#one-lr");
        lr.Clear();
        lr.SendKeys("1.5" + Keys.Tab);
        WaitFor(() => Wait("#one-verdict").Text.Contains("diverges"), "divergence at η = 1.5");
        lr = Wait("#one-lr");
        lr.Clear();
        lr.SendKeys("0.5" + Keys.Tab);
        WaitFor(() => Wait("#one-verdict").Text.Contains("dead"), "a dead neuron at η = 0.5");
        Screenshot("one-neuron-dead");
    }

    [BrowserFact]
    public void Speed_is_measured_in_the_browser()
    {
        // First load: everything the browser fetched until the digit model is ready, as sent (compressed).
        if (D.FindElements(By.Id("nav-handwriting")).Count == 0) Open();
        // A cold cache: the HTTP cache and Blazor's resource cache (Cache Storage) emptied.
        D.ExecuteScript("return caches.keys().then(ks => Promise.all(ks.map(k => caches.delete(k))));");
        D.ExecuteCdpCommand("Network.clearBrowserCache", new Dictionary<string, object?>());
        D.Navigate().GoToUrl("about:blank");
        fx.Server!.ResetCounts();
        Open();
        long firstLoad = fx.Server.Sent.Values.Sum(v => v.Bytes);
        var encodings = fx.Server.Sent.Values.GroupBy(v => v.Encoding.Length == 0 ? "identity" : v.Encoding).ToDictionary(g => g.Key, g => g.Sum(v => v.Bytes));
        long brotli = 0, gzip = 0, raw = 0;
        foreach (var path in fx.Server.Sent.Keys)
        {
            string f = Path.Combine(fx.WwwRoot, path.TrimStart('/'));
            if (!File.Exists(f)) f = Path.Combine(fx.WwwRoot, "index.html");
            raw += new FileInfo(f).Length;
            brotli += File.Exists(f + ".br") ? new FileInfo(f + ".br").Length : new FileInfo(f).Length;
            gzip += File.Exists(f + ".gz") ? new FileInfo(f + ".gz").Length : new FileInfo(f).Length;
        }

        // Digit prediction after load: draw, then read the page's own timing (centring + forward) and the JS round trip.
        var ms = new List<double>();
        for (int i = 0; i < 5; i++)
        {
            DrawAndRead(i % 2 == 0 ? OneStroke() : ZeroStroke());
            ms.Add(Num(Attr("#timing", "data-ms")));
        }
        var roundTrips = ((IEnumerable<object>)D.ExecuteScript("return window.nablaPlayground.timings.predictRoundTripMs;")!)
            .Select(o => Convert.ToDouble(o, CultureInfo.InvariantCulture)).ToList();

        // 2-D training at batch 32: spirals, 2-16-16-2 ReLU, Adam (the defaults); about 3 s of training.
        Go("nav-training", "#loss-chart");
        new SelectElement(Wait("#dataset")).SelectByValue("spirals");
        var hidden = Wait("#hidden");
        hidden.Clear();
        hidden.SendKeys("16,16" + Keys.Tab);
        WaitFor(() => Attr("#steps", "data-value") == "0", "reset");
        Wait("#start").Click();
        Thread.Sleep(3000);
        Wait("#pause").Click();
        Screenshot("training-spirals");
        double stepsPerS = Num(Attr("#speed", "data-steps-per-s")), framesPerS = Num(Attr("#speed", "data-frames-per-s"));
        double wallStepsPerS = Num(Attr("#speed", "data-wall-steps-per-s")), drawMs = Num(Attr("#speed", "data-draw-ms"));
        int steps = int.Parse(Attr("#steps", "data-value"), CultureInfo.InvariantCulture);

        var report = new
        {
            browser = D.Capabilities.GetCapability("browserVersion"),
            first_load_bytes_sent = firstLoad,
            first_load_encodings = encodings,
            first_load_brotli_bytes = brotli,
            first_load_gzip_bytes = gzip,
            first_load_uncompressed_bytes = raw,
            accept_encoding = fx.Server.LastAcceptEncoding,
            files = fx.Server.Sent.Count,
            predict_ms = ms,
            predict_round_trip_ms = roundTrips,
            training_steps_per_s_while_stepping = stepsPerS,
            training_steps_per_s_wall = wallStepsPerS,
            training_draw_ms = drawMs,
            training_frames_per_s = framesPerS,
            training_steps = steps,
        };
        string json = JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true });
        File.WriteAllText(Path.Combine(fx.ArtifactDir, "playground-bench.json"), json);
        output.WriteLine(json);
        Assert.True(steps > 0 && ms.All(v => v > 0));
    }
}
