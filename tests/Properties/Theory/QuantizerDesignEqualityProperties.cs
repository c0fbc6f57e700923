using System.Collections.Immutable;
using System.Runtime.InteropServices;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Verified.Theory;

namespace PropertyTests;

/// <summary>A design is a value: equal by content (levels element by element), with a hash code to match.</summary>
public sealed class QuantizerDesignEqualityProperties
{
    [Property(MaxTest = 40)]
    public Property TwoDesignCalls_GiveEqualDesigns_WithEqualHashCodes() =>
        Prop.ForAll(TheoryArbitraries.TruncatedDesigns(maximumBits: 6), input =>
        {
            // Copies of the arguments, so that nothing is shared by reference between the two designs but the values.
            QuantizerDesign first = Quantizers.Design(input.Spec, input.Model);
            QuantizerDesign second = Quantizers.Design(input.Spec with { }, input.Model with { });
            // Two arrays of levels: ImmutableArray's own equality (by reference) would call these designs different.
            return (!ReferenceEquals(ImmutableCollectionsMarshal.AsArray(first.Levels), ImmutableCollectionsMarshal.AsArray(second.Levels))).Label("distinct level arrays")
                .And(first.Equals(second).Label("Equals"))
                .And((first == second).Label("=="))
                .And(first.Equals((object)second).Label("Equals(object)"))
                .And((first.GetHashCode() == second.GetHashCode()).Label("GetHashCode"));
        });

    [Property(MaxTest = 40)]
    public Property ADesignWithOneLevelChanged_IsNotEqual() =>
        Prop.ForAll(
            TheoryArbitraries.TruncatedDesigns(maximumBits: 6).Generator
                .SelectMany(_ => Gen.Choose(0, int.MaxValue), (input, pick) => (input.Spec, input.Model, Pick: pick))
                .ToArbitrary(),
            input =>
            {
                QuantizerDesign design = Quantizers.Design(input.Spec, input.Model);
                int k = input.Pick % design.Levels.Length;
                // The next double up: the smallest change a level can have.
                ImmutableArray<double> levels = design.Levels.SetItem(k, Math.BitIncrement(design.Levels[k]));
                QuantizerDesign changed = WithLevels(design, levels);
                QuantizerDesign same = WithLevels(design, [.. design.Levels]);
                return (!design.Equals(changed)).Label($"level {k} changed, still Equal")
                    .And((design != changed).Label("!="))
                    .And(design.Equals(same).Label("a copy of the levels is Equal"))
                    .And((design.GetHashCode() == same.GetHashCode()).Label("a copy of the levels hashes the same"));
            });

    private static QuantizerDesign WithLevels(QuantizerDesign design, ImmutableArray<double> levels) =>
        new(design.Spec, design.Model, design.Alpha, levels, design.LevelUnit, design.RoundingVarianceBound,
            design.RoundingVariance, design.TruncationMse, design.HighResolutionError, design.Split, design.Dimension);
}
