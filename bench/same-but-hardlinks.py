#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""
same-but-hardlinks.py OURS.dump THEIRS.dump - used by bench/run.sh (host only).

Exit 0 when two composefs dumps describe the same tree once hard links are
ignored: every hard-link line of OURS becomes a copy of its target, and every
non-directory gets nlink 1. `mkcomposefs DIR` (composefs 1.0) stores each path
of a hard-link group as its own inode, `cfsroot mkimage DIR` keeps hard links,
so their images of the same tree differ exactly by this; anything else is a
real difference.
"""
import sys


def fields(path):
    with open(path, "rb") as f:
        return [line.rstrip(b"\n").split(b" ") for line in f]


def unlink_nlink(f):
    """nlink 1 for non-directories; xattrs in name order (a dump lists them in
    image order, which depends on which ones went to the shared table)."""
    f = f[:11] + sorted(f[11:])
    return f if f[2].startswith(b"4") else f[:3] + [b"1"] + f[4:]


def main():
    ours, theirs = fields(sys.argv[1]), fields(sys.argv[2])
    by_path = {f[0]: f for f in ours}
    norm = []
    for f in ours:
        if f[2].startswith(b"@"):
            f = [f[0]] + by_path[f[8]][1:]
        norm.append(b" ".join(unlink_nlink(f)))
    other = [b" ".join(unlink_nlink(f)) for f in theirs]
    sys.exit(0 if sorted(norm) == sorted(other) else 1)


if __name__ == "__main__":
    main()
