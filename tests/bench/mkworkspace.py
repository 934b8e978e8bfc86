#!/usr/bin/env python3
"""mkworkspace.py DIR FILES MEGABYTES: a deterministic source-like tree."""
import os
import random
import sys

root, nfiles, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(42)
per = mb * 1024 * 1024 // nfiles
words = [b"alpha", b"beta", b"gamma", b"delta", b"return", b"static", b"int",
         b"void", b"struct", b"const", b"char", b"{", b"}", b";", b"\n"]
for i in range(nfiles):
    d = os.path.join(root, "src", "d%03d" % (i // 200))
    os.makedirs(d, exist_ok=True)
    size = max(64, int(per * rng.uniform(0.5, 1.5)))
    body = b" ".join(rng.choice(words) for _ in range(size // 5 + 1))[:size]
    with open(os.path.join(d, "f%05d.txt" % i), "wb") as f:
        f.write(body)
with open(os.path.join(root, ".gitignore"), "w") as f:
    f.write("build/\n*.o\n")
