"""Draws a soak run's CSV (benchmarks/soak/soak.py) as a PNG: RSS and open fds of each server
over time, the load and settle phases shaded. matplotlib is pinned in requirements-plot.txt
(installed on demand, not by `make test`).

    python benchmarks/soak/plot.py soak-out/soak.csv docs/soak-60min.png
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(src: str, dst: str, title: str = "kato-server soak") -> None:
    rows = list(csv.DictReader(open(src)))
    servers = sorted({r["server"] for r in rows})
    fig, (rss_ax, fd_ax) = plt.subplots(2, 1, sharex=True, figsize=(9, 6), dpi=100)
    for name in servers:
        mine = [r for r in rows if r["server"] == name]
        t = [float(r["t_s"]) / 60 for r in mine]
        rss_ax.plot(t, [int(r["rss_kib"]) / 1024 for r in mine], label=name)
        fd_ax.plot(t, [int(r["fds"]) for r in mine], label=name)
    load = [float(r["t_s"]) / 60 for r in rows if r["phase"] == "load"]
    if load:
        for ax in (rss_ax, fd_ax):
            ax.axvspan(min(load), max(load), color="0.92", zorder=0, label="load" if ax is rss_ax else None)
    rss_ax.set_ylabel("RSS (MiB)")
    fd_ax.set_ylabel("open fds")
    fd_ax.set_xlabel("minutes")
    rss_ax.set_ylim(bottom=0)
    fd_ax.set_ylim(bottom=0)
    rss_ax.legend(loc="lower right")
    rss_ax.set_title(title)
    for ax in (rss_ax, fd_ax):
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(dst)


if __name__ == "__main__":
    main(*sys.argv[1:])
