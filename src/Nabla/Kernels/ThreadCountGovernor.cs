using System.Diagnostics;

namespace Nabla.Kernels;

/// <summary>
/// Chooses, while a training loop runs, whether the calling thread's parallel kernels use all of
/// <see cref="WorkerPool.Threads"/> or one thread, by timing the loop's own steps with each.
/// </summary>
/// <remarks>
/// <para>
/// Why: on a virtual machine the host sometimes places the two vCPUs far apart (a cache line's round
/// trip between them 300–350 ns instead of 60–80). Pure arithmetic still runs twice as fast on two
/// threads then, but every line one thread writes and the other reads crosses at that latency, and a
/// training step, which hands its activations, gradients and packed operands between the cores, ran
/// slower on two threads than on one: the 784-256-128-10 MLP at 51–61K samples/s against 82–84K
/// (session 10; a data-parallel prototype was as slow). Such spells last seconds
/// and come and go, so no setting chosen up front is right: the loop measures.
/// </para>
/// <para>
/// How: after <see cref="WarmupSteps"/> steps (compilation, first-touch page faults), a
/// <em>probe</em> alternates steps on one thread and on all threads, <see cref="ProbeSteps"/> of
/// each, and keeps the faster count: one thread only when its median step is at least
/// <see cref="OneThreadMargin"/> faster. On all threads it then watches the median of the last
/// eight steps and probes again as soon as that is <see cref="SlowdownFactor"/> times the best seen
/// since the probe (but no sooner than 16 steps after it, twice that after each probe in a row that
/// kept all threads), so a spell is caught within a few dozen steps and a machine that stays healthy
/// pays for no probe after the first. On one thread it probes again after a second and at least
/// <see cref="RecheckSteps"/> steps, to return once the spell is over.
/// </para>
/// <para>
/// The choice changes no result: kernels split their work over rows and columns, never over a
/// reduction, so a step computes the same bits on one thread as on several. The cap applies to the
/// thread that calls <see cref="BeginStep"/> only (other threads' loops are not affected) and is
/// lifted by <see cref="Dispose"/>.
/// </para>
/// </remarks>
public sealed class ThreadCountGovernor : IDisposable
{
    /// <summary>Steps on all threads before the first probe.</summary>
    public const int WarmupSteps = 10;

    /// <summary>Steps of each thread count in one probe.</summary>
    public const int ProbeSteps = 4;

    /// <summary>One thread is kept only when its median step is this much shorter than all threads' (0.05: 5 %).</summary>
    public const double OneThreadMargin = 0.05;

    /// <summary>On all threads, a probe starts when the recent median step is this many times the best since the last probe.</summary>
    public const double SlowdownFactor = 1.3;

    /// <summary>On one thread, the fewest steps before all threads are tried again.</summary>
    public const int RecheckSteps = 32;

    private const int Window = 8;

    // On all threads, steps after a probe before the next may start: doubled for each probe in a row
    // that kept all threads (up to 64×), so that a machine whose step times merely wander (seen:
    // 18 probes in 2.5 s, the block 16 % slower than its neighbours) does not probe on every wobble.
    private const int MinStepsBetweenProbes = 16;

    /// <summary>
    /// Whether training loops govern their thread count unless told otherwise: only when the environment
    /// variable NABLA_ADAPTIVE_THREADS is 1. Off by default because the measured gain is not yet clear:
    /// 108.7K against 63.7–125.8K samples/s in spells where one thread stayed fast, but a third A/B run
    /// (session 10) had governed blocks at a median of 119K against 125K fixed, within the host's noise.
    /// </summary>
    public static bool EnabledByDefault { get; } = Environment.GetEnvironmentVariable("NABLA_ADAPTIVE_THREADS") == "1";

    private enum Phase { Warmup, Probe, Run }

    private readonly Func<long> clock;
    private readonly long ticksPerSecond;
    private readonly double[] one = new double[ProbeSteps], all = new double[ProbeSteps];
    private readonly double[] recent = new double[Window];
    private readonly double[] sortBuffer = new double[Window];
    private Phase phase = Phase.Warmup;
    private int warm, probeIndex, recentCount, recentNext, runSteps, quietProbes;
    private long runStart;
    private bool oneThread;
    private double best = double.PositiveInfinity;
    private long stepStart = -1;
    private bool stepOnOne;

    /// <summary>A governor timed by <see cref="Stopwatch"/>.</summary>
    public ThreadCountGovernor() : this(Stopwatch.GetTimestamp, Stopwatch.Frequency) { }

    /// <summary>A governor timed by <paramref name="clock"/> (ticks, <paramref name="ticksPerSecond"/> a second): for tests.</summary>
    internal ThreadCountGovernor(Func<long> clock, long ticksPerSecond)
    {
        this.clock = clock;
        this.ticksPerSecond = ticksPerSecond;
    }

    /// <summary>Whether the steps now run on one thread (the last probe found one thread faster).</summary>
    public bool OnOneThread => oneThread;

    /// <summary>Probes run so far.</summary>
    public int Probes { get; private set; }

    /// <summary>Probes that chose one thread.</summary>
    public int OneThreadChoices { get; private set; }

    /// <summary>Steps run on one thread because of a choice (probe steps not counted).</summary>
    public long StepsOnOneThread { get; private set; }

    /// <summary>
    /// Call at the start of each training step, on the thread that runs it: sets how many threads that
    /// thread's parallel loops use for this step. A step begun and never ended (a skipped batch) is
    /// not timed.
    /// </summary>
    public void BeginStep()
    {
        if (WorkerPool.ConfiguredThreads <= 1)
        {
            stepStart = -1;
            WorkerPool.ThreadCap = 0;
            return;
        }
        stepOnOne = phase switch
        {
            Phase.Probe => probeIndex % 2 == 0, // one, all, one, all, …
            Phase.Run => oneThread,
            _ => false,
        };
        WorkerPool.ThreadCap = stepOnOne ? 1 : 0;
        stepStart = clock();
    }

    /// <summary>Call at the end of a step begun by <see cref="BeginStep"/>: records its time.</summary>
    public void EndStep()
    {
        if (stepStart < 0) return;
        long now = clock();
        double seconds = (double)(now - stepStart) / ticksPerSecond;
        stepStart = -1;
        switch (phase)
        {
            case Phase.Warmup:
                if (++warm >= WarmupSteps) StartProbe();
                break;
            case Phase.Probe:
                (stepOnOne ? one : all)[probeIndex / 2] = seconds;
                if (++probeIndex == 2 * ProbeSteps) Decide(now);
                break;
            case Phase.Run:
                if (runSteps < int.MaxValue) runSteps++;
                if (oneThread)
                {
                    StepsOnOneThread++;
                    if (runSteps >= RecheckSteps && now - runStart >= ticksPerSecond) StartProbe();
                    break;
                }
                recent[recentNext] = seconds;
                recentNext = (recentNext + 1) % Window;
                if (recentCount < Window && ++recentCount < Window) break;
                double median = Median(recent, Window);
                if (median < best) best = median;
                else if (median > SlowdownFactor * best && runSteps >= MinStepsBetweenProbes << Math.Min(quietProbes, 6)) StartProbe();
                break;
        }
    }

    /// <summary>Lifts the cap on the calling thread (all threads again).</summary>
    public void Dispose() => WorkerPool.ThreadCap = 0;

    private void StartProbe()
    {
        phase = Phase.Probe;
        probeIndex = 0;
    }

    private void Decide(long now)
    {
        double m1 = Median(one, ProbeSteps), mAll = Median(all, ProbeSteps);
        oneThread = m1 < (1 - OneThreadMargin) * mAll;
        Probes++;
        if (oneThread) OneThreadChoices++;
        quietProbes = oneThread ? 0 : quietProbes + 1;
        phase = Phase.Run;
        runSteps = 0;
        runStart = now;
        recentCount = recentNext = 0;
        best = mAll;
    }

    private double Median(double[] values, int count)
    {
        var s = sortBuffer.AsSpan(0, count);
        values.AsSpan(0, count).CopyTo(s);
        s.Sort();
        return count % 2 == 1 ? s[count / 2] : 0.5 * (s[count / 2 - 1] + s[count / 2]);
    }
}
