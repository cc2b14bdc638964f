#!/usr/bin/env python3
# cluster/readme_figures.py — writes a script's measured figures into a marked block of README.md.
"""Usage: readme_figures.py README.md NAME FILE   (FILE '-' reads stdin)

Replaces the lines between the marker lines
    <!-- figures:NAME (written by CMD) -->
    <!-- /figures:NAME -->
with FILE's text, keeping both markers. Fails (exit 1, naming the block) when either marker is
missing or appears more than once, or the text is empty; the README is replaced atomically."""
import os
import re
import sys
import tempfile


def machine():
    """'<CPU model from /proc/cpuinfo>, <N> CPUs' (N as nproc counts them)."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return "%s, %d CPUs" % (model, len(os.sched_getaffinity(0)))


def fail(msg):
    sys.exit("readme_figures.py: " + msg)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    readme, name, src = sys.argv[1:]
    text = sys.stdin.read() if src == "-" else open(src).read()
    where = f"{readme}: block '{name}'"
    if not text.strip():
        fail(f"{where}: no figures to write (empty input)")
    if "<!-- figures:" in text or "<!-- /figures:" in text:
        fail(f"{where}: the new text contains a figures marker")
    with open(readme) as f:
        lines = f.read().splitlines(keepends=True)
    closing = f"<!-- /figures:{name} -->"
    opens = [i for i, l in enumerate(lines) if l.startswith(f"<!-- figures:{name} ")]
    closes = [i for i, l in enumerate(lines) if l.strip() == closing]
    if len(opens) != 1 or len(closes) != 1:
        fail(f"{where}: needs exactly one '<!-- figures:{name} (written by CMD) -->' line and one "
             f"'{closing}' line, found {len(opens)} and {len(closes)}")
    start, end = opens[0], closes[0]
    if not re.fullmatch(r"<!-- figures:%s \(written by .+\) -->" % re.escape(name),
                        lines[start].strip()):
        fail(f"{where}: malformed opening marker {lines[start].strip()!r}")
    if end < start:
        fail(f"{where}: the closing marker comes before the opening one")
    new = lines[:start + 1] + [text.rstrip("\n") + "\n"] + lines[end:]
    fd, tmp = tempfile.mkstemp(prefix=".readme_figures.", dir=os.path.dirname(os.path.abspath(readme)))
    try:
        with os.fdopen(fd, "w") as f:
            f.writelines(new)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, os.stat(readme).st_mode & 0o7777)
        os.replace(tmp, readme)
    except BaseException:
        os.unlink(tmp)
        raise
    print(f"readme_figures.py: wrote block '{name}' of {readme}", file=sys.stderr)


if __name__ == "__main__":
    main()
