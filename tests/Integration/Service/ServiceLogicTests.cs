using Verified.Host.Service;

namespace IntegrationTests.Service;

/// <summary>The service's pure decisions: option checks, loopback detection, what a worker does next.</summary>
public sealed class ServiceLogicTests
{
    [Theory]
    [InlineData("http://127.0.0.1:5088", true)]
    [InlineData("http://127.1.2.3:0", true)]
    [InlineData("http://localhost:5088", true)]
    [InlineData("http://[::1]:5088", true)]
    [InlineData("http://0.0.0.0:5088", false)]
    [InlineData("http://[::]:5088", false)]
    [InlineData("http://*:5088", false)]
    [InlineData("http://+:5088", false)]
    [InlineData("http://example.org:80", false)]
    [InlineData("http://192.168.1.10:5088", false)]
    public void ListenUrl_IsLoopbackOnlyForLoopbackHosts(string url, bool loopback)
    {
        Assert.True(ServiceOptions.TryParseListenUrl(url, out bool isLoopback, out string problem), problem);
        Assert.Equal(loopback, isLoopback);
    }

    [Theory]
    [InlineData("127.0.0.1:5088")]
    [InlineData("ftp://127.0.0.1:21")]
    [InlineData("http://127.0.0.1:5088/api")]
    public void ListenUrl_ThatIsNotAnAddress_IsRejected(string url) =>
        Assert.False(ServiceOptions.TryParseListenUrl(url, out _, out _));

    [Theory]
    [InlineData("http://[::ffff:127.0.0.1]:5088", "http://127.0.0.1:5088")]
    [InlineData("http://[::ffff:10.0.0.1]:80", "http://10.0.0.1:80")]
    public void ListenUrl_IPv4MappedIPv6_IsRefused_NamingTheIPv4Address(string url, string instead)
    {
        Assert.False(ServiceOptions.TryParseListenUrl(url, out _, out string problem));
        Assert.Contains(instead, problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("4GiB", 4L << 30)]
    [InlineData("512 MiB", 512L << 20)]
    [InlineData("1.5GB", 1_500_000_000L)]
    [InlineData("123456", 123_456L)]
    [InlineData("2tib", 2L << 40)]
    public void Sizes_Parse_InBinaryAndDecimalUnits(string text, long bytes)
    {
        Assert.True(ServiceOptions.TryParseSize(text, out long parsed));
        Assert.Equal(bytes, parsed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("4 GiBs")]
    [InlineData("-1GiB")]
    [InlineData("GiB")]
    [InlineData("1e3")]
    public void Sizes_ThatAreNotSizes_AreRefused_AndFailTheOptions(string text)
    {
        Assert.False(ServiceOptions.TryParseSize(text, out _) && ServiceOptions.Validate(new ServiceOptions { MaxRunMemory = text }).Count == 0);
        Assert.Contains(ServiceOptions.Validate(new ServiceOptions { MaxRunMemory = text }), e => e.StartsWith("--max-run-memory", StringComparison.Ordinal));
    }

    [Fact]
    public void DefaultOptions_AreValid_AndLoopback() => Assert.Empty(ServiceOptions.Validate(new ServiceOptions()));

    [Fact]
    public void Options_ReportEveryProblem()
    {
        var options = new ServiceOptions
        {
            Urls = "http://0.0.0.0:80;nonsense",
            Workers = 65,
            CheckpointEvery = 0,
            MaxRequestBodyBytes = 10,
            MaxClientRounds = 0,
            PollInterval = TimeSpan.Zero,
            ShutdownTimeout = TimeSpan.FromSeconds(30),
        };
        IReadOnlyList<string> errors = ServiceOptions.Validate(options);
        Assert.Equal(8, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("--urls: 'nonsense'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("needs an API token", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("ShutdownTimeout", StringComparison.Ordinal));
    }

    [Fact]
    public void Token_AllowsAnyAddress_ButMustBeLong()
    {
        Assert.Empty(ServiceOptions.Validate(new ServiceOptions { Urls = "http://0.0.0.0:5088", ApiToken = new string('k', 16) }));
        Assert.Single(ServiceOptions.Validate(new ServiceOptions { Urls = "http://0.0.0.0:5088", ApiToken = "short" }));
    }

    [Fact]
    public void ArtifactsDirectory_IsNextToTheStore()
    {
        var options = new ServiceOptions { Store = "/data/service/verified.db" };
        Assert.Equal("/data/service/verified.artifacts", options.ArtifactsDirectory);
        Assert.Equal("/data/service/verified.artifacts/run-42/checkpoint.bin", new ArtifactPaths(options.ArtifactsDirectory).Checkpoint(42));
    }

    [Theory]
    [InlineData(0, 10, false, false, "Step")]
    [InlineData(9, 10, false, false, "Step")]
    [InlineData(10, 10, false, false, "Complete")]
    [InlineData(10, 10, true, true, "Complete")]
    [InlineData(3, 10, true, false, "Cancel")]
    [InlineData(3, 10, true, true, "Cancel")]
    [InlineData(3, 10, false, true, "Suspend")]
    public void NextAction_FollowsTheJobsState(int round, int rounds, bool cancel, bool stopping, string expected) =>
        Assert.Equal(Enum.Parse<JobAction>(expected), JobPolicy.Next(round, rounds, cancel, stopping));

    [Fact]
    public void Checkpoints_AreDueEveryKRounds_ButNotAfterTheLast()
    {
        int[] due = [.. Enumerable.Range(0, 31).Where(r => JobPolicy.CheckpointDue(r, 30, 10))];
        Assert.Equal([10, 20], due);
        Assert.Throws<ArgumentOutOfRangeException>(() => JobPolicy.CheckpointDue(1, 30, 0));
    }
}
