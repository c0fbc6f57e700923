using FsCheck;
using FsCheck.Fluent;
using Verified.Theory;

namespace PropertyTests;

/// <summary>Generators for Theory's validated records; FsCheck's reflective generation would break their invariants.</summary>
internal static class TheoryArbitraries
{
    /// <summary>Scales spread over six decades, so that "linear in scale" is tested where it matters.</summary>
    public static Gen<double> Scales { get; } =
        Gen.Choose(-3000, 3000).Select(e => Math.Pow(10, e / 1000.0));

    /// <summary>Lomax/Pareto shapes ρ from just above 3 to 40.</summary>
    public static Gen<double> Shapes { get; } =
        Gen.Choose(3050, 40000).Select(x => x / 1000.0);

    public static Gen<int> TruncatedBits { get; } = Gen.Choose(1, 8);

    /// <summary>Every model, with random parameters.</summary>
    public static Gen<GradientModel> Models { get; } = Gen.OneOf(
        Scales.Select(GradientModel (scale) => new Laplace(scale)),
        Scales.Select(GradientModel (scale) => new Gaussian(scale)),
        Scales.SelectMany(_ => Shapes, GradientModel (scale, shape) => new Lomax(scale, shape)),
        Scales.SelectMany(_ => Shapes, GradientModel (scale, shape) => new ParetoTail(scale, shape)));

    /// <summary>Models whose density decreases in |g| (every model but the Pareto tail, which starts at g₀).</summary>
    public static Gen<GradientModel> DecreasingModels { get; } = Gen.OneOf(
        Scales.Select(GradientModel (scale) => new Laplace(scale)),
        Scales.Select(GradientModel (scale) => new Gaussian(scale)),
        Scales.SelectMany(_ => Shapes, GradientModel (scale, shape) => new Lomax(scale, shape)));

    /// <summary>The three truncated schemes at every bit width, with the optimal threshold.</summary>
    public static Gen<TruncatedSpec> TruncatedSpecs(int maximumBits = QuantizerSpec.MaxBits) =>
        Gen.Choose(1, maximumBits).SelectMany(
            _ => Gen.Choose(0, 2),
            TruncatedSpec (bits, kind) => kind switch
            {
                0 => new TruncatedUniform(bits),
                1 => new TruncatedNonUniform(bits),
                _ => new TruncatedBiScaled(bits),
            });

    public static Arbitrary<(TruncatedSpec Spec, GradientModel Model)> TruncatedDesigns(int maximumBits = QuantizerSpec.MaxBits) =>
        TruncatedSpecs(maximumBits).SelectMany(_ => Models, (spec, model) => (spec, model)).ToArbitrary();
}

/// <summary>Relative and absolute closeness with messages that say by how much a check missed.</summary>
internal static class Close
{
    public static bool Relative(double actual, double expected, double tolerance) =>
        Math.Abs(actual - expected) <= tolerance * Math.Max(Math.Abs(expected), double.Epsilon);

    public static bool Absolute(double actual, double expected, double tolerance) =>
        Math.Abs(actual - expected) <= tolerance;
}

/// <summary>
/// The seed the Monte-Carlo properties replay from: a statistical check fails now and then by chance (a 5-standard-
/// error band, dozens of cases), so CI runs the same draws every time. Pure laws (round trips, path equality, closed
/// forms, validation) are not pinned: they see new inputs on every run, and FsCheck prints the seed of a failure.
/// </summary>
internal static class PinnedSeed
{
    public const string Replay = "(20261122,11)";
}
