using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Verified.Theory;

namespace PropertyTests;

/// <summary>
/// The threshold for the server's average of N uploads (docs/theory.md, "A threshold for the average"): α minimises
/// rounding variance / N + truncation MSE. Pure laws: new inputs on every run.
/// </summary>
public sealed class AveragedThresholdProperties
{
    private static readonly Gen<(int Bits, double Scale, int Clients)> s_laplaceInputs =
        TheoryArbitraries.TruncatedBits.SelectMany(
            _ => TheoryArbitraries.Scales.SelectMany(_ => Gen.Choose(1, 256), (g, n) => (g, n)),
            (b, p) => (b, p.g, p.n));

    [Property(MaxTest = 20)]
    public Property OneClient_GivesTheOptimalThreshold() =>
        Prop.ForAll(s_laplaceInputs.ToArbitrary(), input =>
        {
            var model = new Laplace(input.Scale);
            QuantizerDesign optimal = Quantizers.Design(new TruncatedNonUniform(input.Bits), model);
            QuantizerDesign averaged = Quantizers.Design(new TruncatedNonUniform(input.Bits, Threshold.Averaged(1)), model);
            return Close.Relative(averaged.Alpha, optimal.Alpha, 1e-15).Label($"α {averaged.Alpha:R} vs {optimal.Alpha:R}")
                .And(Close.Relative(averaged.Levels[^2], optimal.Levels[^2], 1e-9).Label("levels: the closed form and the p^(1/3) bisection agree"));
        });

    [Property(MaxTest = 15)]
    public Property LaplaceClosedForm_EqualsNumericMinimiserOfTheAveragedObjective() =>
        Prop.ForAll(s_laplaceInputs.ToArbitrary(), input =>
        {
            var spec = new TruncatedNonUniform(input.Bits, Threshold.Averaged(input.Clients));
            double closed = Quantizers.Design(spec, new Laplace(input.Scale)).Alpha;
            double numeric = Quantizers.DesignNumerically(spec, new Laplace(input.Scale)).Alpha;
            return Close.Relative(numeric, closed, 1e-6).Label($"closed {closed:R}, numeric {numeric:R}");
        });

    [Property(MaxTest = 15)]
    public Property LomaxClosedForm_EqualsNumericMinimiserOfTheAveragedObjective()
    {
        Gen<(int Bits, double Shape, int Clients)> inputs = TheoryArbitraries.TruncatedBits.SelectMany(
            _ => Gen.Choose(3500, 20000).SelectMany(_ => Gen.Choose(1, 64), (r, n) => (r / 1000.0, n)),
            (b, p) => (b, p.Item1, p.n));
        return Prop.ForAll(inputs.ToArbitrary(), input =>
        {
            var spec = new TruncatedNonUniform(input.Bits, Threshold.Averaged(input.Clients));
            var model = new Lomax(0.01, input.Shape);
            double closed = Quantizers.Design(spec, model).Alpha;
            double numeric = Quantizers.DesignNumerically(spec, model).Alpha;
            return Close.Relative(numeric, closed, 1e-6).Label($"closed {closed:R}, numeric {numeric:R}");
        });
    }

    [Property(MaxTest = 10)]
    public Property MoreClients_NeverLowerTheThreshold_AndNeverRaiseTheAveragedError() =>
        Prop.ForAll(TheoryArbitraries.TruncatedSpecs(5).ToArbitrary(), Gen.Choose(2, 64).ToArbitrary(), (spec, clients) =>
        {
            var model = new Laplace(1);
            QuantizerSpec one = spec with { Threshold = Threshold.Averaged(1) };
            QuantizerSpec many = spec with { Threshold = Threshold.Averaged(clients) };
            QuantizerDesign single = Quantizers.Design(one, model);
            QuantizerDesign averaged = Quantizers.Design(many, model);
            // The averaged design minimises V/N + M, so it is no worse on that objective than the one-client design,
            // and it buys its lower truncation with a larger α.
            return (averaged.Alpha >= single.Alpha * (1 - 1e-6)).Label($"α: N = 1 {single.Alpha:R}, N = {clients} {averaged.Alpha:R}")
                .And((averaged.TruncationMse <= single.TruncationMse * (1 + 1e-6)).Label("truncation MSE does not grow"))
                .And((Quantizers.AveragedError(averaged, clients) <= Quantizers.AveragedError(single, clients) * (1 + 1e-6))
                    .Label("the averaged objective is no worse"))
                .Classify(spec is TruncatedBiScaled, "tbq");
        });

    [Fact]
    public void LaplaceThreshold_IsTheClosedFormWithSTimesRootN()
    {
        // α = 3γ·ln(1 + s√N/c), c = 3√6/2: at b = 3 (s = 7) and N = 8, s√N = 19.799 → α = 3·ln(1 + 19.799/3.674) = 5.5635γ
        // (one client: 3·ln(1 + 7/3.674) = 3.1995γ).
        QuantizerDesign design = Quantizers.Design(new TruncatedNonUniform(3, Threshold.Averaged(8)), new Laplace(2));
        Assert.Equal(3 * 2 * Math.Log(1 + (7 * Math.Sqrt(8) / (1.5 * Math.Sqrt(6)))), design.Alpha, 12);
        Assert.Equal(5.5635, design.Alpha / 2, 4);
        Assert.True(design.Alpha > Quantizers.Design(new TruncatedNonUniform(3), new Laplace(2)).Alpha);
    }

    [Fact]
    public void AveragedThreshold_IsValidatedLikeTheOthers()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Threshold.Averaged(0));
        Assert.False(Schemes.TryParse("qsgd", 3, Threshold.Averaged(8), out _, out SchemeProblem? problem));
        Assert.Equal("threshold", problem.Argument);
        Assert.Equal("averaged(8)", Threshold.Averaged(8).ToString());
        Assert.Equal(Threshold.Averaged(8), Threshold.Averaged(8));
        Assert.Throws<ArgumentOutOfRangeException>(() => Quantizers.AveragedError(Quantizers.Design(new TruncatedUniform(2), new Laplace(1)), 0));
    }
}
