using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Verified.Benchmarks;

/// <summary>Throughput in million coordinates per second: the benchmark's d divided by its mean time.</summary>
public sealed class CoordinatesPerSecondColumn : IColumn
{
    public string Id => nameof(CoordinatesPerSecondColumn);

    public string ColumnName => "Mcoords/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Million coordinates per second: d / mean time";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        ArgumentNullException.ThrowIfNull(summary);
        ArgumentNullException.ThrowIfNull(benchmarkCase);
        double? meanNanoseconds = summary[benchmarkCase]?.ResultStatistics?.Mean;
        object? d = benchmarkCase.Parameters.Items.FirstOrDefault(p => p.Name == "D")?.Value;
        return meanNanoseconds is { } mean && d is int dimension && mean > 0
            ? (dimension / mean * 1e3).ToString("0", System.Globalization.CultureInfo.InvariantCulture)
            : "-";
    }

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => true;
}
