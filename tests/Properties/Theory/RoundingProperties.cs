using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Random = System.Random;
using Verified.Theory;

namespace PropertyTests;

/// <summary>
/// Spec §6 items 6–10: Lemma 1 for the levels of every truncated design. Monte-Carlo checks draw from a seeded
/// <see cref="System.Random"/> and allow 5 standard errors (plus the exact-arithmetic identity where one exists).
/// </summary>
public sealed class RoundingProperties
{
    private const int Draws = 20_000;
    private const double Sigmas = 5;

    private static Gen<(QuantizerDesign Design, double X, int Seed)> PointsInRange(int maximumBits) =>
        TheoryArbitraries.TruncatedSpecs(maximumBits).SelectMany(_ => TheoryArbitraries.Models, (spec, model) => Quantizers.Design(spec, model))
            .SelectMany(_ => Gen.Choose(-1_000_000, 1_000_000).SelectMany(_ => Gen.Choose(0, int.MaxValue), (f, seed) => (f, seed)),
                (design, p) => (design, design.Alpha * p.f / 1_000_000.0, p.seed));

    [Property(MaxTest = 200)]
    public Property Rounding_LandsOnTheCellsEnds_AndIsUnbiasedExactly() =>
        Prop.ForAll(PointsInRange(8).ToArbitrary(), input =>
        {
            ReadOnlySpan<double> levels = input.Design.Levels.AsSpan();
            int k = Rounding.UpperIndex(levels, input.X);
            double up = Rounding.ProbabilityUp(levels, input.X);
            double mean = (up * levels[k]) + ((1 - up) * levels[k - 1]);
            double width = levels[k] - levels[k - 1];
            var random = new Random(input.Seed);
            bool onEnds = true;
            for (int i = 0; i < 50; i++)
            {
                int index = Rounding.RoundIndex(levels, input.X, random.NextDouble());
                onEnds &= index == k || index == k - 1;
            }
            return (levels[k - 1] <= input.X && input.X <= levels[k]).Label("x in cell k")
                .And(onEnds.Label("Q(x) ∈ {l_{k−1}, l_k}"))
                .And(Close.Absolute(mean, input.X, 1e-12 * input.Design.Alpha).Label($"p_up·l_k + (1 − p_up)·l_{{k−1}} = x (off by {mean - input.X:E2})"))
                .And((Rounding.Variance(levels, input.X) <= width * width / 4 * (1 + 1e-12)).Label("Var ≤ Δ_k²/4"));
        });

    [Property(MaxTest = 100)]
    public Property Rounding_OnALevel_IsDeterministic()
    {
        Gen<(QuantizerDesign Design, int Index)> inputs = TheoryArbitraries.TruncatedSpecs(6)
            .SelectMany(_ => TheoryArbitraries.Models, (spec, model) => Quantizers.Design(spec, model))
            .SelectMany(design => Gen.Choose(0, design.Intervals), (design, k) => (design, k));
        return Prop.ForAll(inputs.ToArbitrary(), input =>
        {
            ReadOnlySpan<double> levels = input.Design.Levels.AsSpan();
            double level = levels[input.Index];
            return (Rounding.Quantize(levels, level, 0) == level && Rounding.Quantize(levels, level, Math.BitDecrement(1.0)) == level)
                .Label("Q(l_k) = l_k for every draw");
        });
    }

    [Property(MaxTest = 40, Replay = PinnedSeed.Replay)]
    public Property MonteCarlo_MeanAndVariance_MatchLemma1() =>
        Prop.ForAll(PointsInRange(6).ToArbitrary(), input =>
        {
            ReadOnlySpan<double> levels = input.Design.Levels.AsSpan();
            double x = input.X;
            double expectedVariance = Rounding.Variance(levels, x);
            var random = new Random(input.Seed);
            double sum = 0;
            double sumSquares = 0;
            for (int i = 0; i < Draws; i++)
            {
                double q = Rounding.Quantize(levels, x, random.NextDouble()) - x;
                sum += q;
                sumSquares += q * q;
            }
            double mean = sum / Draws;
            double variance = sumSquares / Draws;
            int k = Rounding.UpperIndex(levels, x);
            double width = levels[k] - levels[k - 1];
            // Error q ∈ [−Δ, Δ]: the mean has standard error √(Var/n); q² ≤ Δ² gives the second moment's, ≤ Δ²·√(p(1−p)/n)·2.
            double meanError = Math.Sqrt(expectedVariance / Draws) + 1e-15;
            double varianceError = width * width / Math.Sqrt(Draws) + 1e-15;
            return (Math.Abs(mean) <= Sigmas * meanError).Label($"|mean error| {Math.Abs(mean):E3} ≤ 5 SE {Sigmas * meanError:E3}")
                .And((Math.Abs(variance - expectedVariance) <= Sigmas * varianceError).Label($"variance {variance:E4} vs {expectedVariance:E4}"));
        });

    [Property(MaxTest = 25)]
    public Property Composition_IsUnbiasedForTheTruncatedValue_NotForG()
    {
        Gen<(QuantizerDesign Design, double Overshoot, int Seed)> inputs = TheoryArbitraries.TruncatedSpecs(4)
            .SelectMany(_ => TheoryArbitraries.Models, (spec, model) => Quantizers.Design(spec, model))
            .SelectMany(_ => Gen.Choose(1, 1000).SelectMany(_ => Gen.Choose(0, int.MaxValue), (o, s) => (o, s)),
                (design, p) => (design, 1 + (p.o / 100.0), p.s));
        return Prop.ForAll(inputs.ToArbitrary(), input =>
        {
            ReadOnlySpan<double> levels = input.Design.Levels.AsSpan();
            double g = input.Overshoot * input.Design.Alpha;
            var random = new Random(input.Seed);
            bool alwaysAlpha = true;
            for (int i = 0; i < 1000; i++)
            {
                alwaysAlpha &= Rounding.Quantize(levels, g, random.NextDouble()) == input.Design.Alpha;
            }
            // Beyond α the value is truncated onto the level α itself, so every draw returns α: E[Q(T_α(g))] = α ≠ g.
            return alwaysAlpha.Label("Q(T_α(g)) = T_α(g) = α for every draw")
                .And((input.Design.Alpha < g).Label("biased for g beyond α"));
        });
    }

    [Property(MaxTest = 20, Replay = PinnedSeed.Replay)]
    public Property SymmetricModel_TruncatedQuantizedError_HasMeanZero()
    {
        Gen<(QuantizerDesign Design, int Seed)> inputs = TheoryArbitraries.TruncatedSpecs(5)
            .SelectMany(_ => TheoryArbitraries.Models, (spec, model) => Quantizers.Design(spec, model))
            .SelectMany(_ => Gen.Choose(0, int.MaxValue), (design, seed) => (design, seed));
        return Prop.ForAll(inputs.ToArbitrary(), input =>
        {
            ReadOnlySpan<double> levels = input.Design.Levels.AsSpan();
            GradientModel model = input.Design.Model;
            var random = new Random(input.Seed);
            double sum = 0;
            double sumSquares = 0;
            for (int i = 0; i < Draws; i++)
            {
                double g = model.Quantile(1 - random.NextDouble());
                // The error's second moment is J (rounding variance + truncation MSE), finite for every model here.
                double error = Rounding.Quantize(levels, g, random.NextDouble()) - g;
                sum += error;
                sumSquares += error * error;
            }
            double mean = sum / Draws;
            double standardError = Math.Sqrt(sumSquares / Draws / Draws);
            return (Math.Abs(mean) <= Sigmas * standardError + 1e-300).Label($"mean {mean:E3}, 5 SE {Sigmas * standardError:E3}");
        });
    }

    [Property(MaxTest = 30, Replay = PinnedSeed.Replay)]
    public Property AveragingN_DividesTheVarianceByN()
    {
        Gen<(QuantizerDesign Design, double X, int Clients, int Seed)> inputs = PointsInRange(5)
            .SelectMany(_ => Gen.Choose(2, 16), (p, n) => (p.Design, p.X, n, p.Seed));
        return Prop.ForAll(inputs.ToArbitrary(), input =>
        {
            ReadOnlySpan<double> levels = input.Design.Levels.AsSpan();
            double single = Rounding.Variance(levels, input.X);
            var random = new Random(input.Seed);
            const int averages = 4000;
            double sumSquares = 0;
            for (int i = 0; i < averages; i++)
            {
                double mean = 0;
                for (int c = 0; c < input.Clients; c++)
                {
                    mean += Rounding.Quantize(levels, input.X, random.NextDouble());
                }
                double error = (mean / input.Clients) - input.X;
                sumSquares += error * error;
            }
            double measured = sumSquares / averages;
            double expected = single / input.Clients;
            // The averaged error is bounded by Δ, so its square by Δ²: standard error ≤ Δ²/√n.
            int k = Rounding.UpperIndex(levels, input.X);
            double width = levels[k] - levels[k - 1];
            double standardError = width * width / Math.Sqrt(averages) + 1e-15;
            return (Math.Abs(measured - expected) <= Sigmas * standardError).Label($"measured {measured:E4}, Var/N {expected:E4}");
        });
    }
}
