#!/usr/bin/env python3
"""Fails when a respool shared library exports more than its public API.

  check_exports.py LIBRARY [--allow-detail REGEX]

Reads the dynamic symbol table (nm -D --defined-only, demangled) and reports
  - every symbol that does not name respool at all: a template instantiation
    of fmt or the standard library the version script should have kept local;
  - every symbol naming a respool `detail` namespace that REGEX does not match:
    a private helper that escaped -fvisibility=hidden (a missing mark, or an
    export macro on something the public headers do not declare).
REGEX lists the detail names that inline code in the public headers calls.
Prints the counts either way, so the log records them.
"""
import argparse
import re
import subprocess
import sys


def exported(library):
    out = subprocess.run(["nm", "-D", "--defined-only", "-C", library],
                         check=True, capture_output=True, text=True).stdout
    # "<address> <type> <name>"; names contain spaces ("typeinfo for ...").
    return [line.split(" ", 2)[2] for line in out.splitlines() if line.count(" ") >= 2]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("library")
    parser.add_argument("--allow-detail", default=r"(?!)")
    args = parser.parse_args()
    allowed = re.compile(args.allow_detail)
    names = exported(args.library)
    foreign = [n for n in names if "respool::" not in n]
    detail = [n for n in names if re.search(r"respool::(\w+::)?detail::", n)]
    stray = [n for n in detail if not allowed.search(n)]
    print(f"{args.library}: {len(names)} exported, {len(detail)} naming a respool detail "
          f"namespace ({len(stray)} not allowed), {len(foreign)} not respool's")
    for n in foreign:
        print(f"  not respool's: {n}")
    for n in stray:
        print(f"  private helper exported: {n}")
    if not names:
        print("  nothing exported at all: is this the right file?")
    return 1 if foreign or stray or not names else 0


if __name__ == "__main__":
    sys.exit(main())
