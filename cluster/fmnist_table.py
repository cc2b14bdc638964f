#!/usr/bin/env python3
"""cluster/fmnist_table.py — the Fashion-MNIST experiment's table from each model's eval JSONs:
prints it, writes OUT/results.json, OUT/results.md and OUT/readme_block.md (the table with the
run's date, machine and timings, for README.md's figures:fmnist block)."""
import argparse
import datetime
import json
import os

from readme_figures import machine

MODELS = [("baseline", "baseline (ground_layers 0)"), ("grounded", "text-guided grounding"),
          ("distill", "grounding + distillation")]


def load(path):
    with open(path) as f:
        return {r["set"]: r for r in json.load(f)["results"]}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--steps", type=int, default=0)
    p.add_argument("--data", default="")
    p.add_argument("--blas", default="", help="the binary's OpenBLAS variant, for the machine line")
    a = p.parse_args()
    rows, table = [], {}
    for name, label in MODELS:
        title = load(os.path.join(a.out, name, "eval_title.json"))
        generic = load(os.path.join(a.out, name, "eval_generic.json"))
        table[name] = {"title": title, "generic": generic}
        n, c = title["eval_normal"], title["eval_cluttered"]
        gn, gc = generic["eval_normal"], generic["eval_cluttered"]
        rows.append([label, n["recall@1"], c["recall@1"], n["recall@5"], c["recall@5"], n["map"],
                     c["map"], gn["recall@1"], gc["recall@1"]])
    chance = table["baseline"]["title"]["eval_normal"]["chance@1"]
    timings = {}
    tpath = os.path.join(a.out, "timings.txt")
    if os.path.exists(tpath):
        for line in open(tpath):
            parts = line.split()
            timings[" ".join(parts[:-1])] = int(parts[-1])
    head = ["model", "R@1 normal", "R@1 cluttered", "R@5 normal", "R@5 cluttered", "mAP normal",
            "mAP cluttered", "R@1 normal, generic titles", "R@1 cluttered, generic titles"]
    md = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        md.append("| " + r[0] + " | " + " | ".join("%.3f" % v for v in r[1:]) + " |")
    host = machine() + (", " + a.blas if a.blas else "")
    text = "\n".join(md + ["", "Chance R@1 = %.4f (listings per product / gallery size). Steps per "
                                "model: %d. Machine: %s." % (chance, a.steps, host)])
    print(text)
    with open(os.path.join(a.out, "results.md"), "w") as f:
        f.write(text + "\n")
    trained = ", ".join("%d s %s" % (timings[n + " train_s"], n) for n, _ in MODELS
                        if n + " train_s" in timings)
    built = ("benchmark build of %d s included" % timings["data_s"] if "data_s" in timings else
             "the benchmark already built")
    block = ["Measured %s on %s, %d steps per model: the whole script ran in %s s (%s; training %s). "
             "Chance R@1 = %.4f (listings per product / gallery size)."
             % (datetime.date.today().isoformat(), host, a.steps, timings.get("total_s", "?"),
                built, trained or "none", chance), ""]
    with open(os.path.join(a.out, "readme_block.md"), "w") as f:
        f.write("\n".join(block + md) + "\n")
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump({"steps": a.steps, "data": a.data, "chance@1": chance, "timings_s": timings,
                   "models": table}, f, indent=2)


if __name__ == "__main__":
    main()
