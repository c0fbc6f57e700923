using System.Collections.Immutable;
using Verified.Simulation.Experiments;
using Verified.Simulation.Training;

namespace Verified.Host.Cluster;

/// <summary>
/// Where a run grain stands after a call: the round's metrics (after a step) and what the driver needs for the run's
/// summary, so that an interrupted driver can write its summary without another call to a cluster that may be gone.
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("Verified.RunProgress")]
public sealed record RunProgress
{
    /// <summary>Rounds completed.</summary>
    [Id(0)] public required int Round { get; init; }

    /// <summary>The metrics of round <see cref="Round"/>, after a step; null after a start or restore.</summary>
    [Id(1)] public RoundMetrics? Metrics { get; init; }

    /// <summary>The last test-set evaluation.</summary>
    [Id(2)] public Evaluation? LastEvaluation { get; init; }

    /// <summary>d.</summary>
    [Id(3)] public required int Dimension { get; init; }

    /// <summary>Bytes uploaded so far.</summary>
    [Id(4)] public required long TotalBytes { get; init; }

    /// <summary>Lomax fits that fell back to Laplace so far.</summary>
    [Id(5)] public required long FitFallbacks { get; init; }

    /// <summary>Where the run grain's time went since it was activated.</summary>
    [Id(6)] public required RunTimings Timings { get; init; }

    /// <summary>The silo the run grain (the server) is on.</summary>
    [Id(7)] public required string Silo { get; init; }

    /// <summary>
    /// Rounds the grain ran again before this one because it had lost them with its silo (it resumed from the
    /// checkpoint in its storage, or from the start): they gave the same metrics, which the driver already has.
    /// </summary>
    [Id(8)] public int Replayed { get; init; }

    /// <summary>How often the grain restored its clients' residuals from its checkpoint after they were lost with a silo.</summary>
    [Id(9)] public int ResidualRestores { get; init; }
}

/// <summary>Serializes <see cref="RoundMetrics"/> (a Simulation type, which knows nothing of Orleans) between silos.</summary>
[GenerateSerializer]
[Alias("Verified.RoundMetricsSurrogate")]
public struct RoundMetricsSurrogate
{
    /// <summary>The field Label of the type this stands for.</summary>
    [Id(0)] public string Label { get; set; }
    /// <summary>The field Round of the type this stands for.</summary>
    [Id(1)] public int Round { get; set; }
    /// <summary>The field TrainingLoss of the type this stands for.</summary>
    [Id(2)] public double TrainingLoss { get; set; }
    /// <summary>The field UploadBytes of the type this stands for.</summary>
    [Id(3)] public long UploadBytes { get; set; }
    /// <summary>The field TotalBytes of the type this stands for.</summary>
    [Id(4)] public long TotalBytes { get; set; }
    /// <summary>The field TestAccuracy of the type this stands for.</summary>
    [Id(5)] public double? TestAccuracy { get; set; }
    /// <summary>The field TestLoss of the type this stands for.</summary>
    [Id(6)] public double? TestLoss { get; set; }
    /// <summary>The field Uploads of the type this stands for.</summary>
    [Id(7)] public UploadStatistics Uploads { get; set; }
    /// <summary>The field ElapsedSeconds of the type this stands for.</summary>
    [Id(8)] public double ElapsedSeconds { get; set; }
}

/// <summary>Converts <see cref="RoundMetrics"/> to and from its surrogate.</summary>
[RegisterConverter]
public sealed class RoundMetricsConverter : IConverter<RoundMetrics, RoundMetricsSurrogate>
{
    /// <inheritdoc />
    public RoundMetrics ConvertFromSurrogate(in RoundMetricsSurrogate surrogate) => new(
        surrogate.Label, surrogate.Round, surrogate.TrainingLoss, surrogate.UploadBytes, surrogate.TotalBytes,
        surrogate.TestAccuracy, surrogate.TestLoss, surrogate.Uploads, surrogate.ElapsedSeconds);

    /// <inheritdoc />
    public RoundMetricsSurrogate ConvertToSurrogate(in RoundMetrics value) => new()
    {
        Label = value.Label,
        Round = value.Round,
        TrainingLoss = value.TrainingLoss,
        UploadBytes = value.UploadBytes,
        TotalBytes = value.TotalBytes,
        TestAccuracy = value.TestAccuracy,
        TestLoss = value.TestLoss,
        Uploads = value.Uploads,
        ElapsedSeconds = value.ElapsedSeconds,
    };
}

/// <summary>Serializes <see cref="UploadStatistics"/>, its audit fields included.</summary>
[GenerateSerializer]
[Alias("Verified.UploadStatisticsSurrogate")]
public struct UploadStatisticsSurrogate
{
    /// <summary>The field Uploads of the type this stands for.</summary>
    [Id(0)] public int Uploads { get; set; }

    /// <summary>The ten positional figures after Uploads, in declaration order.</summary>
    [Id(1)] public ImmutableArray<double> Figures { get; set; }
    /// <summary>The field FitFallbacks of the type this stands for.</summary>
    [Id(2)] public int FitFallbacks { get; set; }
    /// <summary>The field AveragedBiasSquared of the type this stands for.</summary>
    [Id(3)] public double AveragedBiasSquared { get; set; }
    /// <summary>The field AveragedVariance of the type this stands for.</summary>
    [Id(4)] public double AveragedVariance { get; set; }
}

/// <summary>Converts <see cref="UploadStatistics"/> to and from its surrogate.</summary>
[RegisterConverter]
public sealed class UploadStatisticsConverter : IConverter<UploadStatistics, UploadStatisticsSurrogate>
{
    /// <inheritdoc />
    /// <exception cref="InvalidDataException">The surrogate does not carry the statistics' ten figures.</exception>
    public UploadStatistics ConvertFromSurrogate(in UploadStatisticsSurrogate surrogate)
    {
        ImmutableArray<double> f = surrogate.Figures;
        if (f.IsDefault || f.Length != 10)
        {
            throw new InvalidDataException($"Upload statistics arrived with {(f.IsDefault ? 0 : f.Length)} figures, not 10: silo and client run different builds.");
        }
        return new UploadStatistics(surrogate.Uploads, f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9])
        {
            FitFallbacks = surrogate.FitFallbacks,
            AveragedBiasSquared = surrogate.AveragedBiasSquared,
            AveragedVariance = surrogate.AveragedVariance,
        };
    }

    /// <inheritdoc />
    public UploadStatisticsSurrogate ConvertToSurrogate(in UploadStatistics value) => new()
    {
        Uploads = value.Uploads,
        Figures =
        [
            value.ModelScale, value.Alpha, value.PredictedRoundingVariance, value.PredictedTruncationMse, value.PredictedTruncationRate,
            value.MeasuredMse, value.MeasuredRoundingVariance, value.ExpectedRoundingVariance, value.MeasuredTruncationRate, value.MeasuredTruncationMse,
        ],
        FitFallbacks = value.FitFallbacks,
        AveragedBiasSquared = value.AveragedBiasSquared,
        AveragedVariance = value.AveragedVariance,
    };
}

/// <summary>Serializes <see cref="Evaluation"/>.</summary>
[GenerateSerializer]
[Alias("Verified.EvaluationSurrogate")]
public struct EvaluationSurrogate
{
    /// <summary>The field Accuracy of the type this stands for.</summary>
    [Id(0)] public double Accuracy { get; set; }
    /// <summary>The field Loss of the type this stands for.</summary>
    [Id(1)] public double Loss { get; set; }
    /// <summary>The field Count of the type this stands for.</summary>
    [Id(2)] public int Count { get; set; }
}

/// <summary>Converts <see cref="Evaluation"/> to and from its surrogate.</summary>
[RegisterConverter]
public sealed class EvaluationConverter : IConverter<Evaluation, EvaluationSurrogate>
{
    /// <inheritdoc />
    public Evaluation ConvertFromSurrogate(in EvaluationSurrogate surrogate) => new(surrogate.Accuracy, surrogate.Loss, surrogate.Count);

    /// <inheritdoc />
    public EvaluationSurrogate ConvertToSurrogate(in Evaluation value) => new() { Accuracy = value.Accuracy, Loss = value.Loss, Count = value.Count };
}

/// <summary>Serializes <see cref="RunTimings"/>.</summary>
[GenerateSerializer]
[Alias("Verified.RunTimingsSurrogate")]
public struct RunTimingsSurrogate
{
    /// <summary>The field Rounds of the type this stands for.</summary>
    [Id(0)] public int Rounds { get; set; }

    /// <summary>The nine spans in declaration order, in ticks.</summary>
    [Id(1)] public ImmutableArray<long> Ticks { get; set; }
}

/// <summary>Converts <see cref="RunTimings"/> to and from its surrogate.</summary>
[RegisterConverter]
public sealed class RunTimingsConverter : IConverter<RunTimings, RunTimingsSurrogate>
{
    /// <inheritdoc />
    /// <exception cref="InvalidDataException">The surrogate does not carry nine spans.</exception>
    public RunTimings ConvertFromSurrogate(in RunTimingsSurrogate surrogate)
    {
        ImmutableArray<long> t = surrogate.Ticks;
        if (t.IsDefault || t.Length != 9)
        {
            throw new InvalidDataException($"Run timings arrived with {(t.IsDefault ? 0 : t.Length)} spans, not 9: silo and client run different builds.");
        }
        return new RunTimings(
            surrogate.Rounds,
            TimeSpan.FromTicks(t[0]), TimeSpan.FromTicks(t[1]), TimeSpan.FromTicks(t[2]), TimeSpan.FromTicks(t[3]), TimeSpan.FromTicks(t[4]),
            TimeSpan.FromTicks(t[5]), TimeSpan.FromTicks(t[6]), TimeSpan.FromTicks(t[7]), TimeSpan.FromTicks(t[8]));
    }

    /// <inheritdoc />
    public RunTimingsSurrogate ConvertToSurrogate(in RunTimings value) => new()
    {
        Rounds = value.Rounds,
        Ticks =
        [
            value.ForwardBackward.Ticks, value.Flatten.Ticks, value.Design.Ticks, value.Encode.Ticks, value.Decode.Ticks,
            value.Audit.Ticks, value.Step.Ticks, value.Evaluate.Ticks, value.Wall.Ticks,
        ],
    };
}
