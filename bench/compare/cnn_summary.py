#!/usr/bin/env python3
"""Medians of cnn.sh's rounds, Nabla against PyTorch: one line per workload, threads and metric,
with every round's figure and the ratio of the medians.   usage: cnn_summary.py OUT_DIR"""
import glob
import json
import os
import statistics
import sys

out = sys.argv[1]
rows = {}
for f in sorted(glob.glob(f"{out}/nabla-*.json")) + sorted(glob.glob(f"{out}/torch-*.txt")):
    who = "nabla" if os.path.basename(f).startswith("nabla") else "torch"
    try:
        d = json.load(open(f)) if who == "nabla" else json.loads(open(f).read().strip().splitlines()[-1])
    except (ValueError, IndexError) as e:
        print("skipped", f, e)
        continue
    for r in d["results"]:
        key = (r["name"], r.get("model", ""), r["threads"])
        for metric in ("samples_per_s", "latency_us_batch1", "samples_per_s_batch256"):
            if metric in r:
                rows.setdefault(key + (metric,), {}).setdefault(who, []).append(r[metric])
for k, v in sorted(rows.items()):
    n, t = v.get("nabla", []), v.get("torch", [])
    if not n or not t:
        continue
    mn, mt = statistics.median(n), statistics.median(t)
    print(f"{k[0]:13} {k[1]:7} t{k[2]} {k[3]:22} nabla {mn:>10.1f} {n}  torch {mt:>10.1f} {t}  ratio {mn / mt:.2f}")
