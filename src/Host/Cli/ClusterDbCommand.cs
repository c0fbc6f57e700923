using System.CommandLine;
using Npgsql;
using Verified.Host.Cluster;

namespace Verified.Host.Cli;

/// <summary>
/// <c>verified cluster-db</c>: sets up the PostgreSQL database of a real cluster (Orleans' membership and grain storage
/// tables and queries, <see cref="ClusterDatabase"/>) once, before the first <c>verified silo --clustering postgres</c>.
/// Safe to run again: a database that is set up already is left as it is.
/// </summary>
internal static class ClusterDbCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var connection = new Option<string?>("--connection") { Description = "Npgsql connection string of the cluster's database, e.g. Host=10.0.0.5;Username=verified;Password=…;Database=verified (the user must be allowed to create tables in it)." };
        var print = new Option<bool>("--print") { Description = "Write the schema as a psql script to stdout instead (for a DBA, or to run with psql where this machine cannot reach the server); touches no database." };
        var command = new Command("cluster-db", "Set up the PostgreSQL database of a cluster of silos (docs/cluster.md); does nothing if it is set up already.")
        {
            connection, print,
        };
        command.SetAction(async (parse, cancellation) =>
        {
            if (parse.GetValue(print))
            {
                output.Write(ClusterDatabase.Script());
                return 0;
            }
            string? text = parse.GetValue(connection);
            if (string.IsNullOrWhiteSpace(text))
            {
                error.WriteLine("verified cluster-db: --connection is required: give the Npgsql connection string of the cluster's database, e.g. --connection 'Host=10.0.0.5;Username=verified;Password=…;Database=verified' (or --print for the script).");
                return VerifiedCli.InvalidArgumentsExitCode;
            }
            if (ClusterDatabase.CheckConnectionString(text) is { } wrong)
            {
                error.WriteLine($"verified cluster-db: --connection: {wrong}.");
                return VerifiedCli.InvalidArgumentsExitCode;
            }
            string where = ClusterDatabase.Where(text);
            try
            {
                (bool created, ClusterDatabase.State found) = await ClusterDatabase.SetUpAsync(text, cancellation).ConfigureAwait(false);
                if (created)
                {
                    output.WriteLine($"verified cluster-db: created the tables and queries of Orleans' ADO.NET clustering and grain storage in {where}. Start each silo with: verified silo --clustering postgres --connection '…' --advertise ADDRESS");
                    return 0;
                }
                if (found.IsReady)
                {
                    output.WriteLine($"verified cluster-db: {where} is set up already ({found.Describe()}); nothing changed.");
                    return 0;
                }
                error.WriteLine($"verified cluster-db: {where} holds part of a cluster's schema: {found.Describe()}. Nothing changed: use an empty database (or drop those tables), or complete it with Orleans' own PostgreSQL scripts (docs/cluster.md).");
                return VerifiedCli.FailureExitCode;
            }
            catch (NpgsqlException e)
            {
                error.WriteLine($"verified cluster-db: could not set up {where}: {ClusterDatabase.Why(e)}. Check --connection (Host, Port, Username, Password, Database), that the server takes TCP connections from this machine, and that the user may create tables there.");
                return VerifiedCli.FailureExitCode;
            }
        });
        return command;
    }
}
