#!/usr/bin/env python3
"""cluster/fmnist_table.py — the Fashion-MNIST experiment's tables from each run's eval JSONs
(OUT/MODEL_sSEED/eval_final.json, eval-step-N.json, metrics.jsonl; OUT/teacher_sSEED.json):
per model and seed the retrieval metrics, the controls and the maps' mass on the product; then
the paired gaps (same seed, same data) with their spread. Prints them, writes OUT/results.json,
OUT/results.md, OUT/readme_block.md (for README.md's figures:fmnist block) and
OUT/r1_over_steps.svg (Recall@1 over steps per model, normal and cluttered; cluster/fmnist_plot.py,
standard library only)."""
import argparse
import datetime
import json
import os

from fmnist_plot import write_svg
from readme_figures import machine

# Labels say which distillation terms each model trains with, and from which teacher.
MODELS = [("baseline", "baseline (ground_layers 0)"), ("grounded", "text-guided grounding"),
          ("srd_mask", "grounding + SRD (mask teacher, upper bound), no SDD"),
          ("baseline_generic", "baseline, trained on generic titles"),
          ("grounded_generic", "grounding, trained on generic titles"),
          ("distill", "grounding + SRD + SDD (teacher: baseline query tower)"),
          ("distill_srd", "grounding + SRD alone (teacher: baseline query tower)"),
          ("distill_sdd", "grounding + SDD alone (teacher: baseline query tower)")]
# (name, minuend, subtrahend): the paired comparisons the claim rests on.
GAPS = [("grounding gain", "grounded", "baseline"),
        ("grounding gain, generic titles", "grounded_generic", "baseline_generic"),
        ("SRD (mask teacher) gain", "srd_mask", "grounded"),
        ("distillation gain", "distill", "grounded"),
        ("SRD alone gain", "distill_srd", "grounded"), ("SDD alone gain", "distill_sdd", "grounded")]
SETS = ("eval_normal", "eval_cluttered")


def load_json(path):
    with open(path) as f:
        return json.load(f)


def sets_of(path):
    return {r["set"]: r for r in load_json(path)["results"]}


def last_losses(run, window=50):
    """Mean of the last `window` steps' srd and sdd terms (None when the run has none)."""
    rows = []
    with open(os.path.join(run, "metrics.jsonl")) as f:
        rows = [json.loads(line) for line in f]
    rows = rows[-window:]
    out = {}
    for key in ("srd", "sdd"):
        vals = [r[key] for r in rows if r.get(key) is not None]
        out[key] = sum(vals) / len(vals) if vals and any(vals) else None
    return out


def fmt(v, spec="%.3f"):
    return "-" if v is None else spec % v


def r1_over_steps(run):
    """{set: [(step, R@1)]} from eval-step-N.json and eval_final.json (at the last step)."""
    points = {}
    files = []
    for name in os.listdir(run):
        if name.startswith("eval-step-") and name.endswith(".json"):
            files.append((int(name[len("eval-step-"):-len(".json")]), name))
    with open(os.path.join(run, "metrics.jsonl")) as f:
        last = sum(1 for _ in f)
    files.append((last, "eval_final.json"))
    for step, name in sorted(files):
        for r in load_json(os.path.join(run, name))["results"]:
            points.setdefault(r["set"], []).append((step, r["recall@1"]))
    return points


def plot(out, runs, seeds):
    """OUT/r1_over_steps.svg: a panel per layout, a colour per model, dashed after seed one."""
    panels = []
    for eval_set in SETS:
        series = []
        for i, (name, label) in enumerate(MODELS):
            for j, seed in enumerate(seeds):
                run = runs.get((name, seed))
                if run is not None:
                    series.append(("%s, seed %s" % (label, seed), i, j > 0,
                                   r1_over_steps(run).get(eval_set, [])))
        panels.append((eval_set.replace("eval_", "") + " layout", series))
    return write_svg(os.path.join(out, "r1_over_steps.svg"), panels)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--steps", type=int, default=0)
    p.add_argument("--seeds", default="0 1")
    p.add_argument("--data", default="")
    p.add_argument("--blas", default="", help="the binary's OpenBLAS variant, for the machine line")
    a = p.parse_args()
    seeds = a.seeds.split()
    runs, results = {}, {}
    for name, _ in MODELS:
        for seed in seeds:
            run = os.path.join(a.out, "%s_s%s" % (name, seed))
            if not os.path.exists(os.path.join(run, "eval_final.json")):
                continue
            runs[(name, seed)] = run
            r = {"sets": sets_of(os.path.join(run, "eval_final.json")), "losses": last_losses(run)}
            teacher = os.path.join(a.out, "teacher_s%s.json" % seed)
            if name.startswith("distill") and os.path.exists(teacher):
                r["teacher"] = {t["set"].rstrip("/").split("/")[-1]: t
                                for t in load_json(teacher)["results"]}
            results["%s_s%s" % (name, seed)] = r
    if not results:
        raise SystemExit("fmnist_table.py: no eval_final.json under " + a.out)
    any_sets = next(iter(results.values()))["sets"]
    chance = any_sets["eval_normal"]["chance@1"]
    oracle = any_sets["eval_normal"].get("text_oracle@1")
    group = any_sets["eval_normal"].get("attribute_group_listings")

    retrieval = ["| model | seed | R@1 normal | R@1 cluttered | R@5 normal | R@5 cluttered | "
                 "mAP normal | mAP cluttered | R@1 attr. normal | R@1 attr. cluttered |",
                 "|" + "---|" * 10]
    controls = ["| model | seed | R@1 cluttered, images blanked | R@1 cluttered, generic titles | "
                "grounding on product, cluttered (uniform) | teacher on product, cluttered "
                "(uniform) | SRD loss | SDD loss |", "|" + "---|" * 8]
    for name, label in MODELS:
        for seed in seeds:
            r = results.get("%s_s%s" % (name, seed))
            if r is None:
                continue
            n, c = r["sets"]["eval_normal"], r["sets"]["eval_cluttered"]
            retrieval.append("| %s | %s | %s |" % (label, seed, " | ".join(fmt(v) for v in [
                n["recall@1"], c["recall@1"], n["recall@5"], c["recall@5"], n["map"], c["map"],
                n.get("recall@1_attribute_matched"), c.get("recall@1_attribute_matched")])))
            ground = ("%.3f (%.3f)" % (c["ground_on_product"], c["ground_uniform"])
                      if "ground_on_product" in c else "-")
            t = r.get("teacher", {}).get("eval_cluttered")
            if t is None and c.get("teacher") == "mask (upper bound)":
                t = c  # the mask teacher, measured by the model's own eval
            teacher = ("%.3f (%.3f)%s" % (t["teacher_on_product"], t["teacher_uniform"],
                                          " mask" if t is c else "") if t else "-")
            generic = None if name.endswith("_generic") else c.get("generic_titles", {}).get(
                "recall@1")
            controls.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                label, seed, fmt(c.get("blank_images", {}).get("recall@1")), fmt(generic), ground,
                teacher, fmt(r["losses"]["srd"]), fmt(r["losses"]["sdd"])))

    gaps = ["| paired gap (same seed, same data) | R@1 normal | R@1 cluttered | per seed "
            "(cluttered) | cluttered gap - normal gap |", "|" + "---|" * 5]
    gap_json = {}
    for gap_name, plus, minus in GAPS:
        per = {s: [] for s in SETS}
        for seed in seeds:
            x, y = results.get("%s_s%s" % (plus, seed)), results.get("%s_s%s" % (minus, seed))
            if x and y:
                for s in SETS:
                    per[s].append(x["sets"][s]["recall@1"] - y["sets"][s]["recall@1"])
        if not per["eval_cluttered"]:
            continue

        def summary(v):
            mean = sum(v) / len(v)
            return "%+.3f ± %.3f" % (mean, (max(v) - min(v)) / 2), mean

        normal_text, normal_mean = summary(per["eval_normal"])
        clutter_text, clutter_mean = summary(per["eval_cluttered"])
        gaps.append("| %s | %s | %s | %s | %+.3f |" % (
            gap_name, normal_text, clutter_text,
            ", ".join("%+.3f" % v for v in per["eval_cluttered"]), clutter_mean - normal_mean))
        gap_json[gap_name] = per

    timings = {}
    tpath = os.path.join(a.out, "timings.txt")
    if os.path.exists(tpath):
        for line in open(tpath):
            parts = line.split()
            timings[" ".join(parts[:-1])] = int(parts[-1])
    host = machine() + (", " + a.blas if a.blas else "")
    legend = ("R@1 attr. = Recall@1 among the listings whose titles share the query's colour and "
              "category (text carries no identity there). Gaps: mean over seeds ± half their "
              "range. Teacher on product \"mask\": the product-box mask used as SRD's target "
              "(model.srd_target MASK), an upper bound by construction, not a learned teacher. "
              "Chance R@1 = %.4f; text-only oracle R@1 = %s (%s listings share a query's "
              "colour and category). Steps per model: %d; seeds: %s. Machine: %s."
              % (chance, fmt(oracle, "%.4f"), fmt(group, "%.1f"), a.steps, ", ".join(seeds), host))
    text = "\n".join(retrieval + [""] + controls + [""] + gaps + ["", legend])
    print(text)
    figure = plot(a.out, runs, seeds)
    with open(os.path.join(a.out, "results.md"), "w") as f:
        f.write(text + "\n")
    trained = sum(v for k, v in timings.items() if k.endswith("train_s"))
    built = ("benchmark build of %d s included" % timings["data_s"] if "data_s" in timings else
             "the benchmark already built")
    block = ["Measured %s on %s, %d steps per model, seeds %s: the whole script ran in %s s (%s; "
             "training %d s of process time, two seeds side by side)."
             % (datetime.date.today().isoformat(), host, a.steps, " and ".join(seeds),
                timings.get("total_s", "?"), built, trained), ""]
    with open(os.path.join(a.out, "readme_block.md"), "w") as f:
        f.write("\n".join(block + retrieval + [""] + controls + [""] + gaps + ["", legend]) + "\n")
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump({"steps": a.steps, "seeds": seeds, "data": a.data, "chance@1": chance,
                   "text_oracle@1": oracle, "timings_s": timings, "runs": results,
                   "paired_gaps_r1": gap_json}, f, indent=2)
    if figure:
        print("wrote", figure)


if __name__ == "__main__":
    main()
