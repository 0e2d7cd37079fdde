#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# compare-trees.py SRC MNT: assert that the mounted composefs tree MNT shows
# exactly what SRC holds: names, types, modes, owners, mtimes (ns), xattrs
# (trusted.overlay.* hidden by overlayfs on both sides), symlink targets, file
# contents (read through the overlay redirects), device numbers and hard-link
# groups. Prints every difference; exit 1 if any. Host only (tests).
import os, stat, sys

def xattrs(p):
    out = {}
    for n in os.listxattr(p, follow_symlinks=False):
        out[n] = os.getxattr(p, n, follow_symlinks=False)
    return out

def walk(root):
    yield b""
    for dirpath, dirnames, filenames in os.walk(os.fsencode(root)):
        dirnames.sort()
        for n in sorted(dirnames + filenames):
            yield os.path.relpath(os.path.join(dirpath, n), os.fsencode(root))

def main(src, mnt):
    errors = []
    err = lambda m: errors.append(m)
    src_paths = list(walk(src))
    mnt_paths = list(walk(mnt))
    if src_paths != mnt_paths:
        s, m = set(src_paths), set(mnt_paths)
        for p in sorted(s - m): err("missing in mount: %r" % p)
        for p in sorted(m - s): err("unexpected in mount: %r" % p)
    links_src, links_mnt = {}, {}
    for rel in src_paths:
        if rel not in mnt_paths:
            continue
        a = os.path.join(os.fsencode(src), rel) if rel else os.fsencode(src)
        b = os.path.join(os.fsencode(mnt), rel) if rel else os.fsencode(mnt)
        sa, sb = os.lstat(a), os.lstat(b)
        for f in ("st_mode", "st_uid", "st_gid", "st_mtime_ns"):
            if getattr(sa, f) != getattr(sb, f):
                err("%r: %s differs: %r vs %r" % (rel, f, getattr(sa, f), getattr(sb, f)))
        if not stat.S_ISDIR(sa.st_mode) and sa.st_nlink != sb.st_nlink:
            err("%r: st_nlink differs: %d vs %d" % (rel, sa.st_nlink, sb.st_nlink))
        if stat.S_ISCHR(sa.st_mode) or stat.S_ISBLK(sa.st_mode):
            if sa.st_rdev != sb.st_rdev:
                err("%r: rdev differs" % rel)
        xa, xb = xattrs(a), xattrs(b)
        if xa != xb:
            err("%r: xattrs differ: %r vs %r" % (rel, xa, xb))
        if stat.S_ISLNK(sa.st_mode):
            if os.readlink(a) != os.readlink(b):
                err("%r: symlink target differs" % rel)
        elif stat.S_ISREG(sa.st_mode):
            if sa.st_size != sb.st_size:
                err("%r: size differs: %d vs %d" % (rel, sa.st_size, sb.st_size))
            with open(a, "rb") as fa, open(b, "rb") as fb:
                if fa.read() != fb.read():
                    err("%r: content differs" % rel)
            if sa.st_nlink > 1:
                links_src.setdefault(sa.st_ino, []).append(rel)
                links_mnt.setdefault(sb.st_ino, []).append(rel)
    groups = lambda d: sorted(sorted(v) for v in d.values())
    if groups(links_src) != groups(links_mnt):
        err("hard-link groups differ: %r vs %r" % (groups(links_src), groups(links_mnt)))
    for e in errors:
        print("DIFF:", e)
    print("compared %d paths, %d hard-link groups: %s" % (len(src_paths), len(links_src),
          "identical" if not errors else "%d differences" % len(errors)))
    return 1 if errors else 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
