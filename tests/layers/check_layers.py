#!/usr/bin/env python3
"""tests/layers/check_layers.py — fails when a source file includes a project header from a folder
its own folder may not depend on (the edges are listed in tests/layers/layers.txt).

Usage: check_layers.py [--root DIR] [--layers FILE]. Every .h/.cc/.cu/.cuh file under a listed
folder is read; `#include "a/b.h"` names the folder of a/b.h (the longest listed prefix); a file
in a folder that the table does not list is an error too, so a new folder cannot join silently.
"""
import argparse
import os
import re
import sys

SOURCE_EXTENSIONS = (".h", ".cc", ".cu", ".cuh")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def read_table(path):
    """folder -> set of folders it may include from (itself always)."""
    allowed = {}
    for number, line in enumerate(open(path, encoding="utf-8"), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if ":" not in line:
            sys.exit(f"{path}:{number}: expected 'folder: allowed folders...'")
        folder, deps = line.split(":", 1)
        allowed[folder.strip()] = set(deps.split()) | {folder.strip()}
    for folder, deps in allowed.items():
        for dep in deps:
            if dep not in allowed and dep != "*":
                sys.exit(f"{path}: {folder} may include from {dep}, which the table does not list")
    return allowed


def folder_of(path, folders):
    """The longest listed folder that contains path, or None."""
    best = None
    for folder in folders:
        if path == folder or path.startswith(folder + "/"):
            if best is None or len(folder) > len(best):
                best = folder
    return best


def main():
    parser = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--root", default=os.path.dirname(os.path.dirname(here)))
    parser.add_argument("--layers", default=os.path.join(here, "layers.txt"))
    args = parser.parse_args()
    allowed = read_table(args.layers)
    top_folders = {f.split("/")[0] for f in allowed}
    errors, checked = [], 0
    for top in sorted(top_folders):
        for dirpath, _, names in os.walk(os.path.join(args.root, top)):
            for name in sorted(names):
                if not name.endswith(SOURCE_EXTENSIONS):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, name), args.root)
                own = folder_of(rel, allowed)
                if own is None:
                    errors.append(f"{rel}: its folder is not in {args.layers}")
                    continue
                checked += 1
                for number, line in enumerate(open(os.path.join(args.root, rel), encoding="utf-8"), 1):
                    match = INCLUDE.match(line)
                    if not match:
                        continue
                    target = folder_of(match.group(1), allowed)
                    if target is None or "*" in allowed[own] or target in allowed[own]:
                        continue
                    errors.append(f"{rel}:{number}: includes {match.group(1)} ({target}), "
                                  f"but {own} may include only from {' '.join(sorted(allowed[own]))}")
    for error in errors:
        print(error)
    print(f"{checked} files checked, {len(errors)} layer violations")
    return 1 if errors or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
