using Verified.Host.Cli;

return VerifiedCli.Run(args, Console.Out, Console.Error, handleSignals: true);
