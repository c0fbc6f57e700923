using static TorchSharp.torch;

namespace Verified.Simulation.Models;

/// <summary>
/// <c>max_pool2d</c> with a k×k window and stride k, run on a channels-last copy of its input: the same values and
/// the same gradients as <c>nn.MaxPool2d(k)</c>, bit for bit, several times faster in libtorch 2.10 on the CPU.
/// </summary>
/// <remarks>
/// <para>Measured with <c>Verified.RoundLoop --ops</c> (docs/simulation.md, "Where the loop's time goes"): on the default
/// CNN's 32×64×24×24 activation, libtorch's NCHW max-pool kernel took about 6.8 ms per forward call on one thread (PyTorch
/// 1.13's about 5.5 ms), a fifth of a whole client step, while its channels-last kernel, which vectorises across
/// channels, takes a few hundred µs. The transposing copy costs less than the difference.</para>
/// <para>Why the result is identical: <c>permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)</c> is the same logical
/// tensor with channels-last strides, and libtorch picks its kernel from the strides. Both kernels scan each window in
/// the same order and keep the first maximum (a later element replaces it only if strictly greater, or NaN), so the
/// pooled values and the index each gradient flows back to are the same. The output is copied back to the NCHW layout
/// (a quarter of the input's size): layers after it see the tensor they saw before, which matters beyond
/// <c>flatten</c> — <see cref="SeededDropout"/> draws its mask with <c>empty_like(...).bernoulli_</c>, which fills in
/// storage order, so a channels-last output would put the same random draws on other coordinates (a 12-round run
/// showed it). <c>ModelTests</c> checks values, layout and gradients bit for bit, with ties.</para>
/// </remarks>
public sealed class FastMaxPool2d : nn.Module<Tensor, Tensor>
{
    private readonly long _kernel;

    /// <summary>A k×k max-pool with stride k.</summary>
    /// <param name="kernel">k. Range: ≥ 1.</param>
    public FastMaxPool2d(long kernel)
        : base(nameof(FastMaxPool2d))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(kernel, 1);
        _kernel = kernel;
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var scope = NewDisposeScope();
        Tensor channelsLast = input.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
        return scope.MoveToOuter(nn.functional.max_pool2d(channelsLast, [_kernel, _kernel]).contiguous());
    }
}
