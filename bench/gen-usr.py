#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""
gen-usr.py - deterministic synthetic /usr for the cfsroot benchmark (host only).

Models a merged-/usr distribution root ("/" with usr/ and bin -> usr/bin style
symlinks) as a sequence of packages: shared libraries, command-line tools with
man pages and translations, Python modules with __pycache__, headers, data
trees, Perl modules, icon themes, plus tzdata and terminfo. The same model can
be written as a composefs dump (--dump) and/or materialised as a real directory
tree with real file contents (--tree). Everything depends only on --seed and
the size options: the same arguments always give byte-identical output.

Shape (see bench/README.md for measured statistics):
  * directory fan-out like a distribution: big flat /usr/bin,
    /usr/lib/x86_64-linux-gnu and /usr/share/man/man1, thousands of small
    /usr/share/doc/<pkg> directories, deep Python and data trees;
  * regular files sized from per-type log-normal distributions (median a few
    KiB, heavy tail up to tens of MiB); empty files; files of 1..64 bytes are
    inline (what `cfsroot mkimage DIR` and mkcomposefs do with such files);
  * symlinks (.so chains, /usr/share/doc/<pkg> -> <other pkg>, alternatives),
    a few hard links (tzdata, versioned interpreters);
  * security.selinux on every entry (location-dependent labels, NUL-terminated
    like on a real system), security.capability on a few binaries, user.*
    xattrs on a few percent of files (shared and unique values);
  * setuid/setgid binaries and a few non-root owners.

External files in the dump get a digest derived from a hash of their content
key (the path, or a shared license text id), and the payload "ab/cdef..." made
from it. In the materialised tree a file's content is a 32-byte sha256 of its
content key followed by bytes from a seeded 64 MiB random pool at a key-derived
offset, so every file is distinct except the deliberately shared license texts
(/usr/share/doc/*/copyright), as on a real system.

Size options apply to the model, so a dump and a tree made with the same
options have the same entries and sizes:
  --entries N        stop after exactly N entries (dump lines, root included)
  --bytes B          stop before the regular files' total size exceeds B
  --max-file-size S  cap every file size at S bytes
"""

import argparse
import hashlib
import json
import math
import os
import random
import sys

# Bump whenever the output for the same arguments changes: bench/run.sh keys its cache on it.
GEN_VERSION = 3

ARCH_LIB = "usr/lib/x86_64-linux-gnu"
BASE_MTIME = 1700000000

SYL = (
    "ba be bi bo bu ca ce co cu da de di do du fa fe fi fo ga ge gi go gu ha he hi ho ja "
    "jo ka ke ki ko la le li lo lu ma me mi mo mu na ne ni no nu pa pe pi po pu qua ra re ri "
    "ro ru sa se si so su ta te ti to tu va ve vi vo wa we xa xe xi za ze zo bl br cr dr gl gr "
    "kr pl pr sk st tr x z k n r s t l m g d"
).split()

LANGS = (
    "af am ar as ast be bg bn bn_IN br bs ca ca@valencia cs cy da de dz el en_AU en_CA en_GB "
    "eo es et eu fa fi fr fur ga gd gl gu he hi hr hu hy ia id is it ja ka kk km kn ko ku ky "
    "lt lv mai mk ml mn mr ms my nb ne nl nn oc or pa pl ps pt pt_BR ro ru si sk sl sq sr "
    "sr@latin sv ta te tg th tr ug uk ur uz vi wa xh zh_CN zh_HK zh_TW"
).split()

ICON_SIZES = ("16x16", "22x22", "24x24", "32x32", "48x48", "64x64", "128x128", "256x256",
              "512x512", "scalable", "symbolic")

MIME_TYPES = (b"application/x-sharedlib", b"application/x-executable", b"text/plain",
              b"text/x-python", b"application/gzip", b"image/png", b"image/svg+xml",
              b"text/x-c")

# Shared license texts: (key, size). About a third of the copyright files are one of these.
LICENSES = (("GPL-2", 18092), ("GPL-3", 35149), ("LGPL-2.1", 26530), ("Apache-2.0", 11358),
            ("MIT", 1077), ("BSD-3-clause", 1499))

POOL_SIZE = 64 << 20


def selinux(label):
    return ("security.selinux", b"system_u:object_r:" + label.encode() + b":s0\x00")


XA_USR = selinux("usr_t")
XA_BIN = selinux("bin_t")
XA_LIB = selinux("lib_t")
XA_MAN = selinux("man_t")
XA_LOCALE = selinux("locale_t")
XA_LIBEXEC = selinux("bin_t")


def label_for(path):
    if path.startswith(("usr/bin/", "usr/sbin/", "usr/libexec/")):
        return XA_BIN
    if path.startswith(("usr/lib/", "usr/lib64/")):
        return XA_LIB
    if path.startswith("usr/share/man/"):
        return XA_MAN
    if path.startswith(("usr/share/locale/", "usr/share/zoneinfo/")):
        return XA_LOCALE
    return XA_USR


class Full(Exception):
    pass


class Node:
    __slots__ = ("path", "name", "kind", "mode", "uid", "gid", "size", "mtime", "nsec",
                 "payload", "key", "xattrs", "children", "nlink", "link")

    def __init__(self, path, name, kind, mode):
        self.path = path      # relative to the root, "" for the root
        self.name = name
        self.kind = kind      # 'd' dir, 'f' regular, 'l' symlink, 'h' hard link
        self.mode = mode      # permission bits only
        self.uid = self.gid = 0
        self.size = 0
        self.mtime = BASE_MTIME
        self.nsec = 0
        self.payload = None   # symlink target
        self.key = None       # content key of a regular file
        self.xattrs = ()
        self.children = {} if kind == "d" else None
        self.nlink = 1
        self.link = None      # hard link: target Node


def h64(s):
    return int.from_bytes(hashlib.sha256(s.encode()).digest()[:8], "little")


class Model:
    def __init__(self, seed, entries, byte_budget, max_file_size):
        self.rng = random.Random(seed)
        self.entries = entries
        self.byte_budget = byte_budget
        self.max_file_size = max_file_size
        self.nodes = []
        self.dirs = {}
        self.file_bytes = 0
        self.pkg_time = BASE_MTIME
        self.pkg_names = set()
        self.doc_dirs = []
        root = Node("", "", "d", 0o755)
        root.xattrs = (XA_USR,)
        self._append(root)
        self.dirs[""] = root

    # -- primitives -------------------------------------------------------------------
    def _append(self, node):
        if self.entries is not None and len(self.nodes) >= self.entries:
            raise Full()
        self.nodes.append(node)

    def mkdir_p(self, path):
        d = self.dirs.get(path)
        if d is not None:
            return d
        parent, _, name = path.rpartition("/")
        p = self.mkdir_p(parent)
        # a file took the name: use another one (callers address the directory by @path)
        name = self._unique(p, name)
        real = p.path + "/" + name if p.path else name
        d = Node(real, name, "d", 0o755)
        d.mtime = self.pkg_time
        d.xattrs = (label_for(real + "/"),)
        self._append(d)
        p.children[name] = d
        self.dirs[path] = d
        return d

    def _unique(self, parent, name):
        if name not in parent.children:
            return name
        stem, dot, ext = name.partition(".")
        i = 2
        while True:
            cand = "%s-%d%s%s" % (stem, i, dot, ext)
            if cand not in parent.children:
                return cand
            i += 1

    def _new(self, dirpath, name, kind, mode):
        parent = self.mkdir_p(dirpath)
        name = self._unique(parent, name)
        path = parent.path + "/" + name if parent.path else name
        n = Node(path, name, kind, mode)
        n.mtime = self.pkg_time
        if self.rng.random() < 0.1:   # files not touched by the package's reproducible build
            n.mtime = BASE_MTIME + self.rng.randrange(40_000_000)
            n.nsec = self.rng.randrange(1_000_000_000)
        n.xattrs = (label_for(path),)
        return parent, n

    def file(self, dirpath, name, size, mode=0o644, key=None):
        parent, n = self._new(dirpath, name, "f", mode)
        if self.max_file_size is not None:
            size = min(size, self.max_file_size)
        if self.byte_budget is not None and self.file_bytes + size > self.byte_budget:
            raise Full()
        n.size = size
        n.key = key or n.path
        r = self.rng.random()
        if r < 0.03:
            n.xattrs += (("user.mime_type", MIME_TYPES[h64(n.path) % len(MIME_TYPES)]),)
        elif r < 0.04:
            n.xattrs += (("user.cfsbench.id", b"%016x" % h64(n.path)),)
        self._append(n)
        parent.children[n.name] = n
        self.file_bytes += size
        return n

    def symlink(self, dirpath, name, target):
        parent, n = self._new(dirpath, name, "l", 0o777)
        n.payload = target
        n.size = len(target.encode())
        self._append(n)
        parent.children[n.name] = n
        return n

    def hardlink(self, dirpath, name, target):
        parent, n = self._new(dirpath, name, "h", target.mode)
        n.link = target
        self._append(n)
        parent.children[n.name] = n
        target.nlink += 1
        return n

    # -- random helpers ---------------------------------------------------------------
    def size(self, median, sigma, lo=0, hi=80 << 20):
        v = int(self.rng.lognormvariate(math.log(median), sigma))
        return max(lo, min(v, hi))

    def count(self, median, sigma, hi):
        return max(1, min(hi, int(self.rng.lognormvariate(math.log(median), sigma))))

    def word(self, lo=2, hi=4):
        w = "".join(self.rng.choice(SYL) for _ in range(self.rng.randint(lo, hi) + 1))
        r = self.rng.random()
        if r < 0.45:   # compound names: lib names, python modules, icons, man pages
            w += self.rng.choice("-_") + "".join(
                self.rng.choice(SYL) for _ in range(self.rng.randint(1, 3)))
        return w

    def pkgname(self):
        while True:
            n = self.word()
            r = self.rng.random()
            if r < 0.35:
                n += "-" + self.word(1, 3)
            if self.rng.random() < 0.25:
                n += str(self.rng.randint(0, 12))
            if n not in self.pkg_names:
                self.pkg_names.add(n)
                return n

    # -- packages ---------------------------------------------------------------------
    def doc(self, pkg):
        d = "usr/share/doc/" + pkg
        if self.doc_dirs and self.rng.random() < 0.1:
            # Debian: doc dir of a -dev/-data package is a symlink to the main package's
            self.symlink("usr/share/doc", pkg, self.rng.choice(self.doc_dirs[-50:]))
            return
        self.mkdir_p(d)
        self.doc_dirs.append(pkg)
        if self.rng.random() < 0.35:
            lic, size = LICENSES[self.rng.randrange(len(LICENSES))]
            self.file(d, "copyright", size, key="license:" + lic)
        else:
            self.file(d, "copyright", self.size(5000, 1.0, 200))
        if self.rng.random() < 0.8:
            self.file(d, "changelog.Debian.gz", self.size(4000, 1.2, 100))
        if self.rng.random() < 0.2:
            self.file(d, "changelog.gz", self.size(20000, 1.3, 100))
        if self.rng.random() < 0.15:
            self.file(d, self.rng.choice(("README.md", "README", "NEWS.gz", "README.Debian",
                                          "TODO", "AUTHORS")), self.size(3000, 1.0, 0))
        if self.rng.random() < 0.03:
            ex = d + "/examples"
            for _ in range(self.count(5, 1.0, 200)):
                self.file(ex, self.word() + self.rng.choice((".c", ".py", ".sh", ".conf")),
                          self.size(3000, 1.2, 0))

    def pkg_lib(self, pkg):
        base = pkg.replace("-", "")
        major = self.rng.randint(0, 9)
        real = "lib%s.so.%d.%d.%d" % (base, major, self.rng.randint(0, 40),
                                       self.rng.randint(0, 20))
        for _ in range(self.count(1, 0.6, 8)):
            self.file(ARCH_LIB, real, self.size(120000, 1.5, 2000))
            self.symlink(ARCH_LIB, "lib%s.so.%d" % (base, major), real)
            real = "lib%s-%s.so.%d.0.0" % (base, self.word(1, 2), major)
        if self.rng.random() < 0.08:
            plug = "%s/%s/plugins" % (ARCH_LIB, base)
            for _ in range(self.count(8, 1.0, 300)):
                self.file(plug, "lib%s.so" % self.word(), self.size(60000, 1.2, 1000))
        self.doc(pkg)

    def pkg_dev(self, pkg):
        base = pkg.replace("-", "")
        inc = "usr/include/" + base if self.rng.random() < 0.7 else "usr/include"
        for _ in range(self.count(12, 1.2, 3000)):
            sub = inc
            if self.rng.random() < 0.2:
                sub = inc + "/" + self.word(1, 3)
            self.file(sub, self.word(1, 4) + ".h", self.size(5000, 1.2, 0))
        self.symlink(ARCH_LIB, "lib%s.so" % base, "lib%s.so.%d" % (base, self.rng.randint(0, 9)))
        if self.rng.random() < 0.5:
            self.file(ARCH_LIB, "lib%s.a" % base, self.size(200000, 1.5, 1000))
        self.file(ARCH_LIB + "/pkgconfig", base + ".pc", self.size(350, 0.3, 65))
        self.doc(pkg)

    def pkg_tool(self, pkg):
        bindir = "usr/sbin" if self.rng.random() < 0.12 else "usr/bin"
        names = [pkg] + [pkg + "-" + self.word(1, 2) for _ in range(self.count(1, 0.9, 40) - 1)]
        for name in names:
            mode = 0o755
            r = self.rng.random()
            if r < 0.005:
                mode = 0o4755
            elif r < 0.008:
                mode = 0o2755
            if self.rng.random() < 0.15:
                b = self.file(bindir, name, self.size(2000, 1.0, 65), mode)   # script
            else:
                b = self.file(bindir, name, self.size(50000, 1.3, 1000), mode)
            if mode == 0o2755:
                b.gid = self.rng.choice((5, 42, 110))
            if self.rng.random() < 0.003:
                caps = bytes.fromhex("01000002") + (1 << 13).to_bytes(4, "little") + bytes(12)
                b.xattrs += (("security.capability", caps),)
            if self.rng.random() < 0.01:
                b.xattrs = (selinux(name.replace("-", "_")[:20] + "_exec_t"),) + b.xattrs[1:]
            if self.rng.random() < 0.004:
                self.hardlink(bindir, name + "%d.%d" % (self.rng.randint(1, 5),
                                                        self.rng.randint(0, 12)), b)
            elif self.rng.random() < 0.1:
                self.symlink(bindir, name + "-" + self.word(1, 1), name)
            sec = "8" if bindir == "usr/sbin" else "1"
            if self.rng.random() < 0.85:
                self.file("usr/share/man/man" + sec, name + "." + sec + ".gz",
                          self.size(2500, 0.9, 100))
            if self.rng.random() < 0.1:
                self.file("usr/share/bash-completion/completions", name, self.size(3000, 1.0, 65))
        if self.rng.random() < 0.25:
            langs = self.rng.sample(LANGS, self.rng.randint(5, len(LANGS)))
            mo = self.size(15000, 1.0, 500)
            for lang in langs:
                self.file("usr/share/locale/%s/LC_MESSAGES" % lang, pkg + ".mo",
                          max(65, int(mo * self.rng.uniform(0.7, 1.3))))
                if self.rng.random() < 0.05:
                    self.file("usr/share/man/%s/man1" % lang, pkg + ".1.gz",
                              self.size(2500, 0.9, 100))
        if self.rng.random() < 0.1:
            self.file("usr/share/applications", pkg + ".desktop", self.size(4000, 0.8, 200))
        if self.rng.random() < 0.06:
            libexec = "usr/libexec/" + pkg
            for _ in range(self.count(3, 1.0, 50)):
                self.file(libexec, self.word(), self.size(30000, 1.3, 65), 0o755)
        self.doc(pkg)

    def py_dir(self, d, depth):
        mods = [self.word(1, 4) for _ in range(self.count(6, 1.0, 200))]
        self.file(d, "__init__.py", 0 if self.rng.random() < 0.5 else self.size(400, 1.5, 1))
        for m in mods:
            self.file(d, m + ".py", self.size(6000, 1.3, 1))
        cache = d + "/__pycache__"
        for m in ["__init__"] + mods:
            self.file(cache, m + ".cpython-311.pyc", self.size(7000, 1.3, 100))
        if depth < 4:
            for _ in range(int(self.rng.expovariate(1.2))):
                self.py_dir(d + "/" + self.word(1, 3), depth + 1)

    def pkg_python(self, pkg):
        mod = pkg.replace("-", "_")
        root = "usr/lib/python3/dist-packages"
        self.py_dir(root + "/" + mod, 0)
        info = "%s/%s-%d.%d.%d.egg-info" % (root, mod, self.rng.randint(0, 9),
                                             self.rng.randint(0, 30), self.rng.randint(0, 9))
        self.file(info, "PKG-INFO", self.size(3000, 1.0, 200))
        self.file(info, "top_level.txt", len(mod) + 1)
        self.file(info, "dependency_links.txt", 1)
        if self.rng.random() < 0.4:
            self.file(info, "requires.txt", self.size(80, 0.8, 5))
        self.doc("python3-" + pkg)

    def pkg_data(self, pkg):
        top = "usr/share/" + pkg
        dirs = [top]
        for _ in range(self.count(15, 1.6, 20000)):
            if self.rng.random() < 0.12:
                dirs.append(self.rng.choice(dirs) + "/" + self.word(1, 3))
            d = self.rng.choice(dirs[-20:])
            ext = self.rng.choice((".xml", ".json", ".txt", ".dat", ".png", ".ui", ".css", ""))
            if self.rng.random() < 0.04:
                self.symlink(d, self.word(1, 4) + ext, "../" * (d.count("/") - 1) +
                             "javascript/" + self.word(1, 3) + ".js")
                continue
            self.file(d, self.word(1, 4) + ext, self.size(8000, 1.8, 0))
        self.doc(pkg)

    def pkg_perl(self, pkg):
        top = "usr/share/perl5/" + self.word(1, 3).capitalize()
        for _ in range(self.count(5, 1.2, 500)):
            sub = top if self.rng.random() < 0.6 else top + "/" + self.word(1, 3).capitalize()
            self.file(sub, self.word(1, 3).capitalize() + ".pm", self.size(8000, 1.2, 100))
        if self.rng.random() < 0.8:
            self.file("usr/share/man/man3", top[15:].replace("/", "::") + ".3pm.gz",
                      self.size(3000, 1.0, 100))
        self.doc("lib" + pkg + "-perl")

    def pkg_icons(self, pkg):
        theme = "usr/share/icons/" + pkg
        ctxs = ["apps", "actions", "devices", "mimetypes", "places", "status"]
        names = [self.word(2, 4) + "-" + self.word(1, 3) for _ in range(self.count(60, 1.0, 800))]
        for sz in ICON_SIZES[:self.rng.randint(3, len(ICON_SIZES))]:
            for name in names:
                ext = ".svg" if sz in ("scalable", "symbolic") else ".png"
                ctx = ctxs[h64(name) % len(ctxs)]
                if self.rng.random() < 0.2:
                    self.symlink("%s/%s/%s" % (theme, sz, ctx), name + ext,
                                 self.rng.choice(names) + ext)
                    continue
                self.file("%s/%s/%s" % (theme, sz, ctx), name + ext,
                          self.size(8000 if ext == ".svg" else 4000, 1.0, 100))
        self.file(theme, "index.theme", self.size(6000, 0.5, 500))
        self.doc(pkg + "-icon-theme")

    def pkg_tzdata(self):
        zi = "usr/share/zoneinfo"
        zones = []
        for region in ("Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia",
                       "Europe", "Indian", "Pacific", "Etc"):
            for _ in range(self.rng.randint(10, 140)):
                zones.append(self.file(zi + "/" + region, self.word(2, 4).capitalize(),
                                       self.size(1500, 0.5, 114)))
        # the posix/ copy of the zones: hard links, as tzdata ships them on some systems
        for z in zones[:200]:
            self.hardlink(zi + "/posix/" + z.path.split("/")[3], z.name, z)
        for z in zones[200:]:
            self.symlink(zi + "/posix/" + z.path.split("/")[3], z.name,
                         "../../" + z.path.split("/", 3)[3])
        self.file(zi, "zone.tab", 19000)
        self.file(zi, "tzdata.zi", 110000)
        self.doc("tzdata")

    def pkg_terminfo(self):
        for _ in range(2500):
            name = self.word(1, 4) + self.rng.choice(("", "-color", "-256color", "-m", "+pc"))
            self.file("usr/share/terminfo/" + name[0], name, self.size(1800, 0.6, 65))
        self.doc("ncurses-term")

    def pkg_kernel(self):
        """/usr/lib/modules/<version>/kernel/...: a deep tree of ~4500 compressed modules."""
        top = "usr/lib/modules/6.1.0-%d-amd64" % self.rng.randint(10, 30)
        subsystems = (("drivers", 14), ("net", 5), ("fs", 3), ("sound", 3), ("crypto", 1),
                      ("lib", 1), ("arch/x86", 1), ("virt", 1), ("security", 1), ("mm", 1))
        for sub, weight in subsystems:
            dirs = [top + "/kernel/" + sub]
            for _ in range(weight * 150):
                if self.rng.random() < 0.15:
                    parent = self.rng.choice(dirs)
                    if parent.count("/") < 9:
                        dirs.append(parent + "/" + self.word(1, 2))
                d = self.rng.choice(dirs[-12:])
                self.file(d, self.word(1, 3).replace("-", "_") + ".ko.xz",
                          self.size(14000, 1.0, 1200))
        for name in ("modules.dep", "modules.alias", "modules.symbols", "modules.builtin",
                     "modules.order", "modules.dep.bin", "modules.alias.bin"):
            self.file(top, name, self.size(300000, 0.8, 1000))
        self.doc("linux-image-amd64")

    def skeleton(self):
        for d in ("usr/bin", "usr/sbin", ARCH_LIB, "usr/libexec", "usr/include", "usr/share/doc",
                  "usr/share/man/man1", "usr/share/man/man8", "usr/share/locale",
                  "usr/local/bin", "usr/local/lib", "usr/local/share", "usr/lib64", "usr/games"):
            self.mkdir_p(d)
        for name, target in (("bin", "usr/bin"), ("lib", "usr/lib"), ("lib64", "usr/lib64"),
                             ("sbin", "usr/sbin")):
            self.symlink("", name, target)
        self.symlink("usr/lib64", "ld-linux-x86-64.so.2",
                     "../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
        self.file(ARCH_LIB, "ld-linux-x86-64.so.2", 210000, 0o755)
        self.file(ARCH_LIB, "libc.so.6", 1922136, 0o755)
        self.file("usr/share/doc/weird", "Read Me \u00e9t\u00e9.txt", 1200)  # escaping
        self.file("usr/share/doc/weird", "tab\there", 300)

    def generate(self):
        kinds = ((self.pkg_lib, 28), (self.pkg_tool, 25), (self.pkg_python, 13),
                 (self.pkg_data, 12), (self.pkg_dev, 12), (self.pkg_perl, 6),
                 (self.pkg_icons, 1))
        funcs = [k for k, _ in kinds]
        weights = [w for _, w in kinds]
        try:
            self.skeleton()
            self.pkg_tzdata()
            self.pkg_terminfo()
            self.pkg_kernel()
            while True:
                if self.entries is None and self.byte_budget is None:
                    raise SystemExit("gen-usr.py: need --entries or --bytes")
                self.pkg_time = BASE_MTIME + self.rng.randrange(60_000_000)
                f = self.rng.choices(funcs, weights)[0]
                f(self.pkgname())
        except Full:
            pass
        self.fix_nlink()

    def fix_nlink(self):
        for n in self.nodes:
            if n.kind == "d":
                n.nlink = 2 + sum(1 for c in n.children.values() if c.kind == "d")

    def walk(self):
        """Nodes in dump order: depth first, children sorted by name bytes."""
        stack = [self.nodes[0]]
        while stack:
            n = stack.pop()
            yield n
            if n.kind == "d":
                stack.extend(sorted(n.children.values(), key=lambda c: c.name.encode(),
                                    reverse=True))


# -- content ------------------------------------------------------------------------------
def digest_of(key):
    return hashlib.sha256(b"cfsbench-digest:" + key.encode()).hexdigest()


def inline_content(key, size):
    base = hashlib.sha256(key.encode()).hexdigest().encode()
    return (base * (size // 64 + 1))[:size - 1] + b"\n"


_ESC = {}
for _b in range(256):
    if _b == 0x5C:
        _ESC[_b] = "\\\\"
    elif _b == 0x0A:
        _ESC[_b] = "\\n"
    elif _b == 0x0D:
        _ESC[_b] = "\\r"
    elif _b == 0x09:
        _ESC[_b] = "\\t"
    elif 0x21 <= _b <= 0x7E:
        _ESC[_b] = chr(_b)
    else:
        _ESC[_b] = "\\x%02x" % _b


def esc(data, xattr=False, field=False):
    if isinstance(data, str):
        data = data.encode()
    if field and data == b"-":
        return "\\x2d"
    s = "".join(_ESC[b] for b in data)
    if xattr:
        s = s.replace("=", "\\x3d")
    return s


def dump_line(n):
    t = n.link if n.kind == "h" else n
    path = esc("/" + n.path)
    mode = {"d": 0o40000, "f": 0o100000, "l": 0o120000}[t.kind] | t.mode
    mode = ("@%o" if n.kind == "h" else "%o") % mode
    payload = content = digest = "-"
    if n.kind == "h":
        payload = esc("/" + t.path, field=True)
    elif t.kind == "l":
        payload = esc(t.payload, field=True)
    elif t.kind == "f" and 0 < t.size <= 64:
        content = esc(inline_content(t.key, t.size), field=True)
    elif t.kind == "f" and t.size > 64:
        digest = digest_of(t.key)
        payload = digest[:2] + "/" + digest[2:]
    size = t.size if t.kind != "d" else 0
    xattrs = "".join(" %s=%s" % (esc(k, True), esc(v, True)) for k, v in t.xattrs)
    return "%s %d %s %d %d %d 0 %d.%d %s %s %s%s\n" % (
        path, size, mode, t.nlink, t.uid, t.gid, t.mtime, t.nsec, payload, content, digest,
        xattrs)


def write_dump(model, out):
    buf = []
    for n in model.walk():
        buf.append(dump_line(n))
        if len(buf) >= 4096:
            out.write("".join(buf))
            buf.clear()
    out.write("".join(buf))


class Pool:
    def __init__(self, seed):
        self.data = memoryview(random.Random(seed * 7919 + 17).randbytes(POOL_SIZE))

    def chunks(self, key, size):
        head = hashlib.sha256(key.encode()).digest()
        yield head[:size]
        left = size - len(head)
        off = int.from_bytes(head[:8], "little") % POOL_SIZE
        while left > 0:
            n = min(left, POOL_SIZE - off, 8 << 20)
            yield self.data[off:off + n]
            left -= n
            off = (off + n) % POOL_SIZE


def materialise(model, top, seed):
    """Write the model as a real tree at @top (created; must not exist)."""
    pool = Pool(seed)
    os.umask(0)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW
    for n in model.nodes:
        p = os.path.join(top, n.path) if n.path else top
        if n.kind == "d":
            os.mkdir(p, 0o755)
        elif n.kind == "f":
            fd = os.open(p, flags, 0o644)
            try:
                if 0 < n.size <= 64:
                    os.write(fd, inline_content(n.key, n.size))
                elif n.size:
                    for c in pool.chunks(n.key, n.size):
                        os.write(fd, c)
            finally:
                os.close(fd)
        elif n.kind == "l":
            os.symlink(n.payload, p)
        else:
            os.link(os.path.join(top, n.link.path), p, follow_symlinks=False)
            continue
        if n.uid or n.gid:
            os.chown(p, n.uid, n.gid, follow_symlinks=False)
        if n.kind != "l" and n.mode != 0o644:
            os.chmod(p, n.mode)
        for k, v in n.xattrs:
            os.setxattr(p, k, v, follow_symlinks=False)
    for n in model.nodes:   # after all entries exist: creating children changes a dir's mtime
        if n.kind != "h":
            p = os.path.join(top, n.path) if n.path else top
            t = n.mtime * 1_000_000_000 + n.nsec
            os.utime(p, ns=(t, t), follow_symlinks=False)


def stats_dict(model):
    """Figures bench/run.sh needs: entry counts and the bytes a tree scan must hash."""
    d = {"generator_version": GEN_VERSION, "entries": len(model.nodes), "dirs": 0, "files": 0,
         "symlinks": 0, "hardlinks": 0, "external_files": 0, "external_bytes": 0,
         "inline_files": 0, "empty_files": 0, "file_bytes": model.file_bytes}
    for n in model.nodes:
        if n.kind == "d":
            d["dirs"] += 1
        elif n.kind == "l":
            d["symlinks"] += 1
        elif n.kind == "h":
            d["hardlinks"] += 1
        else:
            d["files"] += 1
            if n.size == 0:
                d["empty_files"] += 1
            elif n.size <= 64:
                d["inline_files"] += 1
            else:
                d["external_files"] += 1
                d["external_bytes"] += n.size
    depths = [n.path.count("/") + 1 for n in model.nodes[1:]]
    names = [len(n.name.encode()) for n in model.nodes[1:]]
    d["mean_depth"] = round(sum(depths) / max(1, len(depths)), 2)
    d["max_depth"] = max(depths, default=0)
    d["mean_name_len"] = round(sum(names) / max(1, len(names)), 2)
    d["max_fanout"] = max((len(n.children) for n in model.nodes if n.kind == "d"), default=0)
    return d


def stats(model):
    kinds = {"d": 0, "f": 0, "l": 0, "h": 0}
    inline = empty = 0
    fanout = 0
    xa = set()
    sizes = []
    for n in model.nodes:
        kinds[n.kind] += 1
        if n.kind == "f":
            if n.size == 0:
                empty += 1
            elif n.size <= 64:
                inline += 1
            else:
                sizes.append(n.size)
        if n.kind == "d":
            fanout = max(fanout, len(n.children))
        for x in n.xattrs:
            xa.add(x)
    sizes.sort()
    total = model.file_bytes
    med = sizes[len(sizes) // 2] if sizes else 0
    return ("entries %d: dirs %d, files %d (external %d, inline %d, empty %d), symlinks %d, "
            "hard links %d; file bytes %d (external median %d, mean %d); max fan-out %d; "
            "distinct xattrs %d" % (len(model.nodes), kinds["d"], kinds["f"], len(sizes), inline,
                                    empty, kinds["l"], kinds["h"], total, med,
                                    total // max(1, len(sizes)), fanout, len(xa)))


def parse_bytes(s):
    mult = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    s = s.strip().upper().rstrip("B").rstrip("I")
    unit = s[-1] if s and s[-1] in mult else ""
    num = s[:-1] if unit else s
    return int(float(num) * mult[unit])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", type=int, help="number of entries (dump lines)")
    ap.add_argument("--bytes", type=parse_bytes, help="total regular-file bytes (e.g. 2G)")
    ap.add_argument("--max-file-size", type=parse_bytes, help="cap on every file size")
    ap.add_argument("--seed", type=int, default=1, help="PRNG seed (default 1)")
    ap.add_argument("--dump", help="write the composefs dump here ('-' = stdout)")
    ap.add_argument("--tree", help="materialise the tree in this new directory")
    ap.add_argument("--stats", action="store_true", help="print statistics on stderr")
    ap.add_argument("--stats-json", help="write statistics as JSON to this file")
    ap.add_argument("--version", action="version", version="gen-usr %d" % GEN_VERSION)
    a = ap.parse_args()
    if a.entries is None and a.bytes is None:
        ap.error("give --entries and/or --bytes")
    if a.entries is not None and a.entries < 1:
        ap.error("--entries must be >= 1")

    model = Model(a.seed, a.entries, a.bytes, a.max_file_size)
    model.generate()
    if a.stats:
        print("gen-usr: " + stats(model), file=sys.stderr)
    if a.stats_json:
        with open(a.stats_json + ".tmp", "w") as f:
            json.dump(stats_dict(model), f, indent=1, sort_keys=True)
            f.write("\n")
        os.replace(a.stats_json + ".tmp", a.stats_json)
    if a.dump == "-":
        write_dump(model, sys.stdout)
    elif a.dump:
        tmp = a.dump + ".tmp"
        with open(tmp, "w", encoding="ascii", newline="\n") as f:
            write_dump(model, f)
        os.replace(tmp, a.dump)
    if a.tree:
        materialise(model, a.tree, a.seed)


if __name__ == "__main__":
    main()
