"""The log-log picture of time against N: naive loop, vectorized, PyTorch's route, floor.

Written by the benchmark run (benchmarks/results/scaling.png) when matplotlib is
installed (`pip install -r requirements-bench.txt`); skipped with a message otherwise.
Redraw from a saved run:  python benchmarks/plot.py benchmarks/results/summary.json [OUT.png]
"""
import json
import sys
from pathlib import Path

STYLE = {  # route: (label, colour, marker)
    "naive": ("naive loop", "tab:red", "o"),
    "vectorized": ("vectorized (shipped)", "tab:blue", "s"),
    "impl": ("--impl submission", "tab:purple", "D"),
    "torch": ("PyTorch route (+ autograd)", "tab:orange", "^"),
    "floor": ("floor: one X @ W", "tab:gray", "v"),
}


def plot_scaling(records, path, meta=None) -> str:
    """Draw the figure into `path`; returns a line for the terminal."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return ("plot: skipped, matplotlib is not installed "
                "(pip install -r requirements-bench.txt)")
    meta = meta or {}
    panels = sorted({(r["device"], r["dtype"]) for r in records})
    losses = [l for l in ("svm", "softmax") if any(r["loss"] == l for r in records)]
    if not panels or not losses:
        return "plot: nothing to draw"
    fig, axes = plt.subplots(len(panels), len(losses), squeeze=False, sharex=True,
                             figsize=(5.2 * len(losses), 3.6 * len(panels)))
    for i, (device, dtype) in enumerate(panels):
        for j, loss in enumerate(losses):
            ax = axes[i][j]
            for route, (label, colour, marker) in STYLE.items():
                pts = sorted((r["N"], r["min"]) for r in records
                             if r["route"] == route and r["device"] == device
                             and r["dtype"] == dtype and (r["loss"] == loss or route == "floor"))
                if pts:
                    ax.loglog([p[0] for p in pts], [p[1] for p in pts], marker=marker,
                              color=colour, label=label, linewidth=1.5, markersize=4,
                              linestyle="--" if route == "floor" else "-")
            Ns = sorted({r["N"] for r in records})
            ax.set_xticks(Ns)
            ax.set_xticklabels([str(n) for n in Ns], fontsize=7, rotation=45)
            ax.minorticks_off()
            ax.set_title(f"{loss}  ({device}, {dtype})", fontsize=10)
            ax.grid(True, which="major", alpha=0.4)
            if i == len(panels) - 1:
                ax.set_xlabel("N (examples)")
            if j == 0:
                ax.set_ylabel("seconds per call (best of rounds)")
    axes[0][0].legend(fontsize=8, loc="upper left")
    note = f"D = {meta.get('D', 3073)}, C = {meta.get('C', 10)}"
    if meta.get("cpu"):
        threads = meta.get("threads", "?")
        note += (f"; {meta['cpu']}, torch {meta.get('torch', '')} on {threads} "
                 f"thread{'' if threads == 1 else 's'}")
    fig.suptitle(f"Loss + gradient time against N  ({note})", fontsize=9)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return f"plot: {path}"


def main(argv):
    if not argv:
        print(__doc__)
        return 2
    data = json.loads(Path(argv[0]).read_text())
    out = argv[1] if len(argv) > 1 else str(Path(argv[0]).with_name("scaling.png"))
    print(plot_scaling(data["records"], out, data.get("meta")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
