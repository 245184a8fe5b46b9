"""Precision, recall and F1 of a pairs file against a truth file (pair order ignored).

Usage: python evaluate.py PAIRS.csv TRUTH.csv [THRESHOLD]
Both files start with two id columns; PAIRS may carry match_probability as its third.
Prints one JSON line. Needs only the standard library.
"""
import csv
import json
import sys


def pairs(path, threshold=None):
    with open(path, newline="") as f:
        rows = csv.reader(f)
        next(rows)
        return {
            tuple(sorted((r[0], r[1])))
            for r in rows
            if threshold is None or len(r) < 3 or float(r[2]) >= threshold
        }


def scores(found, truth):
    correct = len(found & truth)
    precision = correct / len(found) if found else 0.0
    recall = correct / len(truth)
    f1 = 2 * precision * recall / (precision + recall) if correct else 0.0
    return {"pairs": len(found), "precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


if __name__ == "__main__":
    threshold = float(sys.argv[3]) if len(sys.argv) > 3 else None
    print(json.dumps(scores(pairs(sys.argv[1], threshold), pairs(sys.argv[2]))))
