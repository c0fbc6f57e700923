using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using Verified.Host.Runs;
using static IntegrationTests.Service.ServiceTesting;

namespace IntegrationTests.Service;

/// <summary>The HTTP API against the real host on an ephemeral loopback port, with a temporary store and real MNIST.</summary>
[Collection(LibtorchTests.Name)]
public sealed class ServiceApiTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    private static readonly string[] s_everyField =
        ["bits", "clients", "rounds", "model", "batchSize", "learningRate", "momentum", "weightDecay", "split", "seed", "evaluateEvery", "auditEvery", "workers", "threads", "noise", "colour"];

    private static readonly string[] s_limitFields = ["rounds", "threads"];

    private static readonly int[] s_notAnObject = [1, 2];

    private static readonly byte[] s_pngMagic = [0x89, (byte)'P', (byte)'N', (byte)'G'];

    private static readonly string[] s_paths =
        ["/api/runs", "/api/runs/{id}", "/api/runs/{id}/metrics", "/api/runs/{id}/events", "/api/runs/{id}/cancel", "/api/runs/{id}/plots/{name}.png", "/api/runs/{id}/plots/{name}.svg", "/api/spec", "/health"];

    private HttpClient Client => service.Client;

    [MnistFact]
    public async Task SubmittedRun_Completes_WithEventsMetricsCsvAndPlots()
    {
        using var timeout = new CancellationTokenSource(Patience);
        CancellationToken cancellation = timeout.Token;
        JsonElement submitted = await SubmitAsync(Client, Spec(12, ("evaluateEvery", 4)), cancellation);
        long id = submitted.GetProperty("id").GetInt64();
        Assert.Equal("queued", Status(submitted));

        // Server-sent events: one per round, in order, then the end of the run.
        using (HttpResponseMessage response = await Client.GetAsync($"/api/runs/{id}/events", HttpCompletionOption.ResponseHeadersRead, cancellation))
        {
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            var rounds = new List<int>();
            string? end = null;
            await foreach (SseItem<string> item in SseParser.Create(await response.Content.ReadAsStreamAsync(cancellation)).EnumerateAsync(cancellation))
            {
                if (item.EventType == "round")
                {
                    int round = JsonDocument.Parse(item.Data).RootElement.GetProperty("round").GetInt32();
                    Assert.Equal(round.ToString(System.Globalization.CultureInfo.InvariantCulture), item.EventId);
                    rounds.Add(round);
                }
                else
                {
                    Assert.Equal("end", item.EventType);
                    end = item.Data;
                }
            }
            Assert.Equal(Enumerable.Range(1, 12), rounds);
            Assert.Equal("succeeded", Status(JsonDocument.Parse(end!).RootElement));
        }

        // A client that reconnects with Last-Event-ID gets the rounds after it.
        using (var resume = new HttpRequestMessage(HttpMethod.Get, $"/api/runs/{id}/events"))
        {
            resume.Headers.Add("Last-Event-ID", "10");
            using HttpResponseMessage response = await Client.SendAsync(resume, HttpCompletionOption.ResponseHeadersRead, cancellation);
            var events = new List<string?>();
            await foreach (SseItem<string> item in SseParser.Create(await response.Content.ReadAsStreamAsync(cancellation)).EnumerateAsync(cancellation))
            {
                events.Add(item.EventType == "round" ? item.EventId : item.EventType);
            }
            Assert.Equal(["11", "12", "end"], events);
        }

        JsonElement run = await GetJsonAsync(Client, $"/api/runs/{id}", cancellation);
        Assert.Equal("succeeded", Status(run));
        Assert.Equal(12, run.GetProperty("roundsCompleted").GetInt32());
        JsonElement outcome = run.GetProperty("outcome");
        Assert.Equal(12, outcome.GetProperty("rounds").GetInt32());
        Assert.InRange(outcome.GetProperty("finalAccuracy").GetDouble(), 0.3, 1.0);
        Assert.InRange(outcome.GetProperty("bitsPerCoordinate").GetDouble(), 3.0, 3.1);

        JsonElement metrics = await GetJsonAsync(Client, $"/api/runs/{id}/metrics", cancellation);
        Assert.Equal(Enumerable.Range(1, 12), metrics.EnumerateArray().Select(r => r.GetProperty("round").GetInt32()));
        Assert.Equal([4, 8, 12], metrics.EnumerateArray().Where(r => r.GetProperty("testAccuracy").ValueKind == JsonValueKind.Number).Select(r => r.GetProperty("round").GetInt32()));

        using var csvRequest = new HttpRequestMessage(HttpMethod.Get, $"/api/runs/{id}/metrics");
        csvRequest.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/csv"));
        using HttpResponseMessage csvResponse = await Client.SendAsync(csvRequest, cancellation);
        Assert.Equal("text/csv", csvResponse.Content.Headers.ContentType?.MediaType);
        string[] lines = (await csvResponse.Content.ReadAsStringAsync(cancellation)).TrimEnd('\n').Split('\n');
        Assert.Equal(string.Join(',', RunReport.Columns), lines[0]);
        Assert.Equal(13, lines.Length);
        Assert.StartsWith("tnq-3-tensor-ef,tnq,3,1,12,", lines[12], StringComparison.Ordinal); // per tensor with error feedback: the default

        // ?format=csv (a link cannot set Accept) gives the same CSV as an attachment; another format is a 400 naming it.
        using HttpResponseMessage csvLink = await Client.GetAsync($"/api/runs/{id}/metrics?format=csv", cancellation);
        Assert.Equal($"run-{id}-metrics.csv", csvLink.Content.Headers.ContentDisposition?.FileName);
        Assert.Equal(lines, (await csvLink.Content.ReadAsStringAsync(cancellation)).TrimEnd('\n').Split('\n'));
        using HttpResponseMessage badFormat = await Client.GetAsync($"/api/runs/{id}/metrics?format=xml", cancellation);
        Assert.Equal(HttpStatusCode.BadRequest, badFormat.StatusCode);
        Assert.Contains("format = 'xml'", await badFormat.Content.ReadAsStringAsync(cancellation), StringComparison.Ordinal);

        foreach (string plot in new[] { "accuracy", "loss" })
        {
            using HttpResponseMessage png = await Client.GetAsync($"/api/runs/{id}/plots/{plot}.png", cancellation);
            Assert.Equal(HttpStatusCode.OK, png.StatusCode);
            Assert.Equal("image/png", png.Content.Headers.ContentType?.MediaType);
            byte[] bytes = await png.Content.ReadAsByteArrayAsync(cancellation);
            Assert.Equal(s_pngMagic, bytes[..4]);
            using HttpResponseMessage svg = await Client.GetAsync($"/api/runs/{id}/plots/{plot}.svg", cancellation);
            Assert.Equal(HttpStatusCode.OK, svg.StatusCode);
            Assert.Equal("image/svg+xml", svg.Content.Headers.ContentType?.MediaType);
            Assert.Equal("svg", System.Xml.Linq.XDocument.Parse(await svg.Content.ReadAsStringAsync(cancellation)).Root!.Name.LocalName);
        }
        using HttpResponseMessage unknown = await Client.GetAsync($"/api/runs/{id}/plots/..%2F..%2Fverified.db.png", cancellation);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);

        // The same files land next to the store.
        string directory = Path.Combine(service.Directory, "verified.artifacts", $"run-{id}");
        Assert.True(File.Exists(Path.Combine(directory, "metrics.csv")));
        Assert.True(File.Exists(Path.Combine(directory, "summary.json")));
        Assert.True(File.Exists(Path.Combine(directory, "accuracy.png")));
        Assert.False(File.Exists(Path.Combine(directory, "checkpoint.bin")));
        Assert.Equal(lines, (await File.ReadAllTextAsync(Path.Combine(directory, "metrics.csv"), cancellation)).TrimEnd('\n').Split('\n'));
    }

    [MnistFact]
    public async Task HundredConcurrentSubmissions_AreAllStored_AndEachProcessedOnce()
    {
        using var timeout = new CancellationTokenSource(Patience);
        CancellationToken cancellation = timeout.Token;
        const int Count = 100;
        // Rounds 1..2 of full precision on the MLP: what is tested is the queue, not the training.
        JsonElement[] submitted = await Task.WhenAll(Enumerable.Range(0, Count).Select(i =>
            SubmitAsync(Client, Spec(1 + (i % 2), ("scheme", "fp"), ("clients", 2), ("seed", 1000 + i), ("auditEvery", 0)), cancellation)));

        long[] ids = [.. submitted.Select(r => r.GetProperty("id").GetInt64())];
        Assert.Equal(Count, ids.Distinct().Count());
        var seedOf = submitted.ToDictionary(r => r.GetProperty("id").GetInt64(), r => r.GetProperty("spec").GetProperty("seed").GetInt64());
        Assert.Equal(Enumerable.Range(1000, Count).Select(s => (long)s), seedOf.Values.Order());

        // All stored: the list holds each once (paged).
        var listed = new List<long>();
        string? next = $"/api/runs?after={ids.Min() - 1}&limit=30";
        while (next is not null)
        {
            JsonElement page = await GetJsonAsync(Client, next, cancellation);
            listed.AddRange(page.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("id").GetInt64()));
            next = page.GetProperty("next").ValueKind == JsonValueKind.String ? page.GetProperty("next").GetString() : null;
        }
        Assert.Equal(ids.Order(), listed.Where(ids.Contains).Order());

        // All processed, each exactly once.
        foreach (long id in ids)
        {
            JsonElement run = await WaitForRunAsync(Client, id, IsFinal, cancellation);
            Assert.Equal("succeeded", Status(run));
            Assert.Equal(1, run.GetProperty("attempts").GetInt32());
            int rounds = run.GetProperty("spec").GetProperty("rounds").GetInt32();
            Assert.Equal(rounds, run.GetProperty("roundsCompleted").GetInt32());
            Assert.Equal(seedOf[id], run.GetProperty("spec").GetProperty("seed").GetInt64());
            JsonElement metrics = await GetJsonAsync(Client, $"/api/runs/{id}/metrics", cancellation);
            Assert.Equal(Enumerable.Range(1, rounds), metrics.EnumerateArray().Select(r => r.GetProperty("round").GetInt32()));
        }
    }

    [MnistFact]
    public async Task Cancel_StopsAQueuedRunAtOnce_AndARunningOneAfterItsRound()
    {
        using var timeout = new CancellationTokenSource(Patience);
        CancellationToken cancellation = timeout.Token;
        long running = (await SubmitAsync(Client, Spec(1_000_000 / 4, ("evaluateEvery", 1000)), cancellation)).GetProperty("id").GetInt64();
        await WaitForRunAsync(Client, running, r => Status(r) == "running" && r.GetProperty("roundsCompleted").GetInt32() >= 2, cancellation);
        // One worker, busy: this one waits in the queue.
        long queued = (await SubmitAsync(Client, Spec(10), cancellation)).GetProperty("id").GetInt64();

        using (HttpResponseMessage response = await Client.PostAsync($"/api/runs/{queued}/cancel", null, cancellation))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            JsonElement run = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellation)).RootElement;
            Assert.Equal("cancelled", Status(run));
            Assert.Equal(0, run.GetProperty("roundsCompleted").GetInt32());
        }
        using (HttpResponseMessage response = await Client.PostAsync($"/api/runs/{running}/cancel", null, cancellation))
        {
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            Assert.True(JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellation)).RootElement.GetProperty("cancelRequested").GetBoolean());
        }
        JsonElement cancelled = await WaitForRunAsync(Client, running, IsFinal, cancellation);
        Assert.Equal("cancelled", Status(cancelled));
        int rounds = cancelled.GetProperty("roundsCompleted").GetInt32();
        Assert.InRange(rounds, 2, 1_000_000 / 4 - 1);
        JsonElement metrics = await GetJsonAsync(Client, $"/api/runs/{running}/metrics", cancellation);
        Assert.Equal(rounds, metrics.GetArrayLength());
        Assert.False(File.Exists(Path.Combine(service.Directory, "verified.artifacts", $"run-{running}", "checkpoint.bin")));

        // Cancelling again is harmless; a finished run cannot be cancelled; an unknown run is not found.
        using (HttpResponseMessage again = await Client.PostAsync($"/api/runs/{running}/cancel", null, cancellation))
        {
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        }
        long done = (await SubmitAsync(Client, Spec(2), cancellation)).GetProperty("id").GetInt64();
        await WaitForRunAsync(Client, done, IsFinal, cancellation);
        using (HttpResponseMessage late = await Client.PostAsync($"/api/runs/{done}/cancel", null, cancellation))
        {
            Assert.Equal(HttpStatusCode.Conflict, late.StatusCode);
            Assert.Equal("application/problem+json", late.Content.Headers.ContentType?.MediaType);
        }
        using (HttpResponseMessage missing = await Client.PostAsync("/api/runs/999999/cancel", null, cancellation))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }
    }

    [MnistFact]
    public async Task InvalidSpec_Is400_NamingEveryBadField()
    {
        using var timeout = new CancellationTokenSource(Patience);
        CancellationToken cancellation = timeout.Token;
        var spec = new Dictionary<string, object>
        {
            ["scheme"] = "tnq",
            ["bits"] = 9,
            ["clients"] = 0,
            ["rounds"] = -1,
            ["model"] = "resnet",
            ["batchSize"] = 0,
            ["learningRate"] = 0,
            ["momentum"] = 1.5,
            ["weightDecay"] = 2,
            ["split"] = "dirichlet:x",
            ["seed"] = "abc",
            ["evaluateEvery"] = 0,
            ["auditEvery"] = -1,
            ["workers"] = 0,
            ["threads"] = 0,
            ["noise"] = "student-t:0",
            ["noiseScale"] = 0.01,
            ["colour"] = "red",
        };
        JsonElement problem = await PostProblemAsync(spec, HttpStatusCode.BadRequest, cancellation);
        string[] fields = [.. problem.GetProperty("errors").EnumerateObject().Select(p => p.Name)];
        Assert.Equal(s_everyField.Order(), fields.Order());
        Assert.Contains("from 1 to 8", problem.GetProperty("errors").GetProperty("bits")[0].GetString(), StringComparison.Ordinal);
        Assert.Contains("student-t:ν with ν > 0", problem.GetProperty("errors").GetProperty("noise")[0].GetString(), StringComparison.Ordinal);

        // The service's own limits, also per field.
        JsonElement limits = await PostProblemAsync(Spec(100_000, ("clients", 256), ("threads", Environment.ProcessorCount + 1)), HttpStatusCode.BadRequest, cancellation);
        Assert.Equal(s_limitFields, limits.GetProperty("errors").EnumerateObject().Select(p => p.Name).Order());

        // Not an object, not JSON, not declared as JSON, too large.
        Assert.True((await PostProblemAsync(s_notAnObject, HttpStatusCode.BadRequest, cancellation)).GetProperty("errors").TryGetProperty("body", out _));
        using (var broken = new StringContent("{\"bits\": ", Encoding.UTF8, "application/json"))
        {
            Assert.True((await PostProblemAsync(broken, HttpStatusCode.BadRequest, cancellation)).GetProperty("errors").TryGetProperty("body", out _));
        }
        using (var text = new StringContent("{}", Encoding.UTF8, "text/plain"))
        {
            await PostProblemAsync(text, HttpStatusCode.UnsupportedMediaType, cancellation);
        }
        using (var huge = new StringContent("{\"split\": \"" + new string('x', 100_000) + "\"}", Encoding.UTF8, "application/json"))
        {
            await PostProblemAsync(huge, HttpStatusCode.RequestEntityTooLarge, cancellation);
        }

        // Nothing was stored.
        JsonElement health = await GetJsonAsync(Client, "/health", cancellation);
        Assert.Equal("ok", health.GetProperty("status").GetString());
        using HttpResponseMessage badQuery = await Client.GetAsync("/api/runs?status=done&limit=0", cancellation);
        Assert.Equal(HttpStatusCode.BadRequest, badQuery.StatusCode);
        Assert.Equal(["limit", "status"], JsonDocument.Parse(await badQuery.Content.ReadAsStringAsync(cancellation)).RootElement.GetProperty("errors").EnumerateObject().Select(p => p.Name).Order());
        using HttpResponseMessage missing = await Client.GetAsync("/api/runs/999999", cancellation);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
    }

    [MnistFact]
    public async Task OpenApiDocument_DescribesEveryEndpoint()
    {
        using var timeout = new CancellationTokenSource(Patience);
        JsonElement document = await GetJsonAsync(Client, "/openapi/v1.json", timeout.Token);
        string[] paths = [.. document.GetProperty("paths").EnumerateObject().Select(p => p.Name)];
        Assert.Equal(s_paths.Order(), paths.Order());
        Assert.True(document.GetProperty("paths").GetProperty("/api/runs").TryGetProperty("post", out JsonElement post));
        Assert.True(post.GetProperty("requestBody").GetProperty("content").TryGetProperty("application/json", out _));
    }

    private async Task<JsonElement> PostProblemAsync(object body, HttpStatusCode expected, CancellationToken cancellation)
    {
        using HttpResponseMessage response = body is HttpContent content
            ? await Client.PostAsync("/api/runs", content, cancellation)
            : await Client.PostAsJsonAsync("/api/runs", body, cancellation);
        string text = await response.Content.ReadAsStringAsync(cancellation);
        Assert.True(expected == response.StatusCode, $"expected {(int)expected}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        JsonElement problem = JsonDocument.Parse(text).RootElement.Clone();
        Assert.Equal((int)expected, problem.GetProperty("status").GetInt32());
        return problem;
    }
}
