using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Verified.Simulation.Models;

/// <summary>
/// The papers' AlexNet-style network (P1 trains "AlexNet" on MNIST with 8 clients), adapted to 28×28 grey images.
/// </summary>
/// <remarks>
/// <para>AlexNet (Krizhevsky et al. 2012; channel widths as in torchvision) expects 3×224×224 input: an 11×11 stride-4
/// first convolution, three 3×3 stride-2 max-pools, and 4096-wide fully connected layers. On 1×28×28 the first layer
/// would leave a 5×5 map and the pools would shrink it to nothing, so this adaptation keeps AlexNet's shape — five
/// convolutions with widths 64, 192, 384, 256, 256, ReLU, three max-pools, dropout, three fully connected layers — and
/// changes only what the input size forces:</para>
/// <list type="bullet">
/// <item>1 input channel instead of 3;</item>
/// <item>every convolution is 3×3, stride 1, padding 1 (instead of 11×11/4 and 5×5), so spatial size is kept
/// between pools;</item>
/// <item>max-pools are 2×2, stride 2 (instead of 3×3, stride 2): 28 → 14 → 7 → 3;</item>
/// <item>no adaptive average pool (the map is already 3×3);</item>
/// <item>fully connected widths 1024, 1024 (instead of 4096, 4096), which brings the model to ≈ 5.7 M parameters
/// instead of ≈ 28 M, affordable on a 2-core CPU; dropout 0.5 before each as in AlexNet;</item>
/// <item>10 outputs (logits).</item>
/// </list>
/// <code>
/// input 1×28×28
/// conv 3×3 64, ReLU, max-pool 2  → 64×14×14        640
/// conv 3×3 192, ReLU, max-pool 2 → 192×7×7     110,784
/// conv 3×3 384, ReLU             → 384×7×7     663,936
/// conv 3×3 256, ReLU             → 256×7×7     884,992
/// conv 3×3 256, ReLU, max-pool 2 → 256×3×3     590,080
/// dropout .5, fc 2304 → 1024, ReLU           2,360,320
/// dropout .5, fc 1024 → 1024, ReLU           1,049,600
/// fc 1024 → 10                                  10,250
///                                            5,670,602 in all
/// </code>
/// <para>The papers do not state their exact variant (spec/papers.md §2.5 marks it not found); this one is documented
/// in docs/models.md.</para>
/// </remarks>
public sealed class AlexNetMnist : ClassifierModel
{
    private readonly Sequential _features;
    private readonly Sequential _classifier;

    /// <summary>Creates the network for <paramref name="rows"/>×<paramref name="columns"/> single-channel images.</summary>
    public AlexNetMnist(int rows, int columns, int classes, Device device)
        : base(nameof(AlexNetMnist))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 8);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 8);
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
        _features = nn.Sequential(
            ("conv1", nn.Conv2d(1, 64, 3, padding: 1)),
            ("relu1", nn.ReLU()),
            ("pool1", nn.MaxPool2d(2)),
            ("conv2", nn.Conv2d(64, 192, 3, padding: 1)),
            ("relu2", nn.ReLU()),
            ("pool2", nn.MaxPool2d(2)),
            ("conv3", nn.Conv2d(192, 384, 3, padding: 1)),
            ("relu3", nn.ReLU()),
            ("conv4", nn.Conv2d(384, 256, 3, padding: 1)),
            ("relu4", nn.ReLU()),
            ("conv5", nn.Conv2d(256, 256, 3, padding: 1)),
            ("relu5", nn.ReLU()),
            ("pool5", nn.MaxPool2d(2)));
        _classifier = nn.Sequential(
            ("dropout1", new SeededDropout(0.5, DropoutGenerator)),
            ("fc1", nn.Linear(256L * (rows / 8) * (columns / 8), 1024)),
            ("relu6", nn.ReLU()),
            ("dropout2", new SeededDropout(0.5, DropoutGenerator)),
            ("fc2", nn.Linear(1024, 1024)),
            ("relu7", nn.ReLU()),
            ("fc3", nn.Linear(1024, classes)));
        RegisterComponents();
        InitializeForRelu();
        this.to(device);
    }

    /// <summary>
    /// He initialization (He et al. 2015, "Delving deep into rectifiers", §2.2): weights N(0, 2/fan_in), biases 0.
    /// </summary>
    /// <remarks>
    /// libtorch's default (Kaiming-uniform with a = √5, i.e. variance 1/(3·fan_in)) shrinks the activations by about
    /// √6 per ReLU layer; through eight layers without normalisation the logits start near zero and the gradients
    /// vanish, and the network sat at loss 2.30 (chance) for the first 60 rounds on MNIST (8 clients, batch 32,
    /// η = 0.01, μ = 0.9). He's variance keeps the activations' scale through ReLU layers, which is what a plain deep
    /// ReLU network needs. Drawn from libtorch's generator, so seeded by the run seed like every other model.
    /// </remarks>
    private void InitializeForRelu()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach ((string _, nn.Module module) in named_modules())
        {
            // Only the convolutions: each is followed by a ReLU, and they are the layers through which the default's
            // shrinking compounds. The fully connected layers keep libtorch's default, which keeps the first logits
            // small (He's variance there gave a first loss of 11.6 and dead units).
            (Tensor? weight, Tensor? bias) = module is Conv2d conv ? (conv.weight, conv.bias) : (null, null);
            if (weight is not null)
            {
                nn.init.kaiming_normal_(weight, mode: nn.init.FanInOut.FanIn, nonlinearity: nn.init.NonlinearityType.ReLU);
            }
            if (bias is not null)
            {
                nn.init.zeros_(bias);
            }
        }
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var features = _features.forward(input).flatten(1);
        return scope.MoveToOuter(_classifier.forward(features));
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _features.Dispose();
            _classifier.Dispose();
        }
        base.Dispose(disposing);
    }
}
