#!/usr/bin/env python3
"""cluster/fmnist_table.py — the Fashion-MNIST experiment's table from each model's eval JSONs:
prints it, writes OUT/results.json and OUT/results.md."""
import argparse
import json
import os
import platform

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
    md.append("")
    md.append("Chance R@1 = %.4f (listings per product / gallery size). Steps per model: %d. "
              "Machine: %s, %d CPUs." % (chance, a.steps, platform.processor() or
                                          platform.machine(), os.cpu_count()))
    text = "\n".join(md)
    print(text)
    with open(os.path.join(a.out, "results.md"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump({"steps": a.steps, "data": a.data, "chance@1": chance, "timings_s": timings,
                   "models": table}, f, indent=2)


if __name__ == "__main__":
    main()
