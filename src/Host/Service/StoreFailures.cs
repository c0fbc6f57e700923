using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Verified.Host.Service;

/// <summary>
/// What counts as a failed write of the service's files (the SQLite store, checkpoints, artifacts), and which failures
/// are worth retrying. A failed write fails the run it belongs to (or the request that asked for it); it never stops
/// the service.
/// </summary>
internal static partial class StoreFailures
{
    // SQLite result codes (primary, low byte) that another writer or a passing I/O condition can cause.
    private const int SqliteBusy = 5;
    private const int SqliteLocked = 6;
    private const int SqliteIoError = 10;
    private const int SqliteFull = 13;

    /// <summary>Whether <paramref name="exception"/> is the file system or the database refusing a write or a read.</summary>
    public static bool IsWriteFailure(Exception exception) =>
        exception is SqliteException or IOException or UnauthorizedAccessException;

    /// <summary>
    /// Whether a retry may succeed: SQLite busy or locked (another writer), an I/O error or a full disk (space may be
    /// freed), or an I/O error of the file system that is not a missing or misplaced path. Permissions and paths that
    /// are not directories do not change by themselves.
    /// </summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        SqliteException sqlite => (sqlite.SqliteErrorCode & 0xFF) is SqliteBusy or SqliteLocked or SqliteIoError or SqliteFull,
        FileNotFoundException or DirectoryNotFoundException or PathTooLongException => false,
        IOException io => !PathIsBlocked(io),
        _ => false,
    };

    // "Not a directory" / "File exists": a file stands where a directory must be; retrying cannot help.
    private static bool PathIsBlocked(IOException exception) =>
        exception.Message.Contains("Not a directory", StringComparison.OrdinalIgnoreCase)
        || exception.Message.Contains("already exists", StringComparison.OrdinalIgnoreCase);

    [LoggerMessage(Level = LogLevel.Error, Message = "The store {Store} refused a write: {Reason}")]
    public static partial void LogRefused(ILogger logger, string store, string reason);
}

/// <summary>The <c>type</c> URIs of the API's problem details (docs/service.md, "Errors").</summary>
internal static class ProblemTypes
{
    /// <summary>The body is not UTF-8 or not JSON (400).</summary>
    public const string InvalidBody = "urn:verified:problem:invalid-body";

    /// <summary>The spec has invalid fields, exceeds a limit, or its estimate exceeds the memory cap (400).</summary>
    public const string InvalidSpec = "urn:verified:problem:invalid-spec";

    /// <summary>The body is not declared as application/json (415).</summary>
    public const string UnsupportedMediaType = "urn:verified:problem:unsupported-media-type";

    /// <summary>The store refused a write (read-only, disk full, I/O error) (503).</summary>
    public const string StoreUnavailable = "urn:verified:problem:store-unavailable";
}
