#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# make-sample-tree.py DIR: create a deterministic sample tree with every file
# type and the awkward cases cfsroot must carry into an image: inline and
# external files, empty files, hard links, symlinks (short and 4095 bytes),
# devices, fifos, sockets, xattrs (user., trusted., security.), names with
# every byte except '/' and NUL, odd modes, owners, timestamps with
# nanoseconds. Host only (tests and the README demo).
import os, socket, stat, sys

def mkfile(path, data, mode=0o644, uid=0, gid=0, mtime=(1700000000, 123456789)):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    os.lchown(path, uid, gid)
    os.utime(path, ns=(mtime[0] * 10**9 + mtime[1],) * 2, follow_symlinks=False)

def main(root):
    os.makedirs(root)
    os.chmod(root, 0o755)
    d = lambda *p: os.path.join(root, *p)
    os.makedirs(d("usr/bin")); os.makedirs(d("usr/lib/x")); os.makedirs(d("etc")); os.makedirs(d("empty"))
    os.makedirs(d("names"))
    # content: empty, tiny (inline), exactly 64/65 bytes (inline limit), block-sized, large
    mkfile(d("etc/empty"), b"")
    mkfile(d("etc/hostname"), b"cfsroot-test\n")
    mkfile(d("etc/inline64"), b"a" * 64)
    mkfile(d("etc/external65"), b"b" * 65)
    mkfile(d("usr/bin/tool"), bytes(range(256)) * 16 + b"x", mode=0o4755, uid=0, gid=50)
    mkfile(d("usr/lib/x/big"), (b"0123456789abcdef" * 65536 * 3)[:3 * 1024 * 1024 + 17], uid=1000, gid=1000,
           mtime=(-5, 999999999))
    mkfile(d("usr/lib/x/dup1"), b"same content " * 100)
    mkfile(d("usr/lib/x/dup2"), b"same content " * 100, mode=0o600, uid=70000, gid=70001,
           mtime=(4102444800, 1))
    # hard links (external and inline)
    mkfile(d("usr/bin/hl-a"), b"hard linked content " * 50, mode=0o755)
    os.link(d("usr/bin/hl-a"), d("usr/bin/hl-b"))
    os.link(d("usr/bin/hl-a"), d("etc/hl-c"))
    mkfile(d("etc/small-hl"), b"tiny\n")
    os.link(d("etc/small-hl"), d("etc/small-hl2"))
    # symlinks
    os.symlink("../usr/bin/tool", d("etc/tool-link"))
    os.symlink("t" * 4095, d("etc/long-link"))
    os.symlink("/dangling/target", d("dangling"))
    # special files
    os.mknod(d("etc/null"), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    os.mknod(d("etc/sda"), 0o660 | stat.S_IFBLK, os.makedev(8, 0))
    os.mkfifo(d("etc/fifo"), 0o600)
    s = socket.socket(socket.AF_UNIX); s.bind(d("etc/sock")); s.close()
    # xattrs
    os.setxattr(d("etc/hostname"), "user.note", b"hello=world")
    os.setxattr(d("etc/hostname"), "user.bin", bytes(range(256)))
    os.setxattr(d("usr/lib/x/big"), "trusted.test", b"T")
    os.setxattr(d("usr/bin/tool"), "security.capability",
                bytes.fromhex("0100000200200000000000000000000000000000"))
    os.setxattr(d("usr"), "user.dirattr", b"")
    os.setxattr(d("usr/bin/tool"), "trusted.overlay.fake", b"must be escaped")
    # names with every byte except '/' and NUL, spread over files of 1..255 bytes
    allbytes = bytes(b for b in range(1, 256) if b != ord("/"))
    for i in range(0, len(allbytes), 50):
        name = allbytes[i:i + 50]
        if name in (b".", b".."):
            continue
        mkfile(os.path.join(os.fsencode(d("names")), name), b"n%d" % i)
    mkfile(os.path.join(os.fsencode(d("names")), b"\xff" * 255), b"longest name")
    mkfile(os.path.join(os.fsencode(d("names")), b" leading space"), b"")
    mkfile(os.path.join(os.fsencode(d("names")), b"-"), b"dash")
    # a directory with many entries (multi-block dirents)
    os.makedirs(d("many"))
    for i in range(700):
        mkfile(d("many", "entry-%05d-%s" % (i, "x" * (i % 40))), b"%d\n" % i)
    # odd directory modes and times last (children change the parent mtime)
    os.chmod(d("empty"), 0o1777)
    for p in [d("empty"), d("names"), d("many"), d("usr/lib/x"), d("usr/lib"), d("usr/bin"), d("usr"), d("etc"), root]:
        os.utime(p, ns=(1600000000 * 10**9 + 42,) * 2)

if __name__ == "__main__":
    main(sys.argv[1])
