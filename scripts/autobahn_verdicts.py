#!/usr/bin/env python3
"""Print one line per Autobahn case: `case behavior behaviorClose`, sorted.

    autobahn_verdicts.py REPORT_DIR_OR_INDEX_JSON

The lines are what autobahn/expected/*.txt holds, so a regression shows as
a diff naming the case.
"""
import json
import os
import sys


def case_key(case):
    return [int(part) for part in case.split(".")]


def main():
    path = sys.argv[1]
    if os.path.isdir(path):
        path = os.path.join(path, "index.json")
    with open(path) as f:
        index = json.load(f)
    if len(index) != 1:
        sys.exit(f"expected one agent in {path}, found {sorted(index)}")
    (cases,) = index.values()
    for case in sorted(cases, key=case_key):
        v = cases[case]
        print(f"{case} {v['behavior']} {v['behaviorClose']}")


if __name__ == "__main__":
    main()
