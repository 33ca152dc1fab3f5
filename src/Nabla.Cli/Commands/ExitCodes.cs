namespace Nabla.Cli.Commands;

/// <summary>The tool's exit codes.</summary>
public static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>An unexpected error (a bug): the message names the exception type.</summary>
    public const int Internal = 1;

    /// <summary>Bad usage or input: unknown option, missing folder or file, malformed file, wrong shapes.</summary>
    public const int Usage = 2;

    /// <summary>Training diverged (the loss became NaN or infinite).</summary>
    public const int Diverged = 3;
}

/// <summary>A problem with what the user asked for or gave us; printed as one red line, exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
