#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/tpm/blobtool.py - take sealed blobs (format in lib/tpm-policy.h) apart for
# the swtpm tests (run.sh, authorize.sh), written from the format description,
# not from lib/tpm-policy.c. Host only.
#   blobtool.py field BLOB N                  print "OFFSET LENGTH" of field N's bytes
#                                             (0 policy, 1 public, 2 private, 3 key,
#                                             4 creation data, 5 creation ticket)
#   blobtool.py strip-creation SRC DST        DST = SRC without its creation record
#   blobtool.py replace-field SRC DST N OTHER DST = SRC with field N taken from OTHER
import struct
import sys


def parse(b):
    version, flags, mask = struct.unpack_from("<H", b, 6)[0], struct.unpack_from("<H", b, 10)[0], \
        struct.unpack_from("<I", b, 12)[0]
    off = 16 + (32 * bin(mask).count("1") if version == 1 else 0)
    head = b[:off]
    fields = []
    for _ in range(6 if flags & 1 else 4):
        n = struct.unpack_from("<I", b, off)[0]
        fields.append((off + 4, b[off + 4:off + 4 + n]))
        off += 4 + n
    assert off == len(b), "trailing bytes"
    return head, fields


def build(head, fields):
    return head + b"".join(struct.pack("<I", len(f)) + f for f in fields)


cmd = sys.argv[1]
src = open(sys.argv[2], "rb").read()
head, fields = parse(src)
if cmd == "field":
    off, data = fields[int(sys.argv[3])]
    print(off, len(data))
elif cmd == "strip-creation":
    head = bytearray(head)
    head[10] &= 0xFE
    open(sys.argv[3], "wb").write(build(bytes(head), [f for _, f in fields[:4]]))
elif cmd == "replace-field":
    n = int(sys.argv[4])
    _, other = parse(open(sys.argv[5], "rb").read())
    data = [f for _, f in fields]
    data[n] = other[n][1]
    open(sys.argv[3], "wb").write(build(head, data))
else:
    sys.exit("usage: see tests/tpm/blobtool.py")
