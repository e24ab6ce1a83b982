"""Plots from deltapq's JSON reports (matplotlib; PNG and SVG).

    python3 -m deltapq.plot REPORT.json [REPORT2.json ...] --out DIR

What each report gives:
  audit-stream   alpha_heatmap: alpha*_closed (and the PQ joint mu, when the audit had --pq) per
                 layer x head, one panel per kind; zones: each stream's zone (green / yellow / red)
                 over time with its resets (key frames).
  eval-nll       nll_vs_bits: delta NLL (with its 95 % interval) against bits, one line per scheme
                 (pass several reports: one per scheme and bit width).
  paper-check    paper_grid: per metric, the winning scheme of every (data, d) x budget cell.
  audit          spectra: the eigenvalues of Sigma_V and Sigma_delta.
Files are DIR/NAME.png and DIR/NAME.svg, each written to a temporary and renamed (complete or absent).
Returns (and prints) the paths written.
"""
import argparse
import json
import os
import sys

DPI = 100
FIGSIZE = (8.0, 5.0)  # inches: 800 x 500 pixels at DPI
ZONES = {"green": 0, "yellow": 1, "red": 2}


def _plt():
    import matplotlib

    if os.environ.get("MPLBACKEND") is None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def kind_of(report):
    if "heads" in report:
        return "audit-stream"
    if "scheme" in report and "delta_nll" in report:
        return "eval-nll"
    if "findings" in report and "table" in report:
        return "paper-check"
    if "theorems" in report:
        return "audit"
    raise ValueError("not a deltapq report this module plots (audit, audit-stream, eval-nll, paper-check): keys "
                     + ", ".join(sorted(report)[:8]))


def _save(fig, out, name):
    os.makedirs(out, exist_ok=True)
    paths = []
    for ext in ("png", "svg"):
        path = os.path.join(out, name + "." + ext)
        tmp = path + ".tmp.%d" % os.getpid()
        try:
            fig.savefig(tmp, format=ext, dpi=DPI)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        paths.append(path)
    return paths


def alpha_heatmap(report, out):
    import numpy as np

    plt = _plt()
    heads = report["heads"]
    kinds = sorted({h["kind"] for h in heads})
    layers = sorted({h["layer"] for h in heads})
    nheads = sorted({h["head"] for h in heads})
    has_mu = any("pq" in h for h in heads)
    rows = 2 if has_mu else 1
    fig, axes = plt.subplots(rows, len(kinds), figsize=FIGSIZE, squeeze=False)
    for c, kind in enumerate(kinds):
        for r, (key, label) in enumerate([("alpha_closed", "alpha*_closed"), ("mu", "PQ joint mu")][:rows]):
            grid = np.full((len(layers), len(nheads)), np.nan)
            for h in heads:
                if h["kind"] != kind:
                    continue
                v = h.get(key) if key != "mu" else (h.get("pq") or {}).get("mu")
                if v is not None:
                    grid[layers.index(h["layer"]), nheads.index(h["head"])] = v
            ax = axes[r][c]
            im = ax.imshow(grid, cmap="viridis", aspect="auto", origin="lower")
            ax.set_title("%s: %s" % (kind, label), fontsize=9)
            ax.set_xlabel("head")
            ax.set_ylabel("layer")
            ax.set_xticks(range(len(nheads)), nheads)
            ax.set_yticks(range(len(layers)), layers)
            for (i, j), v in np.ndenumerate(grid):
                if not np.isnan(v):
                    ax.text(j, i, "%.2f" % v, ha="center", va="center", fontsize=7, color="w" if v < np.nanmean(grid) else "k")
            fig.colorbar(im, ax=ax, fraction=0.046)
    fig.suptitle("%s: domination factor per layer x head (< 1: delta coding can pay)" % report.get("input", ""), fontsize=10)
    fig.tight_layout()
    paths = _save(fig, out, "alpha_heatmap")
    plt.close(fig)
    return paths


def zone_series(head):
    """Per token: 0 green, 1 yellow, 2 red, from the report's transitions (the monitor starts green)."""
    t_max = head["tokens"]
    z = [0] * t_max
    cur, t0 = 0, 0
    for tr in head.get("transitions", []):
        for t in range(t0, min(tr["t"], t_max)):
            z[t] = cur
        cur, t0 = ZONES[tr["to"]], tr["t"]
    for t in range(t0, t_max):
        z[t] = cur
    return z


def zones(report, out):
    import numpy as np
    from matplotlib.colors import ListedColormap

    plt = _plt()
    heads = report["heads"]
    t_max = max(h["tokens"] for h in heads)
    grid = np.full((len(heads), t_max), np.nan)
    for i, h in enumerate(heads):
        grid[i, : h["tokens"]] = zone_series(h)
    fig, ax = plt.subplots(figsize=FIGSIZE)
    ax.imshow(grid, cmap=ListedColormap(["#2ca02c", "#ffbf00", "#d62728"]), vmin=0, vmax=2, aspect="auto",
              interpolation="nearest")
    for i, h in enumerate(heads):
        resets = [tr["t"] + 1 for tr in h.get("transitions", []) if tr["to"] == "red"]
        if resets:
            ax.plot(resets, [i] * len(resets), "k|", markersize=8)
    ax.set_yticks(range(len(heads)), ["L%d H%d %s" % (h["layer"], h["head"], h["kind"]) for h in heads], fontsize=6)
    ax.set_xlabel("token t")
    ax.set_title("zones over time (green / yellow / red; | = reset to a key frame)", fontsize=10)
    fig.tight_layout()
    paths = _save(fig, out, "zones")
    plt.close(fig)
    return paths


def nll_vs_bits(reports, out):
    plt = _plt()
    by_scheme = {}
    for r in reports:
        by_scheme.setdefault(r["scheme"], []).append(r)
    fig, ax = plt.subplots(figsize=FIGSIZE)
    for scheme, rs in sorted(by_scheme.items()):
        rs.sort(key=lambda r: r["bits"])
        bits = [r["bits"] for r in rs]
        y = [r["delta_nll"] for r in rs]
        ci = [r.get("delta_nll_ci95") for r in rs]
        if all(c is not None for c in ci):
            lo = [v - c[0] for v, c in zip(y, ci)]
            hi = [c[1] - v for v, c in zip(y, ci)]
            ax.errorbar(bits, y, yerr=[lo, hi], marker="o", capsize=3, label=scheme)
        else:
            ax.plot(bits, y, marker="o", label=scheme)
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xticks(sorted({r["bits"] for r in reports}))
    ax.set_xlabel("bits per coordinate")
    ax.set_ylabel("delta NLL (nats/token) vs fp32")
    ax.set_yscale("symlog", linthresh=1e-2)
    ax.legend()
    ax.set_title("KV-cache coding: NLL cost per scheme (95 % block-bootstrap intervals)", fontsize=10)
    fig.tight_layout()
    paths = _save(fig, out, "nll_vs_bits")
    plt.close(fig)
    return paths


def paper_grid(report, out):
    import numpy as np

    plt = _plt()
    table = report["table"]
    metrics = sorted({c["metric"] for c in table})
    fams = sorted({(c["data"], c["d"]) for c in table}, key=lambda x: (x[0], x[1]))
    budgets = sorted({c["n"] for c in table})
    schemes = ["KV", "KQV", "QKQV"]
    fig, axes = plt.subplots(1, len(metrics), figsize=FIGSIZE, squeeze=False)
    for k, metric in enumerate(metrics):
        grid = np.full((len(fams), len(budgets)), np.nan)
        for c in table:
            if c["metric"] == metric and c.get("winner") in schemes:
                grid[fams.index((c["data"], c["d"])), budgets.index(c["n"])] = schemes.index(c["winner"])
        ax = axes[0][k]
        ax.imshow(grid, cmap="tab10", vmin=0, vmax=9, aspect="auto")
        for (i, j), v in np.ndenumerate(grid):
            if not np.isnan(v):
                ax.text(j, i, schemes[int(v)], ha="center", va="center", fontsize=6)
        ax.set_title(metric, fontsize=9)
        ax.set_xticks(range(len(budgets)), budgets)
        ax.set_xlabel("bits")
        ax.set_yticks(range(len(fams)), ["%s d=%s" % f for f in fams] if k == 0 else [], fontsize=6)
    fig.suptitle("paper-check: the winning scheme per cell", fontsize=10)
    fig.tight_layout()
    paths = _save(fig, out, "paper_grid")
    plt.close(fig)
    return paths


def spectra(report, out):
    plt = _plt()
    fig, ax = plt.subplots(figsize=FIGSIZE)
    for name, src in report["sources"].items():
        ax.semilogy(range(1, len(src["eigenvalues"]) + 1), [max(v, 1e-300) for v in src["eigenvalues"]], marker=".", label=name)
    ax.set_xlabel("eigen-rank")
    ax.set_ylabel("eigenvalue")
    ax.legend()
    ax.set_title("spectra of Sigma_V and Sigma_delta (%s)" % report.get("input", ""), fontsize=10)
    fig.tight_layout()
    paths = _save(fig, out, "spectra")
    plt.close(fig)
    return paths


def plot_reports(reports, out):
    written, nll = [], []
    for r in reports:
        k = kind_of(r)
        if k == "audit-stream":
            written += alpha_heatmap(r, out) + zones(r, out)
        elif k == "eval-nll":
            nll.append(r)
        elif k == "paper-check":
            written += paper_grid(r, out)
        else:
            written += spectra(r, out)
    if nll:
        written += nll_vs_bits(nll, out)
    return written


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m deltapq.plot", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("reports", nargs="+", help="JSON reports (deltapq ... --json)")
    ap.add_argument("--out", required=True, help="output directory")
    a = ap.parse_args(argv)
    reports = []
    for path in a.reports:
        try:
            with open(path) as f:
                reports.append(json.load(f))
        except (OSError, ValueError) as e:
            print("deltapq.plot: error: %s: %s" % (path, e), file=sys.stderr)
            return 2
    try:
        for path, r in zip(a.reports, reports):
            try:
                kind_of(r)
            except ValueError as e:
                raise ValueError("%s: %s" % (path, e))
        for p in plot_reports(reports, a.out):
            print(p)
    except (ValueError, KeyError, TypeError) as e:
        print("deltapq.plot: error: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
