#!/usr/bin/env python3
"""Generate the deterministic "mix" data set for bench/run.sh.

Everything comes from one seeded random.Random, so the same seed and sizes
give byte-identical trees on every machine (Python >= 3.9 for randbytes).

Layout of OUT_DIR (which must not exist yet):

  small/dNN/eN/fNNNNN.txt  SMALL text files of 1-16 KiB (compressible words),
                           100 per folder, 10 folders per dNN
  large/v1.bin             LARGE_MIB MiB: alternating 1 MiB blocks of random
                           bytes and text (about half compressible)
  large/v2.bin             v1 with three 64 KiB random blocks inserted at
                           ~30 %, ~50 % and ~70 % (tests content-defined chunking)
  large/v3.bin             v1 with a random tail of LARGE_MIB/25 MiB appended
  random/rNN.bin           RANDOM_MIB MiB of incompressible bytes in
                           RANDOM_FILES files
"""
import argparse
import os
import random

KIB = 1024
MIB = 1024 * KIB


def make_vocab(rng, n=4000):
    letters = "etaoinshrdlcumwfgypbvkjxqz"
    weights = [26 - i for i in range(len(letters))]  # rough English skew
    vocab = []
    for _ in range(n):
        k = rng.choice((2, 3, 3, 4, 4, 5, 5, 6, 7, 8, 9, 11))
        vocab.append("".join(rng.choices(letters, weights, k=k)))
    return vocab


def text(rng, vocab, size):
    """Exactly `size` bytes of word soup with line breaks."""
    out = b""
    while len(out) < size:
        words = rng.choices(vocab, k=size // 4 + 16)  # average word+space > 4 bytes
        for i in range(11, len(words), 12):
            words[i] += "\n"
        out += " ".join(words).encode()
    return out[:size]


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--small", type=int, default=20000, help="number of small files")
    ap.add_argument("--large-mib", type=int, default=100, help="size of large/v1.bin")
    ap.add_argument("--random-mib", type=int, default=200, help="total random data")
    ap.add_argument("--random-files", type=int, default=4)
    a = ap.parse_args()

    if os.path.exists(a.out_dir):
        ap.error(f"{a.out_dir} already exists")
    rng = random.Random(a.seed)
    vocab = make_vocab(rng)

    # Small text files in nested folders.
    for i in range(a.small):
        size = rng.randint(1 * KIB, 16 * KIB)
        path = os.path.join(a.out_dir, "small", f"d{i // 1000:02d}",
                            f"e{(i // 100) % 10}", f"f{i:05d}.txt")
        write(path, text(rng, vocab, size))

    # Three large files sharing most of their content.
    blocks = []
    for b in range(a.large_mib):
        blocks.append(rng.randbytes(MIB) if b % 2 == 0 else text(rng, vocab, MIB))
    base = b"".join(blocks)
    del blocks
    write(os.path.join(a.out_dir, "large", "v1.bin"), base)

    v2 = bytearray(base)
    # Insert from the back so the earlier offsets stay valid; odd offsets so
    # nothing lines up with block boundaries.
    for frac in (0.7, 0.5, 0.3):
        off = int(len(base) * frac) + rng.randrange(1, 4096)
        v2[off:off] = rng.randbytes(64 * KIB)
    write(os.path.join(a.out_dir, "large", "v2.bin"), bytes(v2))
    del v2

    tail = rng.randbytes(max(1, a.large_mib * MIB // 25))
    write(os.path.join(a.out_dir, "large", "v3.bin"), base + tail)
    del base, tail

    # Incompressible random data in a few files.
    per_file = a.random_mib * MIB // a.random_files
    for r in range(a.random_files):
        write(os.path.join(a.out_dir, "random", f"r{r:02d}.bin"), rng.randbytes(per_file))


if __name__ == "__main__":
    main()
