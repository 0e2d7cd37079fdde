#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""gen-images.py CFSROOT OUTDIR - make the should-fail image corpus (host only).

Builds valid base images from small dumps with `cfsroot mkimage --from-dump`
(deterministic), then writes one malformed copy per case: NAME.img plus
NAME.img.err, the text `cfsroot check` must print. The valid base images are
kept as valid-*.img (they must pass `cfsroot check` and fsck.erofs). Rerun after
a format-visible writer change; the output is byte-for-byte reproducible.
"""
import os
import struct
import subprocess
import sys
import tempfile

DIGEST = "0123456789abcdef" * 4
BASE_DUMP = f"""/ 4096 40755 2 0 0 0 1000.0 - - - user.root=r
/dev 0 60644 1 0 0 2049 1000.0 - - -
/dir 4096 40755 2 0 0 0 1000.0 - - -
/dir/aa 0 100644 1 0 0 0 1000.0 - - -
/dir/ab 0 100644 1 0 0 0 1000.0 - - -
/dir/sub 4096 40755 2 0 0 0 1000.0 - - -
/dir/sub/f 0 100644 1 0 0 0 1000.0 - - -
/empty 0 100644 1 0 0 0 1000.0 - - -
/ext 5000 100644 1 0 0 0 1000.0 ab/cdef - {DIGEST} user.a=1 Xser.b=2 trusted.Xverlay.c=3
/hello 6 100644 2 0 0 0 1000.0 - hello\\n - user.a=1
/hl 6 @100644 2 0 0 0 1000.0 /hello - -
/lnk 3 120777 1 0 0 0 2000.5 ext - -
/sub2 4096 40755 2 0 0 0 1000.0 - - -
/sub2/wh 0 20644 1 0 0 0 1000.0 - - -
"""
# Single-purpose valid images (also fsck.erofs'ed by the runner).
VALID_DUMPS = {
    "valid-base": BASE_DUMP,
    "valid-root-only": "/ 4096 40755 2 0 0 0 0.0 - - -\n",
    "valid-escaped-overlay": "/ 4096 40755 2 0 0 0 0.0 - - -\n"
    "/f 0 100644 1 0 0 0 0.0 - - - trusted.overlay.redirect=/x trusted.overlay.opaque=y\n",
}

BLK = 4096


class Image:
    def __init__(self, data):
        self.d = bytearray(data)
        sb = 1024
        self.root = struct.unpack_from("<H", self.d, sb + 14)[0]
        self.xattr_base = struct.unpack_from("<I", self.d, sb + 44)[0] * BLK

    def inode(self, nid):
        off = nid * 32
        fmt, icount, mode = struct.unpack_from("<HHH", self.d, off)
        ext = fmt & 1
        layout = (fmt >> 1) & 7
        if ext:
            size, u = struct.unpack_from("<QI", self.d, off + 8)
            isize = 64
        else:
            size, u = struct.unpack_from("<I4xI", self.d, off + 8)
            isize = 32
        xs = 12 + 4 * (icount - 1) if icount else 0
        return dict(off=off, ext=ext, layout=layout, mode=mode, size=size, u=u,
                    isize=isize, xoff=off + isize, xs=xs, tail=off + isize + xs)

    def dir_blocks(self, ino):
        size = ino["size"]
        if ino["layout"] == 2:
            nb, tail = size // BLK, size % BLK
        else:
            nb, tail = (size + BLK - 1) // BLK, 0
        out = []
        for i in range(nb):
            out.append((ino["u"] * BLK + i * BLK, min(BLK, size - i * BLK)))
        if tail:
            out.append((ino["tail"], tail))
        return out

    def dirents(self, nid):
        """[(name, nid, ftype, dirent_off, name_off)]"""
        ents = []
        for boff, blen in self.dir_blocks(self.inode(nid)):
            n = struct.unpack_from("<H", self.d, boff + 8)[0] // 12
            for i in range(n):
                de = boff + 12 * i
                enid, noff, ft = struct.unpack_from("<QHB", self.d, de)
                if i + 1 < n:
                    end = struct.unpack_from("<H", self.d, de + 12 + 8)[0]
                else:
                    z = self.d.find(b"\0", boff + noff, boff + blen)
                    end = (z - boff) if z >= 0 else blen
                ents.append((bytes(self.d[boff + noff:boff + end]), enid, ft, de, boff + noff))
        return ents

    def lookup(self, path):
        nid = self.root
        for comp in path.strip("/").split("/"):
            if not comp:
                continue
            nid = [e for e in self.dirents(nid) if e[0] == comp.encode()][0][1]
        return nid

    def dirent(self, path):
        parent, name = path.rsplit("/", 1)
        pnid = self.lookup(parent or "/")
        return [e for e in self.dirents(pnid) if e[0] == name.encode()][0]

    def xattrs(self, nid):
        """inline entries: [(entry_off, name_len, index, value_len, suffix)]"""
        ino = self.inode(nid)
        if not ino["xs"]:
            return [], []
        n_shared = self.d[ino["xoff"] + 4]
        shared = [self.xattr_base + 4 * struct.unpack_from("<I", self.d, ino["xoff"] + 12 + 4 * i)[0]
                  for i in range(n_shared)]
        p = ino["xoff"] + 12 + 4 * n_shared
        end = ino["xoff"] + ino["xs"]
        out = []
        while p < end:
            nl, idx, vl = struct.unpack_from("<BBH", self.d, p)
            out.append((p, nl, idx, vl, bytes(self.d[p + 4:p + 4 + nl])))
            p += (4 + nl + vl + 3) & ~3
        return out, shared

    def xattr(self, path, suffix):
        ents, _ = self.xattrs(self.lookup(path))
        return [e for e in ents if e[4] == suffix.encode()][0]

    def put(self, fmt, off, *v):
        struct.pack_into(fmt, self.d, off, *v)


def build(cfsroot, dump, out):
    with tempfile.NamedTemporaryFile("w", suffix=".dump", delete=False) as f:
        f.write(dump)
        name = f.name
    try:
        subprocess.run([cfsroot, "mkimage", "-q", "--from-dump", name, out], check=True)
    finally:
        os.unlink(name)
    with open(out, "rb") as f:
        return f.read()


def cases(base):
    """Yield (name, expected error text, mutate(Image) -> bytes)."""
    def m(fn):
        def run():
            img = Image(base)
            r = fn(img)
            return bytes(img.d) if r is None else r
        return run

    def ino(img, path):
        return img.inode(img.lookup(path))

    yield "truncated-header", "image too short", lambda: base[:2000]
    yield "truncated-half", "do not fit in the 8192-byte image", lambda: base[:len(base) // 2 // BLK * BLK]

    def truncated_patched(i):
        i.put("<I", 1024 + 36, 3)
        return bytes(i.d[:3 * BLK])
    yield "truncated-blocks-patched", "data blocks 3..3 are outside the image", m(truncated_patched)
    yield "size-not-block-multiple", "not a multiple of the block size", lambda: base + b"\0" * 100
    yield "bad-header-magic", "bad magic: expected 0xd078629a", m(lambda i: i.put("<I", 0, 0x12345678))
    yield "bad-header-version", "unsupported header version", m(lambda i: i.put("<I", 4, 2))
    yield "bad-format-version", "unsupported format version 7", m(lambda i: i.put("<I", 12, 7))
    yield "bad-header-flags", "unknown flags 0x10", m(lambda i: i.put("<I", 8, 0x10))
    yield "bad-sb-magic", "EROFS superblock (byte offset 1024): bad magic", m(lambda i: i.put("<I", 1024, 0))
    yield "bad-blkszbits", "blkszbits: expected 12, found 13", m(lambda i: i.put("<B", 1024 + 12, 13))
    yield "bad-feature-incompat", "feature_incompat: expected 0, found 1", m(lambda i: i.put("<I", 1024 + 80, 1))
    yield "bad-sb-blocks", "do not fit in the", m(lambda i: i.put("<I", 1024 + 36, 0xFFFFFFFF))
    yield "bad-xattr-blkaddr", "xattr_blkaddr 4294967295 is outside", m(lambda i: i.put("<I", 1024 + 44, 0xFFFFFFFF))
    yield "bad-root-nid", "root_nid 65535 is outside", m(lambda i: i.put("<H", 1024 + 14, 0xFFFF))
    yield "root-not-dir", "the root inode is a regular file", m(lambda i: i.put("<H", 1024 + 14, i.lookup("/empty")))
    yield "inode-format-bits", "unknown i_format bits 0x0010", m(lambda i: i.put("<H", ino(i, "/empty")["off"], 0x10))
    yield "inode-layout-1", "unsupported data layout 1", m(lambda i: i.put("<H", ino(i, "/empty")["off"], 2))
    yield "inode-bad-type", "unknown file type in mode 0170644", m(lambda i: i.put("<H", ino(i, "/empty")["off"] + 4, 0o170644))
    yield "dirent-nid-range", "directory entry points at nid 1099511627776, beyond the end", m(lambda i: i.put("<Q", i.dirent("/empty")[3], 1 << 40))
    yield "dirent-nid-small", "inode number out of range", m(lambda i: i.put("<Q", i.dirent("/empty")[3], 3))
    yield "dirent-type-mismatch", "directory entry file type 2, but the inode has mode 0100644", m(lambda i: i.put("<B", i.dirent("/empty")[3] + 10, 2))
    yield "dir-loop", "directory reachable through a second entry", m(lambda i: i.put("<Q", i.dirent("/dir/sub")[3], i.root))
    yield "dir-hardlink", "directory reachable through a second entry", m(lambda i: i.put("<Q", i.dirent("/sub2")[3], i.lookup("/dir/sub")))

    def unsorted(i):
        a, b = i.dirent("/dir/aa"), i.dirent("/dir/ab")
        i.d[a[4]:a[4] + 2] = b"ab"
        i.d[b[4]:b[4] + 2] = b"aa"
    yield "dir-unsorted", 'directory entry "aa" after "ab": expected names sorted', m(unsorted)

    def dup(i):
        b = i.dirent("/dir/ab")
        i.d[b[4]:b[4] + 2] = b"aa"
    yield "dir-duplicate", 'directory entry "aa" after "aa"', m(dup)
    yield "dir-nameoff0", "first name offset 13: expected a multiple of 12", m(lambda i: i.put("<H", i.dirent("/dir/.")[3] + 8, 13))
    yield "dir-nameoff-order", "name offset 0: expected", m(lambda i: i.put("<H", i.dirent("/dir/..")[3] + 8, 0))

    def slash(i):
        a = i.dirent("/dir/aa")
        i.d[a[4] + 1] = ord("/")
    yield "dir-name-slash", 'name "a/" contains "/"', m(slash)
    yield "dir-dot-wrong", '"." entry points at nid', m(lambda i: i.put("<Q", i.dirent("/dir/.")[3], i.root))
    yield "dir-dotdot-wrong", '".." entry points at nid', m(lambda i: i.put("<Q", i.dirent("/dir/..")[3], i.lookup("/dir")))
    yield "dir-size-huge", "are outside the image", m(lambda i: i.put("<I", ino(i, "/")["off"] + 8, 0x7FFFF000))
    yield "dir-blkaddr-zero", "data blocks 0..0 are outside the image", m(lambda i: i.put("<I", ino(i, "/")["off"] + 16, 0))

    def tail_cross(i):
        x = ino(i, "/hello")
        i.put("<I", x["off"] + 8, 4095)
    yield "inline-tail-crosses-block", "crosses a block boundary", m(tail_cross)
    yield "xattr-bad-index", "xattr name prefix index 7: expected 0..6", m(lambda i: i.put("<B", i.xattr("/ext", "Xser.b")[0] + 1, 7))
    yield "xattr-long-prefix", "long name prefix 1", m(lambda i: i.put("<B", i.xattr("/ext", "Xser.b")[0] + 1, 0x81))
    yield "xattr-overrun", "inline xattr entry of 6 + 65535 bytes runs past the end", m(lambda i: i.put("<H", i.xattr("/ext", "Xser.b")[0] + 2, 0xFFFF))

    def shared_id(i):
        x = ino(i, "/hello")
        i.put("<I", x["xoff"] + 12, 0xFFFFFFF0)
    yield "xattr-shared-id-range", "shared xattr id 4294967280 points at byte", m(shared_id)
    yield "xattr-shared-count", "shared xattr ids do not fit", m(lambda i: i.put("<B", ino(i, "/hello")["xoff"] + 4, 200))

    def noncanon(i):
        e = i.xattr("/ext", "Xser.b")
        i.d[e[0] + 4] = ord("u")
    yield "xattr-noncanonical-prefix", 'xattr "user.b" stored with name prefix index 0, expected 1', m(noncanon)

    def ovl(i):
        e = i.xattr("/ext", "Xverlay.c")
        i.d[e[0] + 4] = ord("o")
    yield "xattr-unescaped-overlay", 'unexpected overlay xattr "trusted.overlay.c"', m(ovl)

    def nul(i):
        e = i.xattr("/ext", "Xser.b")
        i.d[e[0] + 5] = 0
    yield "xattr-name-nul", "xattr name contains a NUL byte", m(nul)

    def unsorted_x(i):
        # the root's inline entries: overlay.opaque (trusted) < root (user); make them equal-index
        ents, _ = i.xattrs(i.root)
        r = [e for e in ents if e[4] == b"root"][0]
        i.d[r[0] + 4:r[0] + 8] = b"aaaa"
        i.put("<B", r[0] + 1, 4)
    yield "xattr-unsorted", 'inline xattr "trusted.aaaa" after "trusted.overlay.opaque": expected names sorted', m(unsorted_x)
    yield "xattr-filter-hides", "xattr name filter 0xffffffff marks bit", m(lambda i: i.put("<I", ino(i, "/ext")["xoff"], 0xFFFFFFFF))

    def metacopy(i):
        e = i.xattr("/ext", "overlay.metacopy")
        i.d[e[0] + 4 + e[1] + 3] = 2
    yield "metacopy-bad-header", "trusted.overlay.metacopy value: expected empty or 36 bytes", m(metacopy)

    def redirect_rel(i):
        e = i.xattr("/ext", "overlay.redirect")
        i.d[e[0] + 4 + e[1]] = ord("x")
    yield "redirect-relative", "expected an absolute path", m(redirect_rel)

    def redirect_dotdot(i):
        e = i.xattr("/ext", "overlay.redirect")
        v = e[0] + 4 + e[1]
        i.d[v + 4:v + 8] = b"/../"
    yield "redirect-dotdot", 'contains a "." or ".." component', m(redirect_dotdot)
    yield "external-no-metacopy", "external (chunk-based) file without trusted.overlay.metacopy", m(lambda i: i.put("<H", ino(i, "/ext")["off"] + 2, 0))
    yield "external-huge", "chunks, composefs writes at most 1024", m(lambda i: i.put("<I", ino(i, "/ext")["off"] + 8, 0xFFFFFFFF) or i.put("<I", ino(i, "/ext")["off"] + 16, 0))
    yield "chunk-indexes", "chunk format 0x0021", m(lambda i: i.put("<I", ino(i, "/ext")["off"] + 16, 0x21))
    yield "chunk-dir", "only regular files may be chunk-based", m(lambda i: i.put("<H", ino(i, "/dir")["off"], 8))
    yield "inline-too-big", "at most 5000 bytes inline", m(lambda i: i.put("<I", ino(i, "/empty")["off"] + 8, 6000))
    yield "symlink-empty", "symlink target length 0", m(lambda i: i.put("<Q", ino(i, "/lnk")["off"] + 8, 0))

    def link_nul(i):
        x = ino(i, "/lnk")
        i.d[x["tail"] + 1] = 0
    yield "symlink-nul", "symlink target of 3 bytes contains a NUL byte", m(link_nul)
    yield "device-with-size", "block device with layout FLAT_PLAIN and size 7", m(lambda i: i.put("<I", ino(i, "/dev")["off"] + 8, 7))

    def sub_whiteout(i):
        x = ino(i, "/dir/aa")
        i.put("<H", x["off"] + 4, 0o20644)
        i.put("<B", i.dirent("/dir/aa")[3] + 10, 3)
    yield "whiteout-outside-root", "overlay whiteout (character device 0/0) that is not one", m(sub_whiteout)

    def opaque_elsewhere(i):
        e = i.xattr("/sub2", "overlay.overlay.opaque")
        # rename "overlay.overlay.opaque" to "overlay.opaque\0..." is not possible
        # in place; make the escaped name the unescaped one by index/suffix games:
        i.d[e[0] + 4:e[0] + 4 + 16] = b"overlay.opaque.."
    yield "overlay-unexpected-name", 'unexpected overlay xattr "trusted.overlay.opaque..opaque"', m(opaque_elsewhere)


def main():
    cfsroot, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        imgs = {n: build(cfsroot, d, os.path.join(tmp, n + ".img")) for n, d in VALID_DUMPS.items()}
    for n, data in imgs.items():
        with open(os.path.join(out, n + ".img"), "wb") as f:
            f.write(data)
    for name, err, fn in cases(imgs["valid-base"]):
        with open(os.path.join(out, name + ".img"), "wb") as f:
            f.write(fn())
        with open(os.path.join(out, name + ".img.err"), "w") as f:
            f.write(err + "\n")


if __name__ == "__main__":
    main()
