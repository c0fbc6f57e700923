namespace IntegrationTests;

/// <summary>
/// Tests that use libtorch run one at a time: its generator (<c>torch.random.manual_seed</c>) and thread count are
/// global to the process, so parallel tests would make each other nondeterministic.
/// </summary>
[CollectionDefinition(Name)]
public sealed class LibtorchTests
{
    public const string Name = "libtorch";
}
