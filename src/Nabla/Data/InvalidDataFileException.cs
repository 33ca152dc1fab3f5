namespace Nabla.Data;

/// <summary>
/// Thrown when a data file (an IDX file, gzipped or raw, or an MNIST-style folder) cannot be read:
/// a wrong magic number, an unknown type code, bad dimensions, a truncated or over-long file, or
/// unreadable gzip data. The message names the file and the byte offset of the problem.
/// </summary>
public sealed class InvalidDataFileException : Exception
{
    /// <summary>Creates the exception for <paramref name="path"/> at byte <paramref name="offset"/>.</summary>
    /// <param name="path">The file (or folder) that was being read.</param>
    /// <param name="offset">
    /// Byte offset of the problem, counted in the IDX stream (for a gzipped file: in the decompressed
    /// data; see <see cref="Compressed"/>); -1 when no single offset applies.
    /// </param>
    /// <param name="message">The full message, which already names the file and offset.</param>
    /// <param name="compressed">Whether the file is gzip-compressed.</param>
    /// <param name="inner">The underlying error, if any.</param>
    public InvalidDataFileException(string path, long offset, string message, bool compressed = false, Exception? inner = null)
        : base(message, inner)
    {
        Path = path;
        Offset = offset;
        Compressed = compressed;
    }

    /// <summary>The file or folder that was being read.</summary>
    public string Path { get; }

    /// <summary>
    /// Byte offset of the problem in the IDX stream (for a gzipped file: in the decompressed data),
    /// or -1 when no single offset applies.
    /// </summary>
    public long Offset { get; }

    /// <summary>Whether the file was gzip-compressed, so that <see cref="Offset"/> counts decompressed bytes.</summary>
    public bool Compressed { get; }
}
