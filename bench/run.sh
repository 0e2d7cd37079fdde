#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bench/run.sh - the cfsroot performance benchmark (host only). A benchmark, not a
# test: it is not registered with `meson test` and never fails because a figure
# is slow; it prints a table and PASS/MISS against the targets of issue 3:
#   * `cfsroot mkimage --from-dump` of a 1M-entry dump in a few seconds (<= 5 s
#     here) with peak RSS under 500 bytes per entry;
#   * `cfsroot mkimage DIR --store` hashing within 1.5x of the machine's sha256
#     limit on all cores (openssl speed -multi, 16 KiB blocks, measured in the
#     same run; fs-verity hashes each byte once plus ~1/128 for the Merkle tree),
#     judged into an empty store and into a store holding every object;
#     both on tree-heavy (a distribution-like /usr: 122k files, median 6.5 KB) and
#     on tree-bulk (the same bytes in 24 large files: what hashing alone costs),
#     and beside `openssl sha256` run over the same files on all cores (what
#     plain sha256 of that tree costs once every file is opened and read);
#   * images no larger than composefs 1.0's mkcomposefs makes (byte-identical for
#     dumps).
# Debian's mkfs.erofs and, when it can be fetched, upstream mkcomposefs run on the
# same inputs as references.
#
# Inputs come from bench/gen-usr.py (seeded, deterministic) and are cached under
# ${CFSROOT_CACHE:-$HOME/.cache/cfsroot}/bench keyed by generator version, the
# generator's own hash and the parameters. cfsroot is built in build-bench
# (buildtype release) when needed; missing Debian packages are installed.
#
# Usage: bench/run.sh [--repeat N] [--only dump,tree,heavy,bulk] [--heavy-bytes SIZE]
#                     [--no-reference] [--keep]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
cache=${CFSROOT_CACHE:-$HOME/.cache/cfsroot}/bench
builddir=${CFSROOT_BENCH_BUILD:-$top/build-bench}
repeat=3
only="dump,tree,heavy,bulk"
heavy_bytes=3G
reference=1
keep=0
seed=1

usage() {
        sed -n 's/^# Usage: //p; s/^#  \{19\}/                     /p' "$0" | head -2
}

while [ $# -gt 0 ]; do
        case "$1" in
        --repeat) repeat=$2; shift 2 ;;
        --only) only=$2; shift 2 ;;
        --heavy-bytes) heavy_bytes=$2; shift 2 ;;
        --no-reference) reference=0; shift ;;
        --keep) keep=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
        esac
done
case "$repeat" in '' | *[!0-9]* | 0) echo "run.sh: --repeat needs a positive number" >&2; exit 2 ;; esac
want() { case ",$only," in *",$1,"*) return 0 ;; esac; return 1; }

log() { echo "==> $*" >&2; }

# ---------------------------------------------------------------- dependencies
deps() {
        local pkgs=(gcc meson ninja-build pkg-config libfsverity-dev libssl-dev libxxhash-dev
                libsystemd-dev python3 time openssl erofs-utils apt dpkg)
        local missing=() p
        for p in "${pkgs[@]}"; do
                dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
                        missing+=("$p")
        done
        [ ${#missing[@]} -eq 0 ] && return 0
        log "installing: ${missing[*]}"
        if [ "$(id -u)" -ne 0 ]; then
                echo "run.sh: need root to install ${missing[*]}" >&2
                exit 1
        fi
        DEBIAN_FRONTEND=noninteractive apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

build() {
        if [ ! -f "$builddir/build.ninja" ]; then
                log "configuring $builddir (release)"
                meson setup "$builddir" "$top" --buildtype release -Dtests=disabled >/dev/null
        fi
        meson compile -C "$builddir" -j2 tools/cfsroot >/dev/null
        cfsroot=$builddir/tools/cfsroot
}

# Upstream mkcomposefs (composefs 1.0.x) from Debian, fetched with a private apt
# configuration into the cache: the host's apt never sees the newer suites. The
# binary needs a newer glibc than bookworm's, so it runs through the glibc
# loader of the same download when the host's cannot run it.
mkcomposefs_setup() {
        mkc=()
        if [ -n "${CFSROOT_MKCOMPOSEFS:-}" ]; then
                mkc=("$CFSROOT_MKCOMPOSEFS")
                return 0
        fi
        local a=$cache/apt root lib
        root=$a/root
        lib=$root/usr/lib/x86_64-linux-gnu
        if [ ! -x "$root/usr/bin/mkcomposefs" ] || [ ! -e "$lib/ld-linux-x86-64.so.2" ]; then
                log "fetching composefs (mkcomposefs) with a private apt config in $a"
                rm -rf "$a"
                mkdir -p "$a/lists/partial" "$a/archives/partial" "$a/etc/preferences.d" "$a/debs"
                : >"$a/status"
                cat >"$a/etc/sources.list" <<EOF
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian sid main
EOF
                cat >"$a/apt.conf" <<EOF
Dir::State "$a";
Dir::State::lists "$a/lists";
Dir::State::status "$a/status";
Dir::Cache "$a";
Dir::Cache::archives "$a/archives";
Dir::Etc::sourcelist "$a/etc/sources.list";
Dir::Etc::sourceparts "-";
Dir::Etc::preferencesparts "$a/etc/preferences.d";
APT::Architecture "amd64";
APT::Sandbox::User "root";
EOF
                # composefs is in sid (it is not in trixie's index); glibc from trixie.
                if ! (export APT_CONFIG=$a/apt.conf
                        apt-get -q update >"$a/update.log" 2>&1 &&
                                cd "$a/debs" &&
                                apt-get -q download composefs libcomposefs1 libc6/trixie \
                                        >"$a/download.log" 2>&1); then
                        log "could not fetch composefs (see $a/*.log): no mkcomposefs reference"
                        return 0
                fi
                local d
                for d in "$a"/debs/*.deb; do dpkg-deb -x "$d" "$root"; done
        fi
        # probe: an image from a one-line dump (--help exits 1)
        local probe=$a/probe
        printf '/ 0 40755 2 0 0 0 0.0 - - -\n' >"$probe.dump"
        mkdir -p "$a/libonly"
        ln -sf "$lib/libcomposefs.so.1" "$a/libonly/libcomposefs.so.1"
        if env "LD_LIBRARY_PATH=$a/libonly" "$root/usr/bin/mkcomposefs" --from-file \
                "$probe.dump" "$probe.img" >/dev/null 2>&1; then
                mkc=(env "LD_LIBRARY_PATH=$a/libonly" "$root/usr/bin/mkcomposefs")
        elif "$lib/ld-linux-x86-64.so.2" --library-path "$lib:/usr/lib/x86_64-linux-gnu" \
                "$root/usr/bin/mkcomposefs" --from-file "$probe.dump" "$probe.img" >/dev/null 2>&1; then
                mkc=("$lib/ld-linux-x86-64.so.2" --library-path "$lib:/usr/lib/x86_64-linux-gnu"
                        "$root/usr/bin/mkcomposefs")
        else
                log "mkcomposefs does not run here: no mkcomposefs reference"
        fi
        mkc_version=$(dpkg-deb -f "$cache"/apt/debs/composefs_*.deb Version 2>/dev/null || echo "?")
}

# ---------------------------------------------------------------- inputs
gen_key() {
        local v h
        v=$(python3 "$here/gen-usr.py" --version | awk '{print $2}')
        h=$(sha256sum "$here/gen-usr.py" | cut -c1-10)
        echo "gen-v$v-$h"
}

# gen_dump NAME ARGS...: $gendir/NAME.dump and NAME.json
gen_dump() {
        local name=$1
        shift
        if [ ! -f "$gendir/$name.dump" ] || [ ! -f "$gendir/$name.json" ]; then
                log "generating dump $name ($*)"
                python3 "$here/gen-usr.py" --seed "$seed" "$@" --dump "$gendir/$name.dump" \
                        --stats-json "$gendir/$name.json"
        fi
}

# gen_tree NAME ARGS...: $gendir/NAME/ and NAME.json (made in NAME.tmp, then renamed)
gen_tree() {
        local name=$1
        shift
        if [ ! -d "$gendir/$name" ] || [ ! -f "$gendir/$name.json" ]; then
                log "generating tree $name ($*)"
                rm -rf "$gendir/$name.tmp" "$gendir/$name.json"
                python3 "$here/gen-usr.py" --seed "$seed" "$@" --tree "$gendir/$name.tmp" \
                        --stats-json "$gendir/$name.json"
                mv "$gendir/$name.tmp" "$gendir/$name"
        fi
}

# to_bytes SIZE: 3G -> 3221225472 (K, M, G: powers of 1024)
to_bytes() {
        awk -v s="$1" 'BEGIN{n=s+0; u=toupper(substr(s, length(s)));
                m = u=="K" ? 1024 : u=="M" ? 1048576 : u=="G" ? 1073741824 : 1;
                printf "%.0f", n*m}'
}

# gen_bulk NAME BYTES FILES: $gendir/NAME/ with FILES regular files of BYTES/FILES
# bytes each (AES-CTR keystream keyed by seed and index: deterministic, not
# compressible, made at GB/s) and NAME.json with the fields tree_case reads.
gen_bulk() {
        local name=$1 bytes=$2 files=$3 i each
        if [ ! -d "$gendir/$name" ] || [ ! -f "$gendir/$name.json" ]; then
                log "generating tree $name ($files files, $bytes bytes)"
                rm -rf "$gendir/$name.tmp" "$gendir/$name.json"
                mkdir "$gendir/$name.tmp"
                each=$((bytes / files))
                for ((i = 0; i < files; i++)); do
                        local f
                        f=$gendir/$name.tmp/$(printf 'blob-%03d' "$i")
                        # openssl dies of SIGPIPE when head has enough: not a failure
                        (set +o pipefail
                                openssl enc -aes-128-ctr -nosalt -K "$(printf '%032x' "$seed")" \
                                        -iv "$(printf '%032x' "$i")" </dev/zero 2>/dev/null |
                                        head -c "$each" >"$f")
                        [ "$(stat -c %s "$f")" = "$each" ] || { echo "run.sh: could not write $f" >&2; exit 1; }
                done
                mv "$gendir/$name.tmp" "$gendir/$name"
                printf '{"entries": %d, "files": %d, "external_bytes": %d}\n' \
                        $((files + 1)) "$files" $((each * files)) >"$gendir/$name.json"
        fi
}

jget() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# Reads a tree's file contents once so every repeat starts from the page cache.
warm() { find "$1" -type f -print0 | xargs -0 -r cat >/dev/null; }

# ---------------------------------------------------------------- measuring
load1() { cut -d' ' -f1 /proc/loadavg; }

median() { sort -g | awk '{v[NR]=$1} END{if (NR) print v[int((NR+1)/2)]}'; }

rows=()  # "case|tool|entries|wall|min|max|cpu|rss_kb|image_bytes|hash_bytes|load|note"

# bench CASE TOOL ENTRIES HASH_BYTES IMAGE PREP -- CMD...
#   Runs CMD $repeat times (PREP, a shell snippet, before each, untimed), records
#   the median wall time and median peak RSS. IMAGE is the output file whose size
#   is reported ("-" for none). On failure the row says why.
bench() {
        local case=$1 tool=$2 entries=$3 hbytes=$4 image=$5 prep=$6
        shift 7
        local i t0 t1 walls="" rsss="" cpus="" note="" ld tf ef
        tf=$scratch/time.out
        ef=$scratch/stderr.out
        ld=$(load1)
        log "$case: $tool (x$repeat, load $ld)"
        for ((i = 0; i < repeat; i++)); do
                eval "$prep"
                t0=$(date +%s%N)
                if ! /usr/bin/time -f '%M %U %S' -o "$tf" "$@" >/dev/null 2>"$ef"; then
                        local msg sig
                        msg=$(grep -v '^Command exited' "$ef" | grep . | tail -1 || true)
                        sig=$(grep '^Command terminated' "$tf" || true)
                        note="FAILED: $(echo "$sig${sig:+${msg:+; }}$msg" | cut -c1-90)"
                        break
                fi
                t1=$(date +%s%N)
                walls+="$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", (b-a)/1e9}') "
                rsss+="$(tail -1 "$tf" | cut -d' ' -f1) "
                cpus+="$(tail -1 "$tf" | awk '{printf "%.2f", $2 + $3}') "
        done
        local wall="" wmin="" wmax="" rss="" isize="" cpu=""
        if [ -z "$note" ]; then
                wall=$(tr ' ' '\n' <<<"$walls" | grep . | median)
                wmin=$(tr ' ' '\n' <<<"$walls" | grep . | sort -g | head -1)
                wmax=$(tr ' ' '\n' <<<"$walls" | grep . | sort -g | tail -1)
                rss=$(tr ' ' '\n' <<<"$rsss" | grep . | median)
                cpu=$(tr ' ' '\n' <<<"$cpus" | grep . | median)
                [ "$image" != - ] && isize=$(stat -c %s "$image")
        fi
        rows+=("$case|$tool|$entries|$wall|$wmin|$wmax|$cpu|$rss|$isize|$hbytes|$ld|$note")
        # for the verdicts
        last_wall=$wall last_wmin=$wmin last_cpu=$cpu last_rss=$rss last_isize=$isize
}

# ---------------------------------------------------------------- main
deps
build
mkdir -p "$cache"
key=$(gen_key)
gendir=$cache/$key
mkdir -p "$gendir"
for old in "$cache"/gen-*; do  # inputs of other generator versions: gigabytes, drop them
        [ "$old" = "$gendir" ] || [ ! -d "$old" ] || { log "removing stale $old"; rm -rf "$old"; }
done
scratch=$cache/scratch
rm -rf "$scratch"
mkdir -p "$scratch"
cleanup() { [ "$keep" = 1 ] || rm -rf "$scratch"; }
trap cleanup EXIT

mkc=()
mkc_version=-
[ "$reference" = 1 ] && mkcomposefs_setup

want dump && { gen_dump dump-100k --entries 100000; gen_dump dump-1m --entries 1000000; }
want tree && gen_tree tree-100k --entries 100000 --max-file-size 16K
want heavy && gen_tree tree-heavy --bytes "$heavy_bytes"
want bulk && gen_bulk "tree-bulk-$heavy_bytes" "$(to_bytes "$heavy_bytes")" 24

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
verdicts=()
verdict() { verdicts+=("$(printf '%-5s %s' "$1" "$2")"); }
# target MESSAGE CMD...: PASS when CMD succeeds, MISS otherwise
target() {
        local msg=$1
        shift
        if "$@"; then verdict PASS "$msg"; else verdict MISS "$msg"; fi
}
fle() { awk -v a="$1" -v b="$2" 'BEGIN{exit !(a <= b)}'; }

# sha256 limit on all cores, measured now (bytes/s of sha256 over 16 KiB blocks)
ncpu=$(nproc)
log "openssl speed -multi $ncpu -seconds 3 sha256 (16384-byte blocks)"
sha_bps=$(openssl speed -mr -multi "$ncpu" -seconds 3 -bytes 16384 sha256 2>/dev/null |
        awk -F: '/^\+F:/ {v=$4} END{print v+0}')
# fs-verity: every data byte once, plus the Merkle tree (~1/128 of the data, more
# levels above it: 1/127 in total).
verity_bps=$(awk -v s="$sha_bps" 'BEGIN{printf "%.0f", s * 127 / 128}')

declare -A size_ours
if want dump; then
        for n in 100k 1m; do
                d=$gendir/dump-$n.dump
                e=$(jget "$gendir/dump-$n.json" entries)
                cat "$d" >/dev/null
                bench "dump $n" "cfsroot --from-dump" "$e" 0 "$scratch/ours.img" : -- \
                        "$cfsroot" mkimage -q --from-dump "$d" "$scratch/ours.img"
                size_ours[$n]=$last_isize
                if [ $n = 1m ] && [ -n "$last_wall" ]; then
                        target "1M-entry dump in ${last_wall} s (best $last_wmin s, CPU $last_cpu s; target: a few seconds, <= 5 s)" \
                                fle "$last_wall" 5
                        bpe=$(awk -v r="$last_rss" -v e="$e" 'BEGIN{printf "%.0f", r*1024/e}')
                        target "1M-entry dump peak RSS $bpe bytes/entry (target < 500)" \
                                [ "$bpe" -lt 500 ]
                elif [ $n = 1m ]; then
                        verdict MISS "1M-entry dump: cfsroot failed"
                fi
                if [ ${#mkc[@]} -gt 0 ]; then
                        bench "dump $n" "mkcomposefs --from-file" "$e" 0 "$scratch/mkc.img" : -- \
                                "${mkc[@]}" --from-file "$d" "$scratch/mkc.img"
                        if [ -n "${size_ours[$n]}" ] && [ -n "$last_isize" ]; then
                                if cmp -s "$scratch/ours.img" "$scratch/mkc.img"; then
                                        verdict PASS "dump-$n: image byte-identical to mkcomposefs --from-file $mkc_version"
                                elif [ "${size_ours[$n]}" -le "$last_isize" ]; then
                                        verdict PASS "dump-$n: image ${size_ours[$n]} <= mkcomposefs $last_isize bytes (NOT byte-identical)"
                                else
                                        verdict MISS "dump-$n: image ${size_ours[$n]} > mkcomposefs $last_isize bytes"
                                fi
                        fi
                fi
        done
fi

# hash_verdicts CASE NAME DIR ENTRIES BYTES EMPTY_WALL FULL_WALL SCAN_WALL: the
# openssl-over-the-files reference row and the hashing verdicts of one tree
hash_verdicts() {
        local case=$1 dir=$3 e=$4 hb=$5 ours_wall=$6 full_wall=$7 scan_wall=$8
        set -- "$1" "$2"
        # What plain sha256 of these files costs on all cores once each file is
        # opened and read: openssl itself, $ncpu processes over the file list
        # (batches small enough to keep every core busy to the end).
        local list=$scratch/files0 nfiles per
        (cd "$dir" && find . -type f -print0) >"$list"
        nfiles=$(tr -cd '\0' <"$list" | wc -c)
        per=$(((nfiles + ncpu * 8 - 1) / (ncpu * 8)))
        bench "$case" "openssl sha256, $ncpu procs (ref)" "$e" "$hb" - : -- \
                sh -c 'cd "$1" && xargs -0 -P"$2" -n"$3" openssl sha256 <"$4"' sh "$dir" "$ncpu" "$per" "$list"
        local ref_wall=$last_wall

        # against the all-core limit of openssl speed (in-cache 16 KiB blocks)
        local what wall mbps ratio
        for what in "empty store:$ours_wall" "store holds every object:$full_wall" "hash only, no --store:$scan_wall"; do
                wall=${what##*:}
                what=${what%:*}
                if [ -z "$wall" ]; then
                        verdict MISS "$2 --store ($what): cfsroot failed"
                        continue
                fi
                mbps=$(awk -v b="$hb" -v w="$wall" 'BEGIN{printf "%.0f", b/w/1e6}')
                ratio=$(awk -v b="$hb" -v w="$wall" -v v="$verity_bps" 'BEGIN{printf "%.2f", v/(b/w)}')
                if [ "$what" = "hash only, no --store" ]; then
                        verdict info "$2 ($what): $mbps MB/s = limit/$ratio"
                else
                        target "$2 --store ($what): $mbps MB/s = limit/$ratio (target: within 1.5x)" \
                                fle "$ratio" 1.5
                fi
        done
        # against openssl sha256 of the same files (info: the tree's own floor)
        if [ -n "$ref_wall" ]; then
                verdict info "$(awk -v b="$hb" -v w="$ref_wall" -v v="$verity_bps" \
                        'BEGIN{printf "openssl sha256 of the same files: %.0f MB/s = limit/%.2f", b/w/1e6, v/(b/w)}')"
                for what in "empty store:$ours_wall" "store holds every object:$full_wall" "hash only:$scan_wall"; do
                        wall=${what##*:}
                        [ -n "$wall" ] || continue
                        verdict info "$(awk -v w="$wall" -v r="$ref_wall" -v n="$2" -v t="${what%:*}" \
                                'BEGIN{printf "%s cfsroot (%s) takes %.2fx the time of openssl sha256 of the same files", n, t, w/r}')"
                done
        fi
}

# tree_case CASE NAME: cfsroot with and without --store, then the references
tree_case() {
        local case=$1 dir=$gendir/$2 j=$gendir/$2.json e hb
        e=$(jget "$j" entries)
        hb=$(jget "$j" external_bytes)
        warm "$dir"
        local store=$scratch/store
        # ext4 scans past inodes freed in the last 5-10 s when it allocates new
        # ones: let the previous run's deleted store age first (untimed)
        local prep="rm -rf '$store'; sync; sleep 12"
        bench "$case" "cfsroot DIR --store" "$e" "$hb" "$scratch/ours.img" "$prep" -- \
                "$cfsroot" mkimage -q "$dir" "$scratch/ours.img" --store "$store"
        local ours_wall=$last_wall ours_size=$last_isize
        # the steady state of A/B updates: the store holds every object already
        # (the last run above filled it), so only hashing and lookups are left
        bench "$case" "cfsroot DIR --store (full)" "$e" "$hb" "$scratch/ours-full.img" : -- \
                "$cfsroot" mkimage -q "$dir" "$scratch/ours-full.img" --store "$store"
        local full_wall=$last_wall
        if [ -n "$ours_size" ] && [ -n "$last_isize" ] && ! cmp -s "$scratch/ours.img" "$scratch/ours-full.img"; then
                verdict MISS "$2: image from a full store differs from the one from an empty store"
        fi
        bench "$case" "cfsroot DIR" "$e" "$hb" "$scratch/ours-nostore.img" : -- \
                "$cfsroot" mkimage -q "$dir" "$scratch/ours-nostore.img"
        local scan_wall=$last_wall
        # tree-100k is the per-entry figure; heavy and bulk are the hashing ones
        [ "$case" = tree ] || hash_verdicts "$case" "$2" "$dir" "$e" "$hb" "$ours_wall" "$full_wall" "$scan_wall"
        [ "$case" = bulk ] && return 0  # references: the per-file cases are the interesting ones
        [ "$reference" = 1 ] || return 0
        bench "$case" "mkfs.erofs (with data)" "$e" 0 "$scratch/erofs.img" "rm -f '$scratch/erofs.img'; sync" -- \
                mkfs.erofs --quiet "$scratch/erofs.img" "$dir"
        rm -f "$scratch/erofs.img"
        if [ "$case" != heavy ]; then
                bench "$case" "mkfs.erofs meta+blobdev" "$e" 0 "$scratch/erofs.img" \
                        "rm -f '$scratch/erofs.img' '$scratch/blob'; sync" -- \
                        mkfs.erofs --quiet --chunksize=4096 --blobdev="$scratch/blob" \
                        "$scratch/erofs.img" "$dir"
                rm -f "$scratch/erofs.img" "$scratch/blob"
        fi
        if [ ${#mkc[@]} -gt 0 ]; then
                bench "$case" "mkcomposefs DIR --digest-store" "$e" "$hb" "$scratch/mkc.img" "$prep" -- \
                        "${mkc[@]}" --digest-store="$store" "$dir" "$scratch/mkc.img"
                rm -rf "$store"
                bench "$case" "mkcomposefs DIR" "$e" "$hb" "$scratch/mkc.img" : -- \
                        "${mkc[@]}" "$dir" "$scratch/mkc.img"
                if [ -n "$ours_size" ] && [ -n "$last_isize" ]; then
                        if cmp -s "$scratch/ours.img" "$scratch/mkc.img"; then
                                verdict PASS "$2: image byte-identical to mkcomposefs DIR"
                        elif [ "$ours_size" -le "$last_isize" ]; then
                                local why="NOT byte-identical"
                                "$cfsroot" dump "$scratch/ours.img" >"$scratch/ours.dump" &&
                                        "$cfsroot" dump "$scratch/mkc.img" >"$scratch/mkc.dump" &&
                                        python3 "$here/same-but-hardlinks.py" "$scratch/ours.dump" \
                                                "$scratch/mkc.dump" &&
                                        why="differs only in hard links, which mkcomposefs DIR does not keep"
                                verdict PASS "$2: image $ours_size <= mkcomposefs DIR $last_isize bytes ($why)"
                        else
                                verdict MISS "$2: image $ours_size > mkcomposefs DIR $last_isize bytes"
                        fi
                fi
        fi
        rm -rf "$store"
}
want tree && tree_case tree tree-100k
want heavy && tree_case heavy tree-heavy
want bulk && tree_case bulk "tree-bulk-$heavy_bytes"
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report
echo
echo "cfsroot benchmark  $(date -u +%Y-%m-%dT%H:%MZ)  cfsroot $(git -C "$top" describe --always --dirty 2>/dev/null || echo '?')  inputs $key seed $seed"
echo "cpu: $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo) x$ncpu; kernel $(uname -r); mkfs.erofs $(dpkg-query -W -f '${Version}' erofs-utils); mkcomposefs ${mkc_version}"
echo "load (1/5/15 min): start $load_start, end $load_end; median of $repeat runs, warm page cache"
awk -v s="$sha_bps" -v v="$verity_bps" 'BEGIN{printf "sha256 limit, all cores (openssl speed -multi, 16 KiB): %.0f MB/s -> fs-verity data limit %.0f MB/s, 1.5x target %.0f MB/s\n", s/1e6, v/1e6, v/1.5e6}'
echo
fmt='%-10s %-31s %8s %8s %15s %7s %10s %9s %8s %7s %7s %s\n'
# shellcheck disable=SC2059
printf "$fmt" case tool entries "wall s" "(min-max)" "CPU s" "entries/s" "MB/s hash" "img B/e" "RSS MB" "RSS B/e" "load"
for r in "${rows[@]}"; do
        IFS='|' read -r c t e w wmin wmax cpu rss isz hb ld note <<<"$r"
        if [ -n "$note" ]; then
                printf '%-10s %-31s %8s  %s\n' "$c" "$t" "$e" "$note"
                continue
        fi
        eps=$(awk -v e="$e" -v w="$w" 'BEGIN{printf "%.0f", e/w}')
        mbs=-
        [ "$hb" != 0 ] && mbs=$(awk -v b="$hb" -v w="$w" 'BEGIN{printf "%.0f", b/w/1e6}')
        ipe=-
        [ -n "$isz" ] && ipe=$(awk -v s="$isz" -v e="$e" 'BEGIN{printf "%.0f", s/e}')
        rmb=$(awk -v r="$rss" 'BEGIN{printf "%.1f", r/1024}')
        rpe=$(awk -v r="$rss" -v e="$e" 'BEGIN{printf "%.0f", r*1024/e}')
        # shellcheck disable=SC2059
        printf "$fmt" "$c" "$t" "$e" "$w" "($wmin-$wmax)" "$cpu" "$eps" "$mbs" "$ipe" "$rmb" "$rpe" "$ld"
done | sed 's/ *$//'
echo
echo "targets (issue 3):"
for v in "${verdicts[@]}"; do echo "  $v"; done
