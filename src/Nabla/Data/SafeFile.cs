using System.Runtime.InteropServices;
using System.Text;

namespace Nabla.Data;

/// <summary>
/// Opens files that readers are about to parse, refusing what is not a regular file before a byte is read:
/// an empty path, a folder, a FIFO (opening one would block until a writer comes), a character device such as
/// <c>/dev/zero</c> or <c>/dev/urandom</c> (endless data), a socket. Every refusal is an
/// <see cref="InvalidDataFileException"/> naming the file and what it is.
/// </summary>
public static class SafeFile
{
    /// <summary>Checks <paramref name="path"/> and opens it for reading (sequential, shared read).</summary>
    /// <param name="path">The file.</param>
    /// <param name="what">What the file is for, in messages (e.g. "model file").</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataFileException">The path is empty, a folder or not a regular file.</exception>
    public static FileStream OpenRead(string path, string what)
    {
        string full = Check(path, what);
        var fs = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        if (!fs.CanSeek)
        {
            fs.Dispose();
            throw new InvalidDataFileException(path, -1, $"{path}: the {what} is not a regular file (a pipe, socket or device); give a file.");
        }
        return fs;
    }

    /// <summary>
    /// Reads a whole file of at most <paramref name="maxBytes"/> bytes, after the checks of <see cref="OpenRead"/>;
    /// the size is checked before the buffer is made, and a "file" that yields more bytes than its size says
    /// (a device) is refused.
    /// </summary>
    /// <exception cref="InvalidDataFileException">See <see cref="OpenRead"/>, or the file is larger than <paramref name="maxBytes"/>.</exception>
    public static byte[] ReadAllBytes(string path, string what, long maxBytes)
    {
        using var fs = OpenRead(path, what);
        long length = fs.Length;
        if (length > maxBytes)
            throw new InvalidDataFileException(path, 0, $"{path}: the {what} is {length} bytes long; at most {maxBytes} bytes are accepted.");
        var bytes = new byte[length];
        fs.ReadExactly(bytes);
        EnsureEnd(fs, path, what, length);
        return bytes;
    }

    /// <summary>Throws unless <paramref name="stream"/> is at its end (a device keeps yielding bytes past its stated size).</summary>
    internal static void EnsureEnd(Stream stream, string path, string what, long offset)
    {
        if (stream.ReadByte() >= 0)
            throw new InvalidDataFileException(path, offset, $"{path}: the {what} yields more than its stated {offset} bytes; it is not a regular file (a device?).");
    }

    /// <summary>Validates the path and the kind of file; returns the full path.</summary>
    internal static string Check(string path, string what)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (string.IsNullOrWhiteSpace(path))
            throw new InvalidDataFileException(path, -1, $"the {what} path is empty; give a file name.");
        string full;
        try { full = Path.GetFullPath(path); }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new InvalidDataFileException(path, -1, $"'{path}' is not a usable {what} path: {e.Message}");
        }
        if (Directory.Exists(full))
            throw new InvalidDataFileException(path, -1, $"{path}: the {what} is a folder; give a file.");
        var kind = Kind(full);
        if (kind is not (null or FileKind.Regular))
            throw new InvalidDataFileException(path, -1, $"{path}: the {what} is a {Describe(kind.Value)}, not a regular file; give a file.");
        if (!File.Exists(full))
            throw new FileNotFoundException($"{what} {full} does not exist.", full);
        return full;
    }

    private enum FileKind { Regular, Directory, Fifo, CharDevice, BlockDevice, Socket, Other }

    private static string Describe(FileKind k) => k switch
    {
        FileKind.Fifo => "FIFO (named pipe)",
        FileKind.CharDevice => "character device",
        FileKind.BlockDevice => "block device",
        FileKind.Socket => "socket",
        FileKind.Directory => "folder",
        _ => "special file",
    };

    // The file type from stat(2) through the runtime's own System.Native shim (the same call File.Exists makes):
    // its FileStatus starts with Flags then Mode, whatever the platform's struct stat looks like. Null when the
    // shim is unavailable (Windows, where none of these special files exist) or the path cannot be stat'ed.
    private static FileKind? Kind(string full)
    {
        if (OperatingSystem.IsWindows()) return null;
        try
        {
            var status = new byte[512];
            byte[] p = Encoding.UTF8.GetBytes(full + "\0");
            if (Native.Stat(p, status) != 0) return null;
            int mode = BitConverter.ToInt32(status, 4);
            return (mode & 0xF000) switch
            {
                0x8000 => FileKind.Regular,
                0x4000 => FileKind.Directory,
                0x1000 => FileKind.Fifo,
                0x2000 => FileKind.CharDevice,
                0x6000 => FileKind.BlockDevice,
                0xC000 => FileKind.Socket,
                _ => FileKind.Other,
            };
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    private static class Native
    {
        [DllImport("libSystem.Native", EntryPoint = "SystemNative_Stat")]
        internal static extern int Stat(byte[] path, [In, Out] byte[] status);
    }
}
