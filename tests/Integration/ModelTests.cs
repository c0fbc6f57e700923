using Verified.Simulation.Models;
using Verified.Simulation.Training;
using static TorchSharp.torch;

namespace IntegrationTests;

[Collection(LibtorchTests.Name)]
public sealed class ModelTests
{
    [Theory]
    [InlineData(ModelKind.Cnn, 1_199_882)]
    [InlineData(ModelKind.AlexNet, 5_670_602)]
    [InlineData(ModelKind.Mlp, 101_770)]
    public void Model_HasDocumentedParameterCount_AndTenLogits(ModelKind kind, long parameters)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(1);
        using var model = ModelFactory.Create(kind, 28, 28, 10, CPU);

        Assert.Equal(parameters, ModelFactory.ParameterCount(model));
        Assert.Equal(new long[] { 3, 10 }, model.forward(randn(3, 1, 28, 28)).shape);
    }

    [Fact]
    public void Model_InitialisationIsDeterministicForASeed()
    {
        float[] Weights(long seed)
        {
            random.manual_seed(seed);
            using var model = ModelFactory.Create(ModelKind.Cnn, 28, 28, 10, CPU);
            using var buffer = new FlatParameterBuffer(model);
            buffer.GatherValues();
            return buffer.Span.ToArray();
        }

        Assert.Equal(Weights(5), Weights(5));
        Assert.NotEqual(Weights(5), Weights(6));
    }

    [Theory]
    [InlineData("cnn", ModelKind.Cnn)]
    [InlineData("AlexNet", ModelKind.AlexNet)]
    [InlineData("MLP", ModelKind.Mlp)]
    public void Parse_AcceptsModelNames(string text, ModelKind kind) => Assert.Equal(kind, ModelFactory.Parse(text));

    [Fact]
    public void Parse_RejectsUnknown() =>
        Assert.Contains("cnn, alexnet or mlp", Assert.Throws<FormatException>(() => ModelFactory.Parse("resnet")).Message, StringComparison.Ordinal);

    [Fact]
    public void FlatBuffer_GathersGradientsInParameterOrder()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(2);
        using var model = ModelFactory.Create(ModelKind.Cnn, 28, 28, 10, CPU);
        using var buffer = new FlatParameterBuffer(model);
        nn.functional.cross_entropy(model.forward(randn(4, 1, 28, 28)), tensor(new long[] { 1, 2, 3, 4 })).backward();

        buffer.GatherGradients();

        float[] expected = cat(model.parameters().Select(p => p.grad!.flatten()).ToArray()).data<float>().ToArray();
        Assert.Equal(expected, buffer.Span.ToArray());
        Assert.Equal(1_199_882, buffer.Length);
    }

    [Fact]
    public void MomentumSgd_MatchesTorchOptimSgd()
    {
        using var scope = NewDisposeScope();
        var options = new SgdOptions { LearningRate = 0.05, Momentum = 0.9, WeightDecay = 5e-4 };
        random.manual_seed(3);
        using var ours = ModelFactory.Create(ModelKind.Mlp, 8, 8, 4, CPU);
        random.manual_seed(3);
        using var theirs = ModelFactory.Create(ModelKind.Mlp, 8, 8, 4, CPU);
        using var gradient = new FlatParameterBuffer(ours);
        using var sgd = new MomentumSgd(gradient, options);
        using var reference = optim.SGD(theirs.parameters(), options.LearningRate, options.Momentum, 0, options.WeightDecay);

        for (int step = 0; step < 4; step++)
        {
            var x = randn(5, 1, 8, 8);
            var y = tensor(new long[] { 0, 1, 2, 3, 0 });
            ours.zero_grad();
            nn.functional.cross_entropy(ours.forward(x), y).backward();
            gradient.GatherGradients();
            sgd.Step(gradient);

            reference.zero_grad();
            nn.functional.cross_entropy(theirs.forward(x), y).backward();
            reference.step();
        }

        using var a = new FlatParameterBuffer(ours);
        using var b = new FlatParameterBuffer(theirs);
        a.GatherValues();
        b.GatherValues();
        float[] expected = b.Span.ToArray();
        float[] actual = a.Span.ToArray();
        Assert.All(Enumerable.Range(0, expected.Length), j => Assert.Equal(expected[j], actual[j], 1e-6f));
    }

    [Fact]
    public void SgdOptions_ValidateInInit()
    {
        var options = new SgdOptions();
        Assert.Equal((0.01, 0.9, 5e-4), (options.LearningRate, options.Momentum, options.WeightDecay));
        Assert.Throws<ArgumentOutOfRangeException>(() => options with { LearningRate = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => options with { Momentum = 1 });
        Assert.Throws<ArgumentOutOfRangeException>(() => options with { WeightDecay = double.NaN });
    }
}
