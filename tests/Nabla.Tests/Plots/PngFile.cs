using System.Buffers.Binary;

namespace Nabla.Tests.Plots;

/// <summary>Checks that a file is a PNG: the 8-byte signature, then the IHDR chunk with the image size.</summary>
internal static class PngFile
{
    private static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Asserts that <paramref name="path"/> is a PNG of at least <paramref name="minBytes"/> bytes; returns its width and height.</summary>
    public static (int Width, int Height) AssertValid(string path, int minBytes = 8 * 1024)
    {
        Assert.True(File.Exists(path), $"{path} was not written");
        var bytes = File.ReadAllBytes(path);
        Assert.True(bytes.Length >= minBytes, $"{path} has {bytes.Length} bytes, expected at least {minBytes}");
        Assert.Equal(Signature, bytes[..8]);
        // The first chunk: length 13, type IHDR, width and height as big-endian int32.
        Assert.Equal(13, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(8)));
        Assert.Equal("IHDR"u8.ToArray(), bytes[12..16]);
        int width = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16));
        int height = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20));
        Assert.True(width > 0 && height > 0, $"{path}: IHDR says {width}x{height}");
        // The last chunk is IEND: the file is complete.
        Assert.Equal("IEND"u8.ToArray(), bytes[^8..^4]);
        return (width, height);
    }
}
