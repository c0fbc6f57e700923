using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Verified.Host.Service;
using Verified.Simulation.Data;
using static IntegrationTests.Service.ServiceTesting;

namespace IntegrationTests.Service;

/// <summary>
/// A stored service run carries its provenance: in the store's record, in <c>GET /api/runs/{id}</c> and in its
/// summary.json, with the data files' SHA-256 the test computes itself and times that match the run's.
/// </summary>
[Collection(LibtorchTests.Name)]
public sealed class ServiceProvenanceTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    [MnistFact]
    public async Task AFinishedRun_HasItsProvenance_InTheRecordTheResourceAndSummaryJson()
    {
        using var timeout = new CancellationTokenSource(Patience);
        CancellationToken cancellation = timeout.Token;
        DateTimeOffset before = DateTimeOffset.UtcNow;
        JsonElement submitted = await SubmitAsync(service.Client, Spec(2, ("workers", 2)), cancellation);
        long id = submitted.GetProperty("id").GetInt64();
        JsonElement run = await WaitForRunAsync(service.Client, id, IsFinal, cancellation);
        DateTimeOffset after = DateTimeOffset.UtcNow;
        Assert.Equal("succeeded", Status(run));

        JsonElement provenance = run.GetProperty("provenance");
        ProvenanceAssert.Plausible(provenance, IdxDirectory.Locate(MnistDataTests.DataDirectory!), before, after);
        // The command is the request with the run's whole spec, so the provenance alone says what ran.
        string command = provenance.GetProperty("command").GetString()!;
        Assert.StartsWith("POST /api/runs {", command, StringComparison.Ordinal);
        using (JsonDocument spec = JsonDocument.Parse(command["POST /api/runs ".Length..]))
        {
            Assert.Equal(2, spec.RootElement.GetProperty("rounds").GetInt32());
            Assert.Equal("mlp", spec.RootElement.GetProperty("model").GetString());
        }
        Assert.Equal((1, 2), (provenance.GetProperty("threads").GetInt32(), provenance.GetProperty("workers").GetInt32()));
        // Its times are the run's: started at the first claim, ended when it finished.
        Assert.Equal(Time(run.GetProperty("startedAt")), Time(provenance.GetProperty("startedAt")));
        Assert.Equal(Time(run.GetProperty("finishedAt")), Time(provenance.GetProperty("endedAt")));

        RunRecord record = service.App.Services.GetRequiredService<RunStore>().Get(id)!;
        Assert.NotNull(record.Provenance);
        Assert.Equal(provenance.GetProperty("commit").GetString(), record.Provenance.Commit);
        Assert.Equal(record.FinishedAt, record.Provenance.EndedAt);

        string summary = Path.Combine(service.Directory, "verified.artifacts", $"run-{id}", "summary.json");
        using JsonDocument written = JsonDocument.Parse(await File.ReadAllTextAsync(summary, cancellation));
        JsonElement fromFile = written.RootElement.GetProperty("provenance");
        Assert.Equal(command, fromFile.GetProperty("command").GetString());
        static string[] Hashes(JsonElement p) => [.. p.GetProperty("dataFiles").EnumerateArray().Select(f => f.GetProperty("sha256").GetString()!)];
        Assert.Equal(Hashes(provenance), Hashes(fromFile));
    }

    private static DateTimeOffset Time(JsonElement element) =>
        DateTimeOffset.Parse(element.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
}
