using System.Runtime.InteropServices;

namespace Verified.Host.Cli;

/// <summary>
/// SIGINT (Ctrl+C) and SIGTERM for the long verbs (<c>run</c>, <c>sde</c>): the first signal cancels
/// <see cref="Token"/>, so the verb finishes the round (or experiment) it is in, writes whole rows, its summary and
/// plots, and exits 130 (SIGINT) or 143 (SIGTERM); a second signal ends the process at once. Rows are written with one
/// write each (RunReport), so even that leaves no torn row.
/// </summary>
/// <remarks>
/// System.CommandLine's own termination handling only covers <c>InvokeAsync</c>; with <c>Invoke</c> the runtime's
/// default SIGINT handling killed <c>verified run</c> mid-row. <c>serve</c> does not use this: the generic host
/// handles its signals (checkpoint, requeue).
/// </remarks>
internal sealed class TerminationSignals : IDisposable
{
    /// <summary>Exit status after SIGINT: 128 + 2, as shells report a process ended by Ctrl+C.</summary>
    public const int InterruptExitCode = 130;

    /// <summary>Exit status after SIGTERM: 128 + 15.</summary>
    public const int TerminateExitCode = 143;

    private readonly CancellationTokenSource _source;
    private readonly TextWriter _error;
    private readonly PosixSignalRegistration[] _registrations;
    private int _received;

    /// <summary>Handles SIGINT and SIGTERM until disposed, cancelling <paramref name="source"/> on the first.</summary>
    public TerminationSignals(CancellationTokenSource source, TextWriter error)
    {
        _source = source;
        _error = error;
        _registrations =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle),
        ];
    }

    /// <summary>Cancelled by the first SIGINT or SIGTERM.</summary>
    public CancellationToken Token => _source.Token;

    /// <summary>The first signal received, if any.</summary>
    public PosixSignal? Signal { get; private set; }

    /// <summary>The exit status for a verb that stopped early because of <see cref="Signal"/>.</summary>
    public int InterruptedExitCode => Signal == PosixSignal.SIGTERM ? TerminateExitCode : InterruptExitCode;

    private void Handle(PosixSignalContext context)
    {
        if (Interlocked.Increment(ref _received) == 1)
        {
            // Keep the process: the verb sees the token at its next round or experiment and ends cleanly.
            context.Cancel = true;
            Signal = context.Signal;
            _error.WriteLine(context.Signal == PosixSignal.SIGINT
                ? "verified: Ctrl+C: finishing the current step, then writing what was measured (Ctrl+C again stops at once)."
                : "verified: SIGTERM: finishing the current step, then writing what was measured.");
            _source.Cancel();
        }
        // A second signal keeps the default: the process ends now. Every row already written is whole.
    }

    public void Dispose()
    {
        foreach (PosixSignalRegistration registration in _registrations)
        {
            registration.Dispose();
        }
    }
}
