#!/usr/bin/env python3
"""bench/gen-entries.py DIR N — a tree of N entries for restore memory benches.

Empty files (so the tree costs inodes, not bytes) in a deep and wide tree:
folders of FANOUT entries, nested DEPTH levels, every 100th file holding
a few bytes so the restore also plans content. Deterministic: the same N
gives the same names. Reuses DIR if it already holds a tree of N entries
(a marker file records N), since creating millions of files takes a while.
"""
import os
import sys

FANOUT = 100   # entries per folder
DEPTH = 4      # folder levels below DIR


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    root, n = sys.argv[1], int(sys.argv[2])
    marker = os.path.join(root, ".gen-entries")
    if os.path.exists(marker) and open(marker).read().strip() == str(n):
        return
    os.makedirs(root, exist_ok=True)
    made = 0
    while made < n:
        # File number made -> folder path from its digits in base FANOUT.
        k, parts = made // FANOUT, []
        for _ in range(DEPTH):
            parts.append("d%02d" % (k % FANOUT))
            k //= FANOUT
        folder = os.path.join(root, *reversed(parts))
        if made % FANOUT == 0:
            os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, "f%07d" % made)
        with open(path, "wb") as f:
            if made % 100 == 0:
                f.write(b"entry %d\n" % made)
        made += 1
    with open(marker, "w") as f:
        f.write("%d\n" % n)


if __name__ == "__main__":
    main()
