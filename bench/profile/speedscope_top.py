#!/usr/bin/env python3
"""Where a `nabla` run spends its time, from a sampled .NET profile (see also perf_top.sh, whose
attribution is exact: this sampler charges loops without a GC safe point to the next allocation).

    dotnet tool install -g dotnet-trace
    dotnet-trace collect --profile dotnet-sampled-thread-time --format Speedscope -o run.nettrace -- \
        dotnet src/Nabla.Cli/bin/Release/net10.0/Nabla.Cli.dll bench --mode resnet_train --threads 1
    bench/profile/speedscope_top.py run.speedscope.json [N]

Prints, for the busiest thread, the N frames with the most exclusive time and every Nabla frame with
at least 1 % inclusive time (the sampler records ~100 stacks a second; a frame's share of the
thread's wall time is what is printed). Session 6 found the convolutions' padding, batch norm and
the max pool's scalar compares this way (docs/BENCHMARKS.md).
"""
import collections
import json
import sys


PSEUDO = ("CPU_TIME", "UNMANAGED_CODE_TIME")


def analyse(profile, frames):
    exclusive, inclusive = collections.Counter(), collections.Counter()
    stack, last = [], None
    for event in profile["events"]:
        t = event["at"]
        if last is not None and stack:
            dt = t - last
            # The sampler's CPU_TIME / UNMANAGED_CODE_TIME leaves belong to the method under them.
            own = next((f for f in reversed(stack) if frames[f] not in PSEUDO), stack[-1])
            exclusive[own] += dt
            for frame in set(stack):
                inclusive[frame] += dt
        last = t
        if event["type"] == "O":
            stack.append(event["frame"])
        else:
            stack.pop()
    return exclusive, inclusive


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    data = json.load(open(sys.argv[1]))
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    frames = [f["name"] for f in data["shared"]["frames"]]
    profile = max(data["profiles"], key=lambda p: len(p.get("events", [])))
    exclusive, inclusive = analyse(profile, frames)
    total = profile["endValue"] - profile["startValue"]
    print(f"{profile['name']}: {total:.0f} ms")
    print("-- exclusive")
    for frame, t in exclusive.most_common(top):
        print(f"{100 * t / total:5.1f}%  {frames[frame][:160]}")
    print("-- inclusive, Nabla frames of 1 % or more")
    for frame, t in inclusive.most_common():
        if 100 * t / total < 1.0:
            break
        if "Nabla" in frames[frame]:
            print(f"{100 * t / total:5.1f}%  {frames[frame][:160]}")


if __name__ == "__main__":
    main()
