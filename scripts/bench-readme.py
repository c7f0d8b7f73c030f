#!/usr/bin/env python3
"""bench-readme.py — the README's performance tables, rendered from `make bench` output.

    scripts/bench-readme.py [DIR]      (default build/bench) > build/bench/README-performance.md

Reads the JSON files scripts/bench.sh writes (machine, compare, small-PATH, e2e, durable, scale,
produce-CLIENT, cluster; overload when present) and prints Markdown: per file the command,
the machine line and the load average the bench printed, then its figures as tables, each
figure "median [min-max]" over the runs (one value for one run), and the bench's own notes.
Nothing here measures or computes a figure beyond picking the bench's median/min/max: the
README must hold no figure the bench did not print. Files that are missing are skipped.
"""
import json
import os
import sys

LAT = ["p50_ms", "p95_ms", "p99_ms", "p99_9_ms", "p99_99_ms", "max_ms"]
LAT_HEAD = ["p50", "p95", "p99", "p99.9", "p99.99", "max"]


def fmt(f, decimals=None):
    """A figure object {min, median, max, runs}: 'median [min-max]', or the value of one run."""
    if f is None or f.get("median") is None:
        return "-"
    med, lo, hi = f["median"], f["min"], f["max"]
    if decimals is None and all(float(v).is_integer() for v in (med, lo, hi)):
        decimals = 0
    if decimals is None:
        a = abs(med)
        decimals = 0 if a >= 100 else 2 if a >= 1 else 3
    one = lambda v: f"{v:,.{decimals}f}"
    if f.get("runs", 1) <= 1 or lo == hi:
        return one(med)
    return f"{one(med)} [{one(lo)}-{one(hi)}]"


def head(r):
    m = r.get("machine", {})
    load = r.get("load_average_1m", {})
    runs = r.get("runs")
    lines = [
        f"`{r.get('command', '?')}`",
        "",
        f"Machine: {m.get('cpu_model', '?')}, {m.get('cores', '?')} cores, "
        f"{m.get('kernel', '?')}; load average (1 min) {load.get('start', '?')} at start, "
        f"{load.get('end', '?')} at end; "
        + (f"{runs} runs: median [min-max]" if runs and runs > 1 else "1 run"),
        "",
    ]
    return lines


def figures(r):
    """The sections of an sb_figs report: latency sections as one row, others as rows."""
    out = []
    labels = r.get("labels", {})
    lat_rows = []
    for sect, figs in r.get("figures", {}).items():
        title = labels.get(sect, {}).get("title", sect)
        if all(k in figs for k in LAT):
            lat_rows.append((title, figs))
            continue
        out += [f"| {title} | |", "|---|---|"]
        for key, f in figs.items():
            out.append(f"| {labels.get(sect, {}).get(key, key)} | {fmt(f)} |")
        out.append("")
    if lat_rows:
        out += ["| latency, ms | " + " | ".join(LAT_HEAD) + " |",
                "|---|" + "---|" * len(LAT_HEAD)]
        for title, figs in lat_rows:
            out.append(f"| {title} | " + " | ".join(fmt(figs[k], 3) for k in LAT) + " |")
        out.append("")
    for n in r.get("notes", []):
        out.append(f"- {n}")
    if r.get("notes"):
        out.append("")
    return out


def compare(r):
    out = ["| fetch path | MB/s | M records/s | broker CPU s/GiB | client CPU s/GiB |",
           "|---|---|---|---|---|"]
    for p in r.get("paths", []):
        if not p.get("available"):
            out.append(f"| {p['path']} | unavailable: {p.get('reason', '')} | | | |")
            continue
        rec = dict(p["records_per_s"])
        for k in ("min", "median", "max"):
            rec[k] = rec[k] / 1e6 if rec.get(k) is not None else None
        out.append(f"| {p['path']} | {fmt(p['mb_per_s'], 0)} | {fmt(rec, 2)} | "
                   f"{fmt(p['broker_cpu_s_per_gib'], 3)} | {fmt(p['client_cpu_s_per_gib'], 3)} |")
    lim = r.get("limits", {})
    names = {"sendfile_mb_per_s": "a bare sendfile stream", "copy_mb_per_s": "a bare read+send stream",
             "tls_mb_per_s": "a bare TLS stream"}
    refs = [f"{names.get(k, k)} {fmt(v, 0)} MB/s" for k, v in lim.items() if v]
    if refs:
        out += ["", "Loopback references from the same run: " + ", ".join(refs) + "."]
    return out + [""]


def scale(r):
    out = []
    for group, unit in (("partitions", "partitions"), ("connections", "connections")):
        pts = r.get(group, [])
        if not pts:
            continue
        keys = [k for k in pts[0] if isinstance(pts[0][k], dict)]
        out += ["| " + unit + " | " + " | ".join(k.replace("_", " ") for k in keys) + " |",
                "|---|" + "---|" * len(keys)]
        for p in pts:
            if p.get("error"):
                out.append(f"| {p[group]} | error: {p['error']} |")
                continue
            out.append(f"| {p[group]:,} | " + " | ".join(fmt(p[k]) for k in keys) + " |")
        out.append("")
    for n in r.get("notes", []):
        out.append(f"- {n}")
    return out + [""]


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "build/bench"
    order = ["machine", "compare", "small-auto", "small-splice", "small-sendfile", "small-copy",
             "e2e", "durable", "scale", "produce-splicelog", "produce-rdkafka", "overload",
             "cluster"]
    print("<!-- rendered by scripts/bench-readme.py from " + d + " -->")
    for name in order:
        path = os.path.join(d, name + ".json")
        if not os.path.exists(path):
            continue
        with open(path) as fh:
            r = json.load(fh)
        print(f"\n#### {name}\n")
        lines = head(r)
        mode = r.get("mode")
        if mode == "compare":
            lines += compare(r)
        elif mode == "scale":
            lines += scale(r)
        else:
            lines += figures(r)
        print("\n".join(lines))


if __name__ == "__main__":
    main()
