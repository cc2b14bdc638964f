#!/usr/bin/env bash
# The data loader at scale (issue #12): synthetic corpora of 100k samples and of 1M samples, both
# in 1,000 shards (tiny JPEGs, `tigerfg data synth`, indexes included), each read by 1, 2 and 4
# ranks (mpirun --oversubscribe; `tigerfg data bench`): per-rank start-up time, the loader's
# resident memory (VmRSS after the batches minus VmRSS before DataLoader::Create), VmHWM and
# samples/s. Prints a table; README=1 (the default) writes it into README.md's figures:data_scale
# block. Corpora live under /tmp and are deleted at the end. Not a CI test (minutes, ~3 GB).
# Each (corpus, ranks) run is repeated REPEATS times (default 3) and the median taken: the
# start-ups are milliseconds, so one run on a shared machine is mostly scheduling noise.
#   cluster/data_scale_bench.sh [BATCHES=40] [GLOBAL_BATCH=256]
set -euo pipefail
cd "$(dirname "$0")/.."
batches=${1:-40}
global_batch=${2:-256}
readme=${README:-1}
repeats=${REPEATS:-3}
binary=${TIGERFG_BINARY:-build/launcher/tigerfg}
binary=$(realpath "$binary")
mpirun=${MPIRUN:-mpirun}
work=$(mktemp -d /tmp/tigerfg_data_scale.XXXXXX)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
for corpus in "100000 1000" "1000000 1000"; do
  read -r samples shards <<<"$corpus"
  dir="$work/c$samples"
  "$binary" data synth --out "$dir" --samples "$samples" --shards "$shards"
  du -sh "$dir" | sed 's/^/corpus size: /'
  for repeat in $(seq "$repeats"); do
    for world in 1 2 4; do
      # Each rank prints one JSON line; the loader has 2 threads per rank.
      "$mpirun" --oversubscribe --allow-run-as-root -np "$world" "$binary" data bench \
        --shards "$dir/train-*.tar" --vocab "$dir/vocab.txt" --batches "$batches" \
        --global_batch "$global_batch" --threads 2 2>/dev/null |
        grep '^{' >"$work/run-$samples-$world-$repeat.jsonl"
      cat "$work/run-$samples-$world-$repeat.jsonl"
    done
  done
  rm -rf "$dir"
done
/usr/bin/python3 - "$work" "$batches" "$global_batch" "$repeats" <<'PY'
import datetime, json, os, statistics, sys
sys.path.insert(0, "cluster")
from readme_figures import machine
work, batches, global_batch, repeats = sys.argv[1:]
rows = []
for samples in (100000, 1000000):
    for world in (1, 2, 4):
        runs = []  # per repeat: the worst rank's start-up and memory, the mean rank's samples/s
        for repeat in range(1, int(repeats) + 1):
            path = os.path.join(work, f"run-{samples}-{world}-{repeat}.jsonl")
            ranks = [json.loads(l) for l in open(path)]
            assert len(ranks) == world, f"{path}: {len(ranks)} ranks reported, not {world}"
            runs.append((max(r["startup_s"] for r in ranks),
                         max(r["loader_rss_mb"] for r in ranks),
                         max(r["hwm_mb"] for r in ranks),
                         sum(r["samples_per_s"] for r in ranks) / world,
                         max(r["order_kb"] for r in ranks),
                         max(r["peak_open_shards"] for r in ranks),
                         ranks[0]["shards"]))
        med = [statistics.median(run[i] for run in runs) for i in range(6)]
        rows.append((samples, runs[0][6], world, *med))
lines = ["| samples | shards | ranks | start-up s (slowest rank) | loader RSS MB (largest rank) "
         "| VmHWM MB, whole process (largest) | samples/s per rank (mean) | order tables KB "
         "| open shards (peak) |",
         "|---|---|---|---|---|---|---|---|---|"]
for r in rows:
    lines.append(f"| {r[0]:,} | {r[1]:,} | {r[2]} | {r[3]:.3f} | {r[4]:.1f} | {r[5]:.1f} "
                 f"| {r[6]:,.0f} | {r[7]:.1f} | {r[8]:.0f} |")
small = {r[2]: r for r in rows if r[0] == 100000}
big = {r[2]: r for r in rows if r[0] == 1000000}
ratio_t = max(big[w][3] / small[w][3] for w in big)
ratio_m = max(big[w][4] / max(small[w][4], 1e-9) for w in big)
ok_t = all(big[w][3] < 10 for w in big)
ok_m = all(big[w][4] < 200 for w in big)
verdict = (f"Targets at 1M/1,000 shards: start-up < 10 s: {'met' if ok_t else 'MISSED'} "
           f"(max {max(big[w][3] for w in big):.3f} s); loader memory < 200 MB: "
           f"{'met' if ok_m else 'MISSED'} (max {max(big[w][4] for w in big):.1f} MB); "
           f"1M / 100k ratios (worst over the world sizes): start-up {ratio_t:.2f}x, "
           f"memory {ratio_m:.2f}x, target <= 1.5x: "
           f"{'met' if ratio_t <= 1.5 and ratio_m <= 1.5 else 'MISSED'}.")
text = "\n".join(lines) + "\n\n" + (
    f"{machine()}, shared with other builds while it ran; {datetime.date.today().isoformat()}; "
    f"`tigerfg data bench`, {batches} batches of global batch {global_batch}, 2 loader threads "
    f"per rank, 32x32 outputs from 16x16 JPEGs, shards in the page cache (written just before); "
    f"each figure the median of {repeats} runs. Loader RSS is VmRSS after the batches minus VmRSS "
    f"before DataLoader::Create (mostly the prefetched batches); VmHWM includes the binary's "
    f"~160 MB of libraries (CUDA, BLAS). {verdict}\n")
print(text)
open(os.path.join(work, "readme_block.md"), "w").write(text)
PY
if [[ $readme == 1 ]]; then
  /usr/bin/python3 cluster/readme_figures.py README.md data_scale "$work/readme_block.md"
fi
