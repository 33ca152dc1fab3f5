using Nabla.Data;

namespace Nabla.Tests.Data;

public class DigitImageTests
{
    [Fact]
    public void AStrokeOnAWhiteCanvasBecomesCentredInkLikeMnist()
    {
        // The playground's pad: 280×280, white paper, a black vertical stroke near the left edge.
        const int n = 280;
        var gray = new float[n * n];
        Array.Fill(gray, 1f);
        for (int y = 40; y < 240; y++)
            for (int x = 30; x < 50; x++) gray[y * n + x] = 0f;
        var ink = DigitImage.ToInk(gray, n, n, out bool inverted);
        Assert.True(inverted);
        var input = DigitImage.CenterByMass(ink, n, n, 28, 28);
        Assert.Equal(784, input.Length);
        double mass = 0, mx = 0, my = 0;
        int top = 28, bottom = -1;
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++)
            {
                float v = input[y * 28 + x];
                Assert.InRange(v, 0f, 1f);
                mass += v; mx += v * (x + 0.5); my += v * (y + 0.5);
                if (v > 0.5f) { top = Math.Min(top, y); bottom = Math.Max(bottom, y); }
            }
        Assert.Equal(20, bottom - top + 1); // the stroke's 200 px scaled to 20
        Assert.InRange(mx / mass, 13.5, 14.5);
        Assert.InRange(my / mass, 13.5, 14.5);
    }

    [Fact]
    public void AnEmptyCanvasGivesNoInk()
    {
        var gray = new float[50 * 40];
        Array.Fill(gray, 1f);
        var input = DigitImage.CenterByMass(DigitImage.ToInk(gray, 50, 40, out _), 50, 40, 28, 28);
        Assert.All(input, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void AWrongSizeIsAClearError()
    {
        var e = Assert.Throws<ArgumentException>(() => DigitImage.ToInk(new float[10], 4, 3, out _));
        Assert.Contains("10 values", e.Message);
        Assert.Contains("4x3", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => DigitImage.CenterByMass(new float[4], 2, 2, 0, 28));
    }
}
