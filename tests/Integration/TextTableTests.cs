using Verified.Host.Cli;

namespace IntegrationTests;

/// <summary>
/// The tables of run, plot and audit summaries: numbers right-aligned so their digits line up, text left-aligned,
/// whatever the column's place.
/// </summary>
public sealed class TextTableTests
{
    private static readonly string[] Header = ["label", "uploaded MB", "ratio", "note", "vs fp"];

    private static readonly string[][] Lines =
    [
        ["tnq-3-tensor-ef", "1809.79", "10.6×", "per tensor", "-0.01"],
        ["fp", "19198.35", "1.0×", "baseline", ""],
    ];

    [Fact]
    public void Text_RightAlignsNumericColumns_AndLeftAlignsTheRest()
    {
        using var output = new StringWriter();
        TextTable.Write(output, Header, Lines, markdown: false);
        string[] rows = output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(
        [
            "label            uploaded MB  ratio  note        vs fp",
            "tnq-3-tensor-ef      1809.79  10.6×  per tensor  -0.01",
            "fp                  19198.35   1.0×  baseline",
        ], rows);
    }

    [Fact]
    public void Markdown_MarksOnlyNumericColumnsRightAligned()
    {
        using var output = new StringWriter();
        TextTable.Write(output, Header, Lines, markdown: true);

        Assert.Equal("| --- | ---: | ---: | --- | ---: |", output.ToString().Split(Environment.NewLine)[1]);
    }

    [Theory]
    [InlineData("0.9787", true)]
    [InlineData("-0.01", true)]
    [InlineData("−0.56 ± 0.13 (5)", true)]
    [InlineData("+0.26", true)]
    [InlineData("10.6×", true)]
    [InlineData("tnq-3", false)]
    [InlineData("–", false)]
    [InlineData("-", false)]
    [InlineData("", false)]
    public void IsNumeric_MeansStartsWithAnOptionallySignedDigit(string cell, bool numeric) =>
        Assert.Equal(numeric, TextTable.IsNumeric(cell));
}
