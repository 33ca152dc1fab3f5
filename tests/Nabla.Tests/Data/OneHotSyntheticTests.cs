using Nabla.Data;

namespace Nabla.Tests.Data;

public class OneHotSyntheticTests
{
    [Fact]
    public void OneHot_EncodesRows()
    {
        var t = OneHot.Encode(new[] { 2, 0, 1 }, 3);
        Assert.Equal(new[] { 3, 3 }, t.Shape.ToArray());
        Assert.Equal(new float[] { 0, 0, 1, 1, 0, 0, 0, 1, 0 }, t.ToArray());
        Assert.Equal(new[] { 2, 0, 1 }, OneHot.Decode(t));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => OneHot.Encode(new[] { 0, 3 }, 3));
        Assert.Contains("label 3 at position 1", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => OneHot.Encode(new[] { -1 }, 3));

        var buf = new float[8];
        buf.AsSpan().Fill(9f);
        OneHot.Encode(new[] { 1, 0 }, 2, buf.AsSpan(0, 4));
        Assert.Equal(new float[] { 0, 1, 1, 0, 9, 9, 9, 9 }, buf);
    }

    [Fact]
    public void Xor_IsTheFourPoints()
    {
        var x = Synthetic.Xor();
        Assert.Equal(4, x.Count);
        Assert.Equal(2, x.NumClasses);
        for (int i = 0; i < 4; i++)
        {
            var s = x.GetSample(i);
            Assert.Equal((int)s[0] ^ (int)s[1], x.Labels[i]);
        }
    }

    [Fact]
    public void BrightDark_LabelsFollowTheMean_AndAreSeeded()
    {
        var d = Synthetic.BrightDark(500, seed: 3);
        Assert.Equal(new[] { 4 }, d.SampleShape);
        for (int i = 0; i < d.Count; i++)
        {
            var s = d.GetSample(i);
            float mean = (s[0] + s[1] + s[2] + s[3]) / 4f;
            Assert.Equal(mean > 0.5f ? 1 : 0, d.Labels[i]);
            foreach (float v in s) Assert.InRange(v, 0f, 1f);
        }
        var counts = d.ClassCounts();
        Assert.InRange(counts[1], 150, 350);
        Assert.Equal(d.Features, Synthetic.BrightDark(500, 3).Features);
        Assert.NotEqual(d.Features, Synthetic.BrightDark(500, 4).Features);
    }

    [Fact]
    public void Spirals_AndBlobs_AreSeededAndBalanced()
    {
        var s = Synthetic.Spirals(100, 0.05, seed: 1);
        Assert.Equal(200, s.Count);
        Assert.Equal(new[] { 100, 100 }, s.ClassCounts());
        Assert.Equal(s.Features, Synthetic.Spirals(100, 0.05, 1).Features);
        Assert.All(s.Features, v => Assert.InRange(v, -1.5f, 1.5f));

        var b = Synthetic.Blobs(50, 4, 0.1, seed: 2);
        Assert.Equal(200, b.Count);
        Assert.Equal(new[] { 50, 50, 50, 50 }, b.ClassCounts());
        Assert.Equal(b.Features, Synthetic.Blobs(50, 4, 0.1, 2).Features);
        // Points of class 0 sit near (1, 0).
        for (int i = 0; i < b.Count; i++)
            if (b.Labels[i] == 0) Assert.InRange(b.GetSample(i)[0], 0.4f, 1.6f);
    }
}
