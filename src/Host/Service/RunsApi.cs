using System.Globalization;
using System.Buffers;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Verified.Host.Runs;
using Verified.Simulation.Experiments;

namespace Verified.Host.Service;

/// <summary>
/// The HTTP API: submit, list, read, follow and cancel runs, and fetch their metrics and plots. JSON throughout;
/// errors are RFC 9457 problem details (a 400 lists every invalid field under <c>errors</c>).
/// </summary>
internal static class RunsApi
{
    /// <summary>The largest page of <c>GET /api/runs</c>.</summary>
    public const int MaxPage = 1000;

    private const int RowBatch = 1000;

    public static IEndpointRouteBuilder MapRunsApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        RouteGroupBuilder runs = endpoints.MapGroup("/api/runs").WithTags("runs");
        runs.MapPost("/", Submit)
            .WithName("SubmitRun")
            .WithSummary("Queue an experiment spec (the fields of `verified run`).")
            .Accepts<ExperimentSpec>("application/json");
        runs.MapGet("/", List).WithName("ListRuns").WithSummary("Runs in id order, optionally of one status; pages of at most 1000.");
        runs.MapGet("/{id:long}", Get).WithName("GetRun").WithSummary("One run: status, progress, outcome.");
        runs.MapGet("/{id:long}/metrics", Metrics)
            .WithName("GetRunMetrics")
            .WithSummary("Per-round metrics: JSON, or CSV (the columns of metrics.csv) with Accept: text/csv or ?format=csv (a plain link).")
            .Produces<RoundRow[]>(StatusCodes.Status200OK, "application/json")
            .Produces<string>(StatusCodes.Status200OK, "text/csv")
            .ProducesProblem(StatusCodes.Status404NotFound);
        runs.MapGet("/{id:long}/events", Events)
            .WithName("FollowRun")
            .WithSummary("Server-sent events: one 'round' event per stored round (id = round; Last-Event-ID resumes), then one 'end' event with the run.");
        runs.MapPost("/{id:long}/cancel", Cancel).WithName("CancelRun").WithSummary("Cancel a queued run at once, or a running one after its current round.");
        runs.MapGet("/{id:long}/plots/{name}.png", Plot)
            .WithName("GetRunPlot")
            .WithSummary("A PNG figure of the stored rounds: accuracy or loss.")
            .Produces(StatusCodes.Status200OK, contentType: "image/png")
            .ProducesProblem(StatusCodes.Status404NotFound);
        runs.MapGet("/{id:long}/plots/{name}.svg", PlotSvg)
            .WithName("GetRunPlotSvg")
            .WithSummary("The same figure as an SVG document.")
            .Produces(StatusCodes.Status200OK, contentType: "image/svg+xml")
            .ProducesProblem(StatusCodes.Status404NotFound);
        endpoints.MapGet("/api/spec", SpecForm)
            .WithName("GetSpecForm")
            .WithTags("runs")
            .WithSummary("What a spec may hold: its fields, the values a missing field takes, and the choices of the text fields.");
        endpoints.MapGet("/health", Health).WithName("Health").WithTags("service").WithSummary("Liveness and the store's run counts.");
        return endpoints;
    }

    private static async Task<Results<Created<RunResource>, ValidationProblem, ProblemHttpResult>> Submit(
        HttpRequest request, RunStore store, RunSignals signals, RunEstimator estimator, IOptions<ServiceOptions> options, ILoggerFactory logging,
        CancellationToken cancellation)
    {
        if (!request.HasJsonContentType())
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "The body must be JSON.",
                detail: $"Send the spec with Content-Type: application/json (got '{request.ContentType}').",
                type: ProblemTypes.UnsupportedMediaType);
        }
        byte[] body;
        try
        {
            // Kestrel enforces the body limit while this reads (413 below), so the copy is bounded.
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer, cancellation).ConfigureAwait(false);
            body = buffer.ToArray();
        }
        catch (BadHttpRequestException exception)
        {
            return TypedResults.Problem(statusCode: exception.StatusCode, title: "The request body was rejected.",
                detail: exception.StatusCode == StatusCodes.Status413PayloadTooLarge
                    ? string.Create(CultureInfo.InvariantCulture, $"The body is larger than this service's limit of {options.Value.MaxRequestBodyBytes} bytes.")
                    : exception.Message);
        }
        // The JSON parser checks UTF-8 only where it transcodes (a string read later), and then cannot say where: check
        // it all first, so a bad byte is a 400 naming its offset rather than an error deep in the spec reader.
        if (InvalidUtf8Offset(body) is { } offset)
        {
            string message = string.Create(CultureInfo.InvariantCulture,
                $"The body is not valid UTF-8: byte offset {offset} (0x{body[offset]:X2}) starts an invalid sequence. Send the spec as UTF-8 JSON.");
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["body"] = [message] },
                title: "The body is not valid UTF-8.", type: ProblemTypes.InvalidBody);
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body.AsMemory(Utf8Bom(body)));
        }
        catch (JsonException exception)
        {
            return TypedResults.ValidationProblem(
                new Dictionary<string, string[]> { ["body"] = [$"The body is not valid JSON: {exception.Message}"] },
                title: "The body is not JSON.", type: ProblemTypes.InvalidBody);
        }
        using (document)
        {
            ServiceOptions service = options.Value;
            var limits = new SpecLimits(service.MaxClientRounds, Environment.ProcessorCount, service.MaxRunBytes, estimator.For);
            (ExperimentSpec? spec, Dictionary<string, string[]> errors) = SpecReader.Read(document.RootElement, limits);
            if (spec is null)
            {
                return TypedResults.ValidationProblem(errors, title: "The experiment spec is invalid.",
                    detail: string.Create(CultureInfo.InvariantCulture, $"{errors.Count} field(s) are invalid: {string.Join(", ", errors.Keys)}."),
                    type: ProblemTypes.InvalidSpec);
            }
            RunRecord run;
            try
            {
                run = store.Insert(spec);
            }
            catch (Exception exception) when (StoreFailures.IsWriteFailure(exception))
            {
                // The insert is one statement in its own transaction: a refused write stores nothing and loses nothing.
                StoreFailures.LogRefused(logging.CreateLogger(typeof(RunsApi).FullName!), store.Path, exception.Message);
                return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "The store refused the write.",
                    detail: $"The run could not be stored in {store.Path}: {exception.Message}. Nothing was queued and the runs already stored are unchanged; make the store writable (or free space on its disk) and submit again.",
                    type: ProblemTypes.StoreUnavailable);
            }
            signals.PulseQueue();
            return TypedResults.Created(RunResource.Location(run.Id), RunResource.From(run, estimator));
        }
    }

    /// <summary>The offset of the first byte of <paramref name="body"/> that does not start a valid UTF-8 sequence, or null.</summary>
    internal static int? InvalidUtf8Offset(ReadOnlySpan<byte> body)
    {
        Span<char> scratch = stackalloc char[512];
        int offset = 0;
        while (offset < body.Length)
        {
            OperationStatus status = System.Text.Unicode.Utf8.ToUtf16(body[offset..], scratch, out int read, out _, replaceInvalidSequences: false);
            offset += read;
            if (status is OperationStatus.InvalidData or OperationStatus.NeedMoreData)
            {
                return offset;
            }
            if (status == OperationStatus.Done)
            {
                return null;
            }
        }
        return null;
    }

    private static int Utf8Bom(ReadOnlySpan<byte> body) => body.StartsWith("\uFEFF"u8) ? 3 : 0;

    private static Results<Ok<RunList>, ValidationProblem> List(RunStore store, RunEstimator estimator, string? status, long? after, int? limit)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        RunStatus? filter = null;
        if (status is not null)
        {
            if (RunStatuses.TryParse(status, out RunStatus parsed))
            {
                filter = parsed;
            }
            else
            {
                errors["status"] = [$"status = '{status}' is not a status: use queued, running, succeeded, failed or cancelled."];
            }
        }
        int page = limit ?? 100;
        if (page is < 1 or > MaxPage)
        {
            errors["limit"] = [string.Create(CultureInfo.InvariantCulture, $"limit = {page} is out of range: it must be an integer from 1 to {MaxPage}.")];
        }
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The query is invalid.");
        }
        IReadOnlyList<RunRecord> runs = store.List(filter, after ?? 0, page);
        string? next = runs.Count == page
            ? string.Create(CultureInfo.InvariantCulture, $"/api/runs?after={runs[^1].Id}&limit={page}{(status is null ? "" : "&status=" + filter!.Value.ToText())}")
            : null;
        return TypedResults.Ok(new RunList([.. runs.Select(r => RunResource.From(r, estimator))], next));
    }

    private static Results<Ok<RunResource>, ProblemHttpResult> Get(long id, RunStore store, RunEstimator estimator) =>
        store.Get(id) is { } run ? TypedResults.Ok(RunResource.From(run, estimator)) : NotFound(id);

    private static IResult Metrics(long id, HttpRequest request, RunStore store, string? format)
    {
        if (store.Get(id) is not { } run)
        {
            return NotFound(id);
        }
        if (format is not (null or "json" or "csv"))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["format"] = [$"format = '{format}' is not a format: use json or csv (or leave it out and send Accept: text/csv)."] },
                title: "The query is invalid.");
        }
        // A link cannot set Accept; ?format=csv is the same CSV for the dashboard's download link and for a browser.
        bool csv = format == "csv"
            || (format is null && request.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals("text/csv", StringComparison.OrdinalIgnoreCase) && (a.Quality ?? 1) > 0));
        if (!csv)
        {
            return TypedResults.Ok(AllRounds(store, id));
        }
        return TypedResults.Stream(async stream =>
        {
            var writer = new StreamWriter(stream, new UTF8Encoding(false), leaveOpen: true) { NewLine = "\n" };
            await using (writer.ConfigureAwait(false))
            {
                await writer.WriteLineAsync(RunReport.CsvHeader).ConfigureAwait(false);
                foreach (RoundRow row in AllRounds(store, id))
                {
                    await writer.WriteLineAsync(RunReport.CsvLine(run.Spec, row.ToMetrics(run.Spec.Label))).ConfigureAwait(false);
                }
            }
        }, "text/csv; charset=utf-8", format == "csv" ? string.Create(CultureInfo.InvariantCulture, $"run-{id}-metrics.csv") : null);
    }

    private static Results<ServerSentEventsResult<string>, ProblemHttpResult> Events(
        long id, HttpRequest request, RunStore store, RunSignals signals, RunEstimator estimator, IHostApplicationLifetime lifetime, TimeProvider time)
    {
        if (store.Get(id) is null)
        {
            return NotFound(id);
        }
        int after = int.TryParse(request.Headers["Last-Event-ID"], NumberStyles.None, CultureInfo.InvariantCulture, out int last) ? last : 0;
        return TypedResults.ServerSentEvents(Follow(id, after, store, signals, estimator, time, request.HttpContext.RequestAborted, lifetime.ApplicationStopping));
    }

    /// <summary>
    /// The rounds of run <paramref name="id"/> after <paramref name="after"/> as they are stored, then an <c>end</c>
    /// event once the run is final. Ends early (without <c>end</c>) when the client leaves or the service stops.
    /// </summary>
    private static async IAsyncEnumerable<SseItem<string>> Follow(
        long id, int after, RunStore store, RunSignals signals, RunEstimator estimator, TimeProvider time, [EnumeratorCancellation] CancellationToken aborted, CancellationToken stopping)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(aborted, stopping);
        CancellationToken cancellation = linked.Token;
        int last = after;
        while (!cancellation.IsCancellationRequested)
        {
            Task changed = signals.NextChange(id);
            // The status is read before the rows: a run that is final here has all its rows stored already.
            RunRecord run = store.Get(id)!;
            IReadOnlyList<RoundRow> rows = store.Rounds(id, last, RowBatch);
            foreach (RoundRow row in rows)
            {
                last = row.Round;
                yield return new SseItem<string>(JsonSerializer.Serialize(row, ServiceJsonContext.Default.RoundRow), "round") { EventId = row.Round.ToString(CultureInfo.InvariantCulture) };
            }
            if (rows.Count == RowBatch)
            {
                continue;
            }
            if (run.Status.IsFinal())
            {
                yield return new SseItem<string>(JsonSerializer.Serialize(RunResource.From(run, estimator), ServiceJsonContext.Default.RunResource), "end");
                yield break;
            }
            bool stop = false;
            try
            {
                await changed.WaitAsync(TimeSpan.FromSeconds(5), time, cancellation).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
            catch (OperationCanceledException)
            {
                stop = true;
            }
            if (stop)
            {
                yield break;
            }
        }
    }

    private static Results<Ok<RunResource>, Accepted<RunResource>, ProblemHttpResult> Cancel(long id, RunStore store, RunSignals signals, RunEstimator estimator)
    {
        RunRecord? before = store.Get(id);
        if (before is null)
        {
            return NotFound(id);
        }
        if (before.Status is RunStatus.Succeeded or RunStatus.Failed)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "The run has already finished.",
                detail: string.Create(CultureInfo.InvariantCulture, $"Run {id} {before.Status.ToText()}; only a queued or running run can be cancelled."));
        }
        RunRecord run = store.RequestCancel(id)!;
        if (run.Status == RunStatus.Running)
        {
            signals.Cancel(id);
            return TypedResults.Accepted(RunResource.Location(id), RunResource.From(run, estimator));
        }
        signals.Pulse(id);
        return TypedResults.Ok(RunResource.From(run, estimator));
    }

    private static Results<FileContentHttpResult, ProblemHttpResult> Plot(long id, string name, RunStore store) =>
        Figure(id, name, store, "png", rows => TypedResults.File(RunPlots.Png(name, rows), "image/png"));

    private static Results<FileContentHttpResult, ProblemHttpResult> PlotSvg(long id, string name, RunStore store) =>
        Figure(id, name, store, "svg", rows => TypedResults.File(System.Text.Encoding.UTF8.GetBytes(RunPlots.Svg(name, rows)), "image/svg+xml"));

    private static Results<FileContentHttpResult, ProblemHttpResult> Figure(
        long id, string name, RunStore store, string extension, Func<(ExperimentSpec, RoundMetrics)[], FileContentHttpResult> draw)
    {
        if (store.Get(id) is not { } run)
        {
            return NotFound(id);
        }
        // The name only selects one of the known figures; it never becomes a path.
        if (!ArtifactPaths.PlotNames.Contains(name, StringComparer.Ordinal))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such plot.",
                detail: $"Plots are {string.Join(", ", ArtifactPaths.PlotNames.Select(p => p + "." + extension))}.");
        }
        (ExperimentSpec, RoundMetrics)[] rows = [.. AllRounds(store, id).Select(r => (run.Spec, r.ToMetrics(run.Spec.Label)))];
        if (rows.Length == 0)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No rounds yet.",
                detail: string.Create(CultureInfo.InvariantCulture, $"Run {id} is {run.Status.ToText()} and has stored no round to plot."));
        }
        return draw(rows);
    }

    private static Ok<SpecForm> SpecForm() => TypedResults.Ok(Service.SpecForm.Current);

    private static Results<Ok<HealthReport>, ProblemHttpResult> Health(RunStore store, IOptions<ServiceOptions> options)
    {
        IReadOnlyDictionary<RunStatus, int> counts = store.CountByStatus();
        return TypedResults.Ok(new HealthReport("ok", StoreSchema.CurrentVersion, options.Value.Workers, counts.ToDictionary(c => c.Key.ToText(), c => c.Value)));
    }

    private static ProblemHttpResult NotFound(long id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such run.",
            detail: string.Create(CultureInfo.InvariantCulture, $"There is no run {id}."));

    private static IEnumerable<RoundRow> AllRounds(RunStore store, long id)
    {
        int last = 0;
        while (true)
        {
            IReadOnlyList<RoundRow> rows = store.Rounds(id, last, RowBatch);
            foreach (RoundRow row in rows)
            {
                yield return row;
            }
            if (rows.Count < RowBatch)
            {
                yield break;
            }
            last = rows[^1].Round;
        }
    }
}
