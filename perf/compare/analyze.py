#!/usr/bin/env python3
"""Summarise the RESULT lines written by scripts/compare.sh.

Usage:
  analyze.py RESULTS_FILE... [--markdown PATH] [--chart PATH] [--baseline SYSTEM]

Input lines (anything else is ignored; '# key: value' lines are kept as run metadata):
  RESULT system=tbb workload=fib n=30 threads=2 time_s=0.12 tasks=2692537 ok=1 peak_rss_kb=3760
  SKIP   system=omp workload=pingpong n=100000 threads=1 reason=needs_2_threads
  FAIL   system=omp workload=fib n=35 threads=2 rc=124

One row per (workload, n, threads, system): runs, median wall time, min-max, median ns per task,
median time over the baseline system's median time at the same (workload, n, threads), and the
largest peak RSS seen. Prints the table, writes it as Markdown, and draws a chart when
matplotlib can be imported (the table needs only the standard library).
"""

import argparse
import collections
import os
import statistics
import sys

# Display order of systems; systems not listed follow in name order.
SYSTEM_ORDER = ["stealio", "tbb", "omp", "serial", "threads"]
# Systems whose thread count is not a parallelism knob: left out of the scaling curves.
NOT_SCALING = {"serial", "threads"}

Key = collections.namedtuple("Key", "workload n threads")


class Cell:
    """Every run of one system at one (workload, n, threads)."""

    def __init__(self):
        self.times = []
        self.tasks = 0
        self.rss_kb = []
        self.not_ok = 0
        self.skip_reason = None
        self.failures = []  # exit codes of runs that printed no RESULT line

    def median(self):
        return statistics.median(self.times) if self.times else None


def parse_fields(line):
    kind, _, rest = line.partition(" ")
    fields = dict(item.split("=", 1) for item in rest.split() if "=" in item)
    return kind, fields


def load(paths):
    """Returns ({Key: {system: Cell}}, workload order, metadata lines)."""
    cells = collections.defaultdict(lambda: collections.defaultdict(Cell))
    workload_order = []
    metadata = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for raw in f:
                line = raw.strip()
                if line.startswith("#"):
                    metadata.append(line.lstrip("# "))
                    continue
                kind, fields = parse_fields(line)
                if kind not in ("RESULT", "SKIP", "FAIL"):
                    continue
                key = Key(fields["workload"], fields["n"], int(fields["threads"]))
                if key.workload not in workload_order:
                    workload_order.append(key.workload)
                cell = cells[key][fields["system"]]
                if kind == "RESULT":
                    cell.times.append(float(fields["time_s"]))
                    cell.tasks = int(fields["tasks"])
                    cell.rss_kb.append(int(fields["peak_rss_kb"]))
                    cell.not_ok += fields.get("ok") != "1"
                elif kind == "SKIP":
                    cell.skip_reason = fields.get("reason", "skipped")
                else:
                    cell.failures.append(fields.get("rc", "?"))
    return cells, workload_order, metadata


def system_rank(system):
    if system in SYSTEM_ORDER:
        return (SYSTEM_ORDER.index(system), system)
    return (len(SYSTEM_ORDER), system)


def n_rank(n):
    """Numeric sizes in order, then anything else (a FAIL line may say n=default)."""
    return (0, int(n), "") if n.isdigit() else (1, 0, n)


def sorted_keys(cells, workload_order):
    return sorted(cells, key=lambda k: (workload_order.index(k.workload), n_rank(k.n), k.threads))


def ns_per_task(cell):
    med = cell.median()
    if med is None or cell.tasks == 0:
        return None
    return med / cell.tasks * 1e9


def build_rows(cells, workload_order, baseline):
    """Table rows as lists of strings; the first row is the header."""
    header = ["workload", "n", "threads", "system", "runs", "median s", "min-max s",
              "ns/task", f"vs {baseline}", "peak RSS MiB", "ok"]
    rows = [header]
    for key in sorted_keys(cells, workload_order):
        by_system = cells[key]
        base = by_system.get(baseline)
        base_median = base.median() if base else None
        for system in sorted(by_system, key=system_rank):
            cell = by_system[system]
            prefix = [key.workload, key.n, str(key.threads), system]
            if not cell.times:
                if cell.skip_reason:
                    note = f"skipped: {cell.skip_reason}"
                else:
                    note = "failed: rc=" + ",".join(cell.failures)
                rows.append(prefix + ["0", "-", "-", "-", "-", "-", note])
                continue
            med = cell.median()
            ratio = f"{med / base_median:.2f}x" if base_median else "-"
            ok = "yes" if cell.not_ok == 0 and not cell.failures else (
                f"NO ({cell.not_ok} wrong, {len(cell.failures)} failed)")
            rows.append(prefix + [
                str(len(cell.times)),
                f"{med:.4f}",
                f"{min(cell.times):.4f}-{max(cell.times):.4f}",
                f"{ns_per_task(cell):.1f}",
                ratio,
                f"{max(cell.rss_kb) / 1024:.1f}",
                ok,
            ])
    return rows


def format_text(rows):
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    numeric = {1, 2, 4, 5, 7, 8, 9}
    lines = []
    for index, row in enumerate(rows):
        cells = [c.rjust(w) if i in numeric else c.ljust(w)
                 for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_markdown(rows, metadata, baseline, chart_name):
    out = ["# stealio comparison", ""]
    if metadata:
        out += [f"- {m}" for m in metadata] + [""]
    out += [
        f"Median of the runs; `vs {baseline}` is this median over {baseline}'s median at the same "
        "workload, n and threads (below 1x is faster). ns/task is the median time over the "
        "workload's logical task count, the same for every system (for pingpong: per handoff). "
        "Peak RSS is the largest of the runs.",
        "",
        "| " + " | ".join(rows[0]) + " |",
        "|" + "|".join("---:" if i in {1, 2, 4, 5, 7, 8, 9} else "---"
                       for i in range(len(rows[0]))) + "|",
    ]
    out += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    if chart_name:
        out += ["", f"![chart]({chart_name})"]
    return "\n".join(out) + "\n"


def short(value):
    """A bar label: 3 significant digits, thousands as k."""
    return f"{value / 1000:.3g}k" if value >= 1000 else f"{value:.3g}"


def draw_chart(cells, workload_order, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("analyze.py: matplotlib not importable; no chart written", file=sys.stderr)
        return False

    # One row per (workload, n): ns/task bars, plus a speedup curve when several thread counts ran.
    panels = collections.OrderedDict()
    for key in sorted_keys(cells, workload_order):
        panels.setdefault((key.workload, key.n), []).append(key)
    thread_counts = sorted({k.threads for k in cells})
    scaling = len(thread_counts) > 1
    systems = sorted({s for by in cells.values() for s in by}, key=system_rank)
    colors = {s: plt.get_cmap("tab10")(i) for i, s in enumerate(systems)}

    ncols = 2 if scaling else 1
    fig, axes = plt.subplots(len(panels), ncols, figsize=(6.5 * ncols, 2.9 * len(panels)),
                             squeeze=False)
    for row, ((workload, n), keys) in enumerate(panels.items()):
        ax = axes[row][0]
        here = [s for s in systems if any(s in cells[k] for k in keys)]
        width = 0.8 / len(here)
        for i, system in enumerate(here):
            for j, key in enumerate(keys):
                x = j + (i - (len(here) - 1) / 2) * width
                cell = cells[key].get(system)
                value = ns_per_task(cell) if cell else None
                if value:
                    first = system not in ax.get_legend_handles_labels()[1]
                    ax.bar(x, value, width, color=colors[system], label=system if first else None)
                    ax.annotate(short(value), (x, value), ha="center", va="bottom", fontsize=7)
                elif cell:  # skipped or failed at this thread count
                    ax.annotate("n/a", (x, 0), xycoords=("data", "axes fraction"), ha="center",
                                va="bottom", fontsize=7)
        ax.set_yscale("log")
        bottom, top = ax.get_ylim()
        ax.set_ylim(bottom, top * 2)  # room for the labels above the tallest bar
        ax.set_xticks(range(len(keys)), [f"{k.threads} thr" for k in keys])
        ax.set_ylabel("ns per task (median)")
        ax.set_title(f"{workload} n={n}: time per task (lower is better)", fontsize=10)
        ax.grid(axis="y", which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))

        if not scaling:
            continue
        ax = axes[row][1]
        for system in systems:
            if system in NOT_SCALING:
                continue
            points = [(k.threads, cells[k][system].median()) for k in keys
                      if system in cells[k] and cells[k][system].median()]
            if len(points) < 2:
                continue
            base = points[0][1]
            ax.plot([t for t, _ in points], [base / m for _, m in points], marker="o",
                    color=colors[system], label=system)
        ax.plot(thread_counts, [t / thread_counts[0] for t in thread_counts], "k--",
                linewidth=0.8, label="ideal")
        ax.set_xticks(thread_counts)
        ax.set_xlabel("threads")
        ax.set_ylabel(f"speedup over {thread_counts[0]} thr")
        ax.set_title(f"{workload} n={n}: scaling (higher is better)", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", nargs="+", help="files holding RESULT/SKIP/FAIL lines")
    parser.add_argument("--markdown", help="write the table as Markdown here")
    parser.add_argument("--chart", help="write a PNG chart here (needs matplotlib)")
    parser.add_argument("--baseline", default="tbb", help="system the ratio column divides by")
    args = parser.parse_args()

    cells, workload_order, metadata = load(args.results)
    if not cells:
        sys.exit("analyze.py: no RESULT, SKIP or FAIL lines found")
    rows = build_rows(cells, workload_order, args.baseline)
    print(format_text(rows))

    chart_written = bool(args.chart) and draw_chart(cells, workload_order, args.chart)
    if args.markdown:
        chart_name = None
        if chart_written:  # linked relative to the Markdown file
            markdown_dir = os.path.dirname(os.path.abspath(args.markdown))
            chart_name = os.path.relpath(args.chart, markdown_dir)
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(format_markdown(rows, metadata, args.baseline, chart_name))
        print(f"\nwrote {args.markdown}" + (f" and {args.chart}" if chart_written else ""))

    bad = sum(c.not_ok + len(c.failures) for by in cells.values() for c in by.values())
    if bad:
        print(f"analyze.py: {bad} run(s) wrong or failed", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
