using BenchmarkDotNet.Running;
using Nabla.Bench;

// Quick hand-run modes (no BenchmarkDotNet): `dotnet run -c Release --project bench/Nabla.Bench -- gemm-quick [options]`,
// `-- governor-ab [blocks] [data-dir]` (fixed against governed thread count, see GovernorAb).
if (args.Length > 0 && args[0] == "gemm-quick")
{
    GemmQuick.Run(args[1..]);
    return;
}
if (args.Length > 0 && args[0] == "governor-ab")
{
    GovernorAb.Run(args[1..]);
    return;
}

// Everything else goes to BenchmarkDotNet, e.g. `-- --filter *GemmBench*`.
BenchmarkSwitcher.FromAssembly(typeof(GemmBench).Assembly).Run(args);
