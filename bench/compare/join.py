#!/usr/bin/env python3
"""Joins `nabla bench --json` files with torch_bench.py files into one Markdown table.

Usage: join.py [--best] FILE.json...   (any number of runs and reference thread settings, in any order)

Each figure is the median over the runs given (with --best: the best run, on both sides — an
estimate of what each side does on an otherwise idle machine, since on a shared 2-core machine a
run that shared a core with another process is slower on either side). The reference at T threads is the BEST figure over
every reference setting that uses at most T threads (setting = torch.set_num_threads ×
OPENBLAS_NUM_THREADS, threads used = the larger of the two), so Nabla on 2 threads is compared with
the best PyTorch / OpenBLAS manage on up to 2 cores. Ratios are Nabla / reference: above 1 is
better for throughputs, below 1 is better for latency and memory.
"""
import json
import statistics
import sys
from collections import defaultdict

# Issue #11's targets. The FMA peak is the one nabla bench measured on the machine of the run (its
# "fma_peak" figures and each GEMM's "pct_of_peak"), not a constant of one CPU.
TRAIN_NEED = {1: 1.5, 2: 1.8}   # MLP training, × PyTorch's best
TRAIN_SCALING = 1.7             # Nabla 2 threads / Nabla 1 thread
BATCH1000_NEED = 1.2            # batch-1000 inference throughput, × PyTorch's best
PCT_OF_PEAK = 85.0              # GEMM at 1024² and above, % of the measured FMA peak
LAYERS = 5  # Linear, ReLU, Linear, ReLU, Linear


def key_of(r):
    """(figure, case, metric, higher_is_better) of one result."""
    name = r["name"]
    if name == "gemm":
        return ("gemm", r["shape"], "gflops", True)
    if name == "mlp_train":
        return ("mlp_train", f"batch {r['batch']}, {r.get('optimizer', '?')}", "samples_per_s", True)
    if name == "mlp_infer" and r["batch"] == 1:
        return ("mlp_infer", "batch 1", "latency_us", False)
    if name == "mlp_infer":
        return ("mlp_infer", f"batch {r['batch']}", "samples_per_s", True)
    if name == "peak_rss":
        return ("peak_rss", r["mode"], "mib", False)
    return None


UNITS = {"gflops": "GFLOP/s", "samples_per_s": "samples/s", "latency_us": "µs", "mib": "MiB"}


def fmt(v, metric):
    if v is None:
        return "–"
    if metric in ("samples_per_s",):
        return f"{v:,.0f}"
    return f"{v:,.1f}"


def main(paths, best_of_runs=False):
    nabla = defaultdict(list)      # (key, threads) -> [values]
    nabla_alloc = defaultdict(list)  # threads -> [(bytes/step, gen2)]
    nabla_pct = defaultdict(list)    # (shape, threads) -> [% of FMA peak]
    ref = defaultdict(list)        # (key, impl, setting, budget) -> [values]
    machines, dates, blas, optimizers, loads = set(), [], [], set(), []
    for path in paths:
        with open(path) as f:
            doc = json.load(f)
        machines.add(doc.get("machine", "?"))
        dates.append(doc.get("date", "?"))
        for k in ("loadavg_start", "loadavg_end"):
            if isinstance(doc.get(k), (int, float)):
                loads.append(doc[k])
        is_ref = "setting" in doc
        if is_ref and doc.get("blas"):
            blas.append(doc["blas"])
        if doc.get("optimizer"):
            optimizers.add(("ref " if is_ref else "nabla ") + doc["optimizer"])
        for r in doc.get("results", []):
            k = key_of(r)
            if k is None:
                continue
            v = r[k[2]]
            if is_ref:
                budget = max(r.get("torch_threads") or 1, r.get("blas_threads") or 1)
                impl = r.get("impl", "torch")
                ref[(k, impl, r["setting"], budget)].append(v)
            else:
                t = r.get("threads", 0) if k[0] != "peak_rss" else 0
                nabla[(k, t)].append(v)
                if r["name"] == "mlp_train":
                    nabla_alloc[t].append((r["alloc_bytes_per_step"], r["gen2_collections"]))
                if r["name"] == "gemm" and isinstance(r.get("pct_of_peak"), (int, float)):
                    nabla_pct[(r["shape"], t)].append(r["pct_of_peak"])

    def agg(values, higher):
        if best_of_runs:
            return max(values) if higher else min(values)
        return statistics.median(values)

    ref_med = {kk: agg(v, kk[0][3]) for kk, v in ref.items()}

    def best_ref(k, threads, impls=None):
        best = None
        for (rk, impl, setting, budget), v in ref_med.items():
            if rk != k or (threads and budget > threads) or (impls and impl not in impls):
                continue
            better = best is None or (v > best[0] if k[3] else v < best[0])
            if better:
                best = (v, impl, setting)
        return best

    print(f"Machine: {', '.join(sorted(machines))}; {len(paths)} files, {min(dates)} … {max(dates)}; "
          f"each figure: {'the best run' if best_of_runs else 'the median over the runs'}")
    print(f"Optimisers: {', '.join(sorted(optimizers))}")
    if loads:
        print(f"1-minute load average at the start and end of each process: median {statistics.median(loads):.1f}, "
              f"range {min(loads):.1f}–{max(loads):.1f} (2 cores: above ~1 the machine was shared)")
    seen_blas = {(i.get('prefix'), i.get('version'), i.get('architecture'), i.get('threading_layer'))
                 for b in blas for i in b if i.get('internal_api') == 'openblas'}
    for p, v, a, tl in sorted(seen_blas, key=str):
        print(f"Reference BLAS (threadpoolctl): {p} {v}, kernels {a}, {tl}")
    print()
    print("| figure | case | threads | Nabla | reference (best setting) | Nabla / ref | target | met |")
    print("|---|---|---:|---:|---|---:|---|---|")
    order = ["mlp_train", "mlp_infer", "peak_rss", "gemm"]
    keys = sorted({(k, t) for (k, t) in nabla}, key=lambda kt: (order.index(kt[0][0]), kt[0][1] if kt[0][0] != "gemm" else "", kt[1]))
    # gemm rows in the order they were run
    gemm_order = []
    for (k, t) in nabla:
        if k[0] == "gemm" and k[1] not in gemm_order:
            gemm_order.append(k[1])
    keys.sort(key=lambda kt: (order.index(kt[0][0]), gemm_order.index(kt[0][1]) if kt[0][0] == "gemm" else 0,
                              kt[0][1] if kt[0][0] != "gemm" else "", kt[1]))
    for (k, t) in keys:
        fig, case, metric, higher = k
        v = agg(nabla[(k, t)], higher)
        if fig == "gemm":
            best = best_ref(k, t, ("numpy", "torch"))
        elif fig == "peak_rss":
            best = best_ref(k, 0)
        else:
            best = best_ref(k, t)
        ratio = v / best[0] if best and best[0] else None
        ref_txt = f"{fmt(best[0], metric)} ({best[1]}, {best[2]})" if best else "–"
        target, met = "", ""
        big = case in ("1024x1024x1024", "2048x2048x2048")
        square = case in ("256x256x256", "512x512x512") or big
        mlp_shape = case.startswith("128x")  # the MLP's layers (784-256-128-10, batch 128) and their dW / dX
        if fig == "gemm" and big:
            pct = statistics.median(nabla_pct[(case, t)]) if nabla_pct[(case, t)] else None
            pct_txt = "?" if pct is None else f"{pct:.0f} %"
            target = f"≥ OpenBLAS and ≥ {PCT_OF_PEAK:.0f} % of FMA peak (Nabla: {pct_txt})"
            met = ok(ratio is not None and ratio >= 1 and pct is not None and pct >= PCT_OF_PEAK)
        elif fig == "gemm" and (square or mlp_shape):
            target = "≥ OpenBLAS"
            met = ok(ratio is not None and ratio >= 1)
        elif fig == "mlp_train":
            need = TRAIN_NEED.get(t)
            if need is not None:
                target = f"≥ {need}× PyTorch's best"
                met = ok(ratio is not None and ratio >= need)
        elif fig == "mlp_infer" and metric == "latency_us":
            target = "≤ ½ PyTorch's"
            met = ok(ratio is not None and ratio <= 0.5)
        elif fig == "mlp_infer":
            target = f"≥ {BATCH1000_NEED}× PyTorch's"
            met = ok(ratio is not None and ratio >= BATCH1000_NEED)
        elif fig == "peak_rss":
            target = "≤ ½ PyTorch's"
            met = ok(ratio is not None and ratio <= 0.5)
        threads = t if t else "–"
        print(f"| {fig} {UNITS[metric]} | {case} | {threads} | {fmt(v, metric)} | {ref_txt} | "
              f"{'–' if ratio is None else f'{ratio:.2f}'} | {target} | {met} |")
    train = {t: agg(v, True) for (k, t), v in nabla.items() if k[0] == "mlp_train"}
    if 1 in train and 2 in train:
        scaling = train[2] / train[1]
        print(f"| mlp_train scaling | Nabla 2 threads / 1 thread | 2 | {scaling:.2f}× | – | – | ≥ {TRAIN_SCALING}× | {ok(scaling >= TRAIN_SCALING)} |")
    for t, vals in sorted(nabla_alloc.items()):
        b = statistics.median(x[0] for x in vals)
        g2 = max(x[1] for x in vals)
        print(f"| mlp_train alloc B/step | batch 128 | {t} | {b:,.0f} | – (managed only) | – | "
              f"< 1 KiB per layer ({LAYERS} layers: {LAYERS * 1024:,} B) | {ok(b < LAYERS * 1024)} |")
        print(f"| mlp_train gen-2 GCs | per alloc run | {t} | {g2} | – | – | 0 | {ok(g2 == 0)} |")


def ok(cond):
    return "yes" if cond else "**no**"


if __name__ == "__main__":
    argv = sys.argv[1:]
    best = "--best" in argv
    files = [a for a in argv if a != "--best"]
    if not files:
        sys.exit(__doc__)
    main(files, best_of_runs=best)
