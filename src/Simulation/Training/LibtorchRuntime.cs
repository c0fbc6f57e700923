using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Verified.Simulation.Training;

/// <summary>
/// Process-wide settings of the native side that a simulation needs: libtorch's thread count, and glibc's malloc
/// thresholds so that libtorch's large temporary buffers are reused instead of mapped and unmapped per operation.
/// </summary>
/// <remarks>
/// <para>libtorch allocates each activation, gradient and im2col buffer with <c>posix_memalign</c>. By default glibc
/// serves blocks above 128 KiB (a threshold that adapts up to 32 MiB) with <c>mmap</c> and returns freed memory at
/// the top of the heap to the kernel, so every forward and backward pass faults its buffers in again. On the
/// Firecracker VMs here a page fault is expensive: evaluating the default CNN on the 10,000 test images took about
/// 45 s (20 s of it system time) before and about 7 s (2 s) after raising both thresholds to 2 GiB with
/// <c>mallopt</c>. The cost is that the process keeps its peak heap instead of returning it, which also makes memory
/// use flat over a long run.</para>
/// <para>One limit remains: threads other than the main one allocate from secondary arenas of at most 64 MiB, and a
/// block that does not fit is always mapped. Keep single tensors well below that, which is why evaluation runs in
/// batches of 100 (<see cref="SimulationConfig.EvaluationBatchSize"/>).</para>
/// <para>Both settings are global to the process and idempotent; the trainer applies them when it is created.</para>
/// </remarks>
public static partial class LibtorchRuntime
{
    private const int MallocTrimThreshold = -1; // M_TRIM_THRESHOLD in <malloc.h>
    private const int MallocMmapThreshold = -3; // M_MMAP_THRESHOLD in <malloc.h>

    /// <summary>Sets libtorch's intra-op threads and, on Linux with glibc, the malloc thresholds.</summary>
    /// <param name="threads">libtorch intra-op threads. Range: ≥ 1.</param>
    /// <returns>Whether the malloc thresholds were set (false off glibc).</returns>
    public static bool Configure(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        set_num_threads(threads);
        return KeepHeapMemory();
    }

    /// <summary>Raises glibc's mmap and trim thresholds to 2 GiB; false where there is no glibc <c>mallopt</c>.</summary>
    public static bool KeepHeapMemory()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }
        try
        {
            return Mallopt(MallocMmapThreshold, int.MaxValue) == 1 && Mallopt(MallocTrimThreshold, int.MaxValue) == 1;
        }
        catch (EntryPointNotFoundException)
        {
            return false; // a C library without mallopt (musl)
        }
        catch (DllNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int Mallopt(int parameter, int value);
}
