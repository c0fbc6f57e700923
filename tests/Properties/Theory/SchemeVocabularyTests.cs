using Verified.Theory;

namespace PropertyTests;

/// <summary>The scheme vocabulary: one row per scheme, and parsing that returns the problem instead of throwing.</summary>
public sealed class SchemeVocabularyTests
{
    [Fact]
    public void EverySpecCase_HasItsOwnRow_WhoseNameIsTheSpecsName()
    {
        QuantizerSpec[] oneOfEach =
        [
            new FullPrecision(), new Qsgd(3), new Nuqsgd(3), new TruncatedUniform(3), new TruncatedNonUniform(3),
            new TruncatedBiScaled(3), new Sign(), new Sign { Magnitude = SignMagnitude.Unit },
            new BernoulliSparsification(0.5), new RandKSparsification(4),
        ];
        Assert.Equal(Schemes.All, oneOfEach.Select(s => s.Definition));
        Assert.Equal(Schemes.All.Length, Schemes.All.Select(s => s.Name).Distinct().Count());
        foreach (QuantizerSpec spec in oneOfEach)
        {
            Assert.Equal(spec.Definition.Name, spec.Name);
            Assert.Equal(spec is TruncatedSpec, spec.Definition.Truncates);
            Assert.Equal(spec is SparsifierSpec, spec.Definition.Sparsifies);
            Assert.Equal(spec is TruncatedSpec or NormScaledSpec, spec.Definition.TakesBits);
            Assert.DoesNotContain(':', spec.Label);
        }
    }

    [Fact]
    public void BitRanges_AreTheSpecsOwnChecks()
    {
        foreach (SchemeDefinition scheme in Schemes.All.Where(s => s.TakesBits))
        {
            (int minimum, int maximum) = scheme.Bits!.Value;
            Assert.True(Schemes.TryParse(scheme.Name, minimum, null, out _, out _));
            Assert.True(Schemes.TryParse(scheme.Name, maximum, null, out _, out _));
            Assert.False(Schemes.TryParse(scheme.Name, minimum - 1, null, out _, out SchemeProblem? low));
            Assert.False(Schemes.TryParse(scheme.Name, maximum + 1, null, out _, out SchemeProblem? high));
            Assert.Equal("bits", low.Argument);
            Assert.Equal("bits", high.Argument);
            // The records enforce the same ranges: the table does not restate a rule the record would contradict.
            Assert.ThrowsAny<ArgumentException>(() => Schemes.Parse(scheme.Name, minimum - 1));
        }
    }

    [Theory]
    [InlineData("tnk", "Did you mean tnq?")]
    [InlineData("QSGD", "Did you mean qsgd?")]
    [InlineData("bernouli:0.5", "Did you mean bernoulli:Q?")]
    public void MisspeltNames_GetTheClosestSuggestion(string written, string suggestion)
    {
        Assert.False(Schemes.TryParse(written, 3, null, out QuantizerSpec? spec, out SchemeProblem? problem));
        Assert.Null(spec);
        Assert.Equal("scheme", problem.Argument);
        Assert.StartsWith($"'{written}' is not known: use one of {Schemes.SyntaxList}.", problem.Message, StringComparison.Ordinal);
        Assert.EndsWith(suggestion, problem.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "scheme")]
    [InlineData("", "scheme")]
    [InlineData("xyzzy", "scheme")]
    [InlineData("tnq:3", "scheme")]
    [InlineData("qsgd", "bits")]
    public void TryParse_ReturnsTheProblem_InsteadOfThrowing(string? written, string argument)
    {
        Assert.False(Schemes.TryParse(written, 1, null, out _, out SchemeProblem? problem));
        Assert.Equal(argument, problem.Argument);
        Assert.DoesNotContain("Did you mean", written == "xyzzy" ? problem.Message : "", StringComparison.Ordinal);
    }

    [Fact]
    public void Thresholds_AreRefusedWhereTheSchemeDoesNotTruncate_AndRelaxedOnlyForTuq()
    {
        Assert.False(Schemes.TryParse("qsgd", 3, Threshold.Fixed(1), out _, out SchemeProblem? noThreshold));
        Assert.Equal("threshold", noThreshold.Argument);
        Assert.False(Schemes.TryParse("tnq", 3, Threshold.Relaxed, out _, out SchemeProblem? relaxed));
        Assert.Equal("threshold", relaxed.Argument);
        Assert.True(Schemes.TryParse("tuq", 3, Threshold.Relaxed, out QuantizerSpec? tuq, out _));
        Assert.Equal(new TruncatedUniform(3, Threshold.Relaxed), tuq);
    }

    [Fact]
    public void HelpTexts_NameEverySchemeAndEveryBitRange()
    {
        foreach (SchemeDefinition scheme in Schemes.All)
        {
            Assert.Contains(scheme.Syntax, Schemes.HelpText, StringComparison.Ordinal);
            Assert.Contains(scheme.Name, Schemes.BitsHelpText, StringComparison.Ordinal);
        }
        Assert.Contains("tuq, tnq, tbq 1..8", Schemes.BitsHelpText, StringComparison.Ordinal);
        Assert.Contains("qsgd, nuqsgd 2..8", Schemes.BitsHelpText, StringComparison.Ordinal);
    }
}
