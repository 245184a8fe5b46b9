"""List the pairs a tool missed and the pairs it found wrongly, field by field, to see what they
have in common. Fields that differ are marked **.

Usage: python missed.py PAIRS.csv TRUTH.csv ID_COLUMN LEFT.csv [RIGHT.csv]
Needs only the standard library; ids are looked up in either file.
"""
import csv
import sys


def records(path, id_column):
    with open(path, newline="") as f:
        return {row[id_column]: row for row in csv.DictReader(f)}


def pairs(path):
    with open(path, newline="") as f:
        rows = csv.reader(f)
        next(rows)
        return {tuple(sorted(r[:2])): r[2] if len(r) > 2 else "" for r in rows}


def show(tag, pair, probability, people, id_column):
    print(tag, *pair, probability)
    a, b = (people[p] for p in pair)
    for column in a:
        if column != id_column:
            mark = "  " if a[column] == b[column] else "**"
            print(f"   {mark} {column:15} {a[column]!r:30} {b[column]!r}")


def main(found_path, truth_path, id_column, *paths):
    people = {}
    for path in paths:
        people.update(records(path, id_column))
    found, truth = pairs(found_path), pairs(truth_path)
    for pair in sorted(truth.keys() - found.keys()):
        show("MISSED", pair, "", people, id_column)
    for pair in sorted(found.keys() - truth.keys()):
        show("FALSE", pair, found[pair], people, id_column)


if __name__ == "__main__":
    main(*sys.argv[1:])
