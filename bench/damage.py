#!/usr/bin/env python3
"""Ransomware-like damage for bench/run.sh.

The victim files are chosen from the sorted list of regular files in
REFERENCE (the pristine data set) with a fixed seed, so every run damages the
same files no matter what state TARGET is in:

  * PERCENT % of the files are overwritten with random bytes of the same size,
  * another PERCENT % are deleted.

TARGET must be a copy of REFERENCE.  Files already missing in TARGET are
skipped, so damaging twice is harmless.  Prints a one-line summary.
"""
import argparse
import os
import random


def regular_files(root):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in filenames:
            full = os.path.join(dirpath, name)
            if os.path.isfile(full) and not os.path.islink(full):
                out.append(os.path.relpath(full, root))
    out.sort()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("reference")
    ap.add_argument("target")
    ap.add_argument("--seed", type=int, default=4242)
    ap.add_argument("--percent", type=float, default=1.0)
    a = ap.parse_args()

    files = regular_files(a.reference)
    if len(files) < 2:
        ap.error(f"{a.reference}: need at least 2 regular files")
    k = max(1, round(len(files) * a.percent / 100))
    rng = random.Random(a.seed)
    chosen = rng.sample(files, 2 * k)
    overwrite, delete = chosen[:k], chosen[k:]

    ow_bytes = 0
    for rel in overwrite:
        path = os.path.join(a.target, rel)
        if not os.path.lexists(path):
            continue
        size = os.path.getsize(path)
        with open(path, "r+b") as f:  # same inode, same size, new bytes
            left = size
            while left:
                n = min(left, 1 << 20)
                f.write(rng.randbytes(n))
                left -= n
        ow_bytes += size
    deleted = 0
    for rel in delete:
        path = os.path.join(a.target, rel)
        if os.path.lexists(path):
            os.remove(path)
            deleted += 1
    print(f"of {len(files)} files: overwrote {len(overwrite)} ({ow_bytes} bytes), "
          f"deleted {deleted} (of {len(delete)} chosen)")


if __name__ == "__main__":
    main()
