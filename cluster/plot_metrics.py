#!/usr/bin/env python3
"""cluster/plot_metrics.py — training loss over steps (metrics.jsonl, smoothed) and eval R@1 of
one or more runs into a PNG. Each RUN_DIR holds metrics.jsonl and optionally eval_title.json /
eval_generic.json / eval_final.json (tigerfg eval --out) or eval-step-N.json files for R@1 over
steps.

usage: /usr/bin/python3 cluster/plot_metrics.py --out plot.png RUN_DIR [RUN_DIR ...]"""
import argparse
import glob
import json
import os
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_metrics(run):
    steps, loss = [], []
    with open(os.path.join(run, "metrics.jsonl")) as f:
        for line in f:
            rec = json.loads(line)
            steps.append(rec["step"])
            loss.append(rec["loss"])
    return steps, loss


def smooth(values, window):
    out, acc = [], 0.0
    for i, v in enumerate(values):
        acc += v
        if i >= window:
            acc -= values[i - window]
        out.append(acc / min(i + 1, window))
    return out


def read_evals(run, last_step):
    """{(set, titles): [(step, R@1)]} from eval-step-N[-generic].json and the final eval files."""
    points = {}
    files = [(int(m.group(1)), path, "generic" if m.group(2) else "title")
             for path in glob.glob(os.path.join(run, "eval-step-*.json"))
             for m in [re.search(r"eval-step-(\d+)(-generic)?\.json$", path)] if m]
    for mode, name in (("title", "eval_title.json"), ("generic", "eval_generic.json"),
                       ("title", "eval_final.json")):
        path = os.path.join(run, name)
        if os.path.exists(path):
            files.append((last_step, path, mode))
    for step, path, mode in sorted(files):
        with open(path) as f:
            for r in json.load(f)["results"]:
                points.setdefault((r["set"], mode), []).append((step, r["recall@1"]))
    return points


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--smooth", type=int, default=20)
    p.add_argument("runs", nargs="+")
    a = p.parse_args()
    fig, (ax_loss, ax_r1) = plt.subplots(1, 2, figsize=(12, 4.5))
    markers = {"eval_normal": "o", "eval_cluttered": "s"}
    for i, run in enumerate(a.runs):
        name = os.path.basename(os.path.normpath(run))
        colour = "C%d" % i
        steps, loss = read_metrics(run)
        ax_loss.plot(steps, smooth(loss, a.smooth), color=colour, label=name)
        for (eval_set, mode), pts in sorted(read_evals(run, steps[-1] + 1).items()):
            xs, ys = zip(*pts)
            ax_r1.plot(xs, ys, marker=markers.get(eval_set, "^"), color=colour,
                       linestyle="-" if mode == "title" else ":", fillstyle="full"
                       if mode == "title" else "none",
                       label="%s %s%s" % (name, eval_set.replace("eval_", ""),
                                          "" if mode == "title" else " (generic titles)"))
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("training loss (moving mean of %d)" % a.smooth)
    ax_loss.legend()
    ax_r1.set_xlabel("step")
    ax_r1.set_ylabel("Recall@1")
    ax_r1.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(a.out, dpi=110)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
