#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/mkimage-verity-source.guest.sh - guest part (Tier A VM):
# `cfsroot mkimage` takes the digest of a source file that has fs-verity with
# the composefs parameters (sha256, 4096-byte blocks, no salt) from the
# kernel's measurement instead of reading it, and only of those: a salted
# file, a 1 KiB-block file and a sha512 file are hashed, and every digest in
# the image equals the userspace `cfsroot digest`. With --store (ext4 with
# fs-verity, then a tmpfs without) the objects are copied and verified as
# before, a second run finds them all, and all images are byte-identical.
. /vm-lib.sh

SRC=/sysroot/src
# the files that count: fs-verity sha256/4096/no salt and more than 64 bytes
FAST="v-65 v-4096 v-4097 sub/v-4097-copy sub/v-big"
K=5
# every file with a digest (more than 64 bytes); 9 distinct contents
OBJECTS="$FAST s-salt b-1k s512 p-plain sub/p-big"
N_OBJ=9
N_FILES=10

for f in v-empty v-tiny $FAST; do
        verity_enable "$SRC/$f"
done
fsverity enable --hash-alg=sha256 --block-size=4096 --salt=00112233445566778899aabbccddeeff \
        "$SRC/s-salt" || fail "fsverity enable --salt"
fsverity enable --hash-alg=sha256 --block-size=1024 "$SRC/b-1k" ||
        fail "fsverity enable --block-size=1024 (Linux 6.3+ allows Merkle blocks smaller than the fs block)"
fsverity enable --hash-alg=sha512 --block-size=4096 "$SRC/s512" || fail "fsverity enable --hash-alg=sha512"
for f in v-empty v-tiny $FAST s-salt b-1k s512; do
        fsverity measure "$SRC/$f" >/dev/null || fail "$SRC/$f has no fs-verity"
done
for f in p-tiny p-plain sub/p-big; do
        if fsverity measure "$SRC/$f" >/dev/null 2>&1; then fail "$SRC/$f has fs-verity"; fi
done
ok "source tree: fs-verity on the v-*, s-salt, b-1k and s512 files, not on p-*"

# the measurements that must not be taken as composefs digests really differ
for f in s-salt b-1k; do
        m=$(verity_measure "$SRC/$f")
        d=$(cfsroot digest "$SRC/$f" | cut -d' ' -f1)
        [ "$m" != "$d" ] || fail "$f: the kernel's measurement $m is the composefs digest"
done
ok "the salted and the 1 KiB-block files measure differently from their composefs digest"

# the digest field of PATH (relative to the source) in dump file DUMP
dump_digest() {
        awk -v p="/$2" '$1 == p { print $NF }' "$1"
}

# every digest in IMAGE is the userspace hash of the source file
check_digests() {
        cfsroot dump "$1" >/tmp/dump || fail "cfsroot dump $1"
        for f in $OBJECTS; do
                want=$(cfsroot digest "$SRC/$f" | cut -d' ' -f1)
                got=$(dump_digest /tmp/dump "$f")
                [ "sha256:$got" = "$want" ] || fail "$1: /$f has digest '$got', cfsroot digest says $want"
        done
        for f in v-tiny p-tiny v-empty; do
                [ "$(dump_digest /tmp/dump "$f")" = - ] || fail "$1: /$f (inline or empty) has a digest"
        done
        ok "$1: every digest equals 'cfsroot digest' of its file ($N_FILES files)"
}

# the object of every file is in STORE, measures (fs-verity, with ARG verity)
# or hashes to its name, and has the file's content; exactly N_OBJ objects
check_store() {
        store=$1
        for f in $OBJECTS; do
                d=$(cfsroot digest "$SRC/$f" | cut -d' ' -f1)
                d=${d#sha256:}
                obj=$store/objects/$(echo "$d" | cut -c1-2)/$(echo "$d" | cut -c3-)
                [ -f "$obj" ] || fail "no object $obj for /$f"
                cmp "$obj" "$SRC/$f" || fail "$obj differs from $SRC/$f"
                if [ "$2" = verity ]; then
                        [ "$(verity_measure "$obj")" = "sha256:$d" ] ||
                                fail "$obj measures $(verity_measure "$obj"), not its name"
                else
                        [ "$(cfsroot digest "$obj" | cut -d' ' -f1)" = "sha256:$d" ] ||
                                fail "$obj does not hash to its name"
                fi
        done
        n=$(find "$store/objects" -type f | grep -vc '/\.staging-' || true)
        [ "$n" = "$N_OBJ" ] || fail "$store holds $n objects, expected $N_OBJ"
        ok "$store: $N_OBJ objects, each with its file's content, named by its digest ($2)"
}

# 1. hash only
expect_exit 0 cfsroot mkimage "$SRC" /tmp/hash.img
expect_output "$SRC: $K digests taken from fs-verity"
check_digests /tmp/hash.img
expect_exit 0 cfsroot mkimage --json "$SRC" /tmp/hash-json.img
expect_output "\"digests_from_verity\":$K"
cmp /tmp/hash.img /tmp/hash-json.img || fail "two hash-only images differ"

# 2. into an empty store on the ext4 with fs-verity, then again into the full store
STORE=/sysroot/store
expect_exit 0 cfsroot mkimage --store "$STORE" "$SRC" /tmp/store1.img
expect_output "$STORE: $N_OBJ objects added, 1 already present"
expect_output "$SRC: $K digests taken from fs-verity"
if grep -q "fs-verity is not available" /tmp/out; then fail "objects without fs-verity on the verity ext4"; fi
check_store "$STORE" verity
check_digests /tmp/store1.img
expect_exit 0 cfsroot mkimage --store "$STORE" "$SRC" /tmp/store2.img
expect_output "$STORE: 0 objects added, $N_FILES already present"
expect_output "$SRC: $K digests taken from fs-verity"
expect_exit 0 cfsroot mkimage --json --store "$STORE" "$SRC" /tmp/store3.img
expect_output "\"digests_from_verity\":$K,\"objects_added\":0,\"objects_existing\":$N_FILES,\"objects_without_verity\":0"
check_store "$STORE" verity

# 3. into a store without fs-verity (tmpfs): the copies are hashed again
NOV=/tmp/store-noverity
expect_exit 0 cfsroot mkimage --store "$NOV" "$SRC" /tmp/store-nov.img
expect_output "$NOV: $N_OBJ objects added, 1 already present"
expect_output "$SRC: $K digests taken from fs-verity"
expect_output "fs-verity is not available on this file system"
check_store "$NOV" hashed

for i in /tmp/hash-json.img /tmp/store1.img /tmp/store2.img /tmp/store3.img /tmp/store-nov.img; do
        cmp /tmp/hash.img "$i" || fail "/tmp/hash.img and $i differ"
done
ok "the hash-only image and every store image are byte-identical"
