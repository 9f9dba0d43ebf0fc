#!/usr/bin/env bash
# Real programs under `xuni user`: Debian's static busybox (busybox-static,
# /bin/busybox) runs a scripted set of commands natively and under xuni;
# a case passes when stdout, stderr and the exit status are the same.
# Prints TAP.
#
#   tests/user/busybox/run-busybox.sh XUNI
#
# Every case is a bash snippet run twice, once per side, in its own empty
# working folder holding `in` (a link to the shared, read-only inputs). In
# the snippet `bb ARGS` is `/bin/busybox ARGS` natively and
# `XUNI user /bin/busybox ARGS` on the xuni side; host tools (cmp, diff,
# sha256sum) only check results and run natively on both sides.
#
# A case whose xuni side died by SIGILL (status 132: the CPU met an
# instruction it does not implement, e.g. x87 before that family lands)
# FAILS, naming the instruction bytes: the point is to see what is missing.
#
# Inputs are generated (bbgen, deterministic) at each run; the sizes are
# chosen to keep the release build's run near 30 s. The ASan build runs
# the emulator about 4x slower, so under a build folder ending in /asan the
# inputs are a quarter of the size.
set -u
CALLER_DIR=$PWD
cd "$(dirname "$0")/../../.." || exit 1

[ $# -eq 1 ] || { echo "usage: $0 XUNI" >&2; exit 2; }
case "$1" in /*) XUNI=$1 ;; *) XUNI=$CALLER_DIR/$1 ;; esac
[ -x "$XUNI" ] || { echo "Bail out! $XUNI is not an executable"; exit 1; }
BUSYBOX=/bin/busybox
[ -x $BUSYBOX ] ||
    { echo "Bail out! no $BUSYBOX (tools/install-deps.sh installs busybox-static)"; exit 1; }
BBGEN=$(dirname "$XUNI")/tests/user/busybox/bbgen
[ -x "$BBGEN" ] || { echo "Bail out! $BBGEN not built (make test-build)"; exit 1; }

KIB=1024
case "$(dirname "$XUNI")" in
*/asan | asan) KIB=256 ;; # see the header: ASan is ~4x slower
esac

export ASAN_OPTIONS="exitcode=86${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="exitcode=87${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export TZ=UTC LC_ALL=C
unset XUNI_LOG
SANITIZER_RE='ERROR: (Address|Leak)Sanitizer|runtime error:|UndefinedBehaviorSanitizer'
SANITIZER_RE+='|internal error'
TIMEOUT=120
START=$SECONDS

TMP=$(mktemp -d)
TMP=$(realpath "$TMP")
trap 'chmod -R u+w "$TMP"; rm -rf "$TMP"' EXIT
IN=$TMP/in
n=0

comment() {
    sed 's/^/# /' | head -"${1:-20}"
}

# bb ARGS...: busybox on this side. A death by signal is noted in
# $BB_SIGLOG so that a SIGILL inside a pipeline is not lost.
bb() {
    if [ "$BB_SIDE" = xuni ]; then
        "$XUNI" user $BUSYBOX "$@"
    else
        $BUSYBOX "$@"
    fi
    local s=$?
    [ $s -gt 128 ] && echo "$s $1" >>"$BB_SIGLOG"
    return $s
}
export -f bb
export XUNI BUSYBOX

# --- inputs -------------------------------------------------------------
mkdir -p "$IN"
"$BBGEN" bin $((2048 * KIB)) 1 >"$IN/big.bin" &&
    "$BBGEN" bin $((256 * KIB)) 2 >"$IN/mid.bin" &&
    "$BBGEN" text $((512 * KIB)) 3 >"$IN/text.txt" &&
    "$BBGEN" text $((64 * KIB)) 4 >"$IN/text2.txt" &&
    "$BBGEN" table $((160 * KIB)) 5 >"$IN/table.txt" ||
    { echo "Bail out! bbgen failed"; exit 1; }
head -n $((2000 * KIB / 1024)) "$IN/text.txt" >"$IN/small.txt"
head -n $((5000 * KIB / 1024)) "$IN/text.txt" >"$IN/mid.txt"
gzip -9n -c "$IN/text.txt" >"$IN/text.gz"
(cd "$IN" && sha256sum big.bin mid.bin >sha256.txt && md5sum big.bin mid.bin >md5.txt)

# A tree with fixed names, sizes, modes and times, for find, ls and tar.
T=$IN/tree
mkdir -p "$T/a" "$T/b/c" "$T/b/d/e" "$T/f g" "$T/empty"
sizes=(0 1 511 512 513 4096 10000 70000)
i=0
for d in a b/c b/d/e "f g" .; do
    for s in "${sizes[@]}"; do
        i=$((i + 1))
        case $((i % 3)) in 0) ext=txt ;; 1) ext=c ;; 2) ext=bin ;; esac
        head -c "$s" "$IN/text.txt" >"$T/$d/file$i-$s.$ext"
    done
done
printf 'hidden\n' >"$T/b/.hidden"
chmod 755 "$T/a/file1-0.c"
chmod 600 "$T/b/c/file10-1.c"
ln -s ../a/file2-1.bin "$T/b/link"
find "$T" -exec touch -h -d '2021-03-04 05:06:07' {} +
touch -d '2019-12-31 23:59:59' "$T/a/file3-511.txt" "$T/b/d/e"
touch -d '2021-03-04 05:06:08' "$T/b/newer.txt"
touch -d '2021-03-04 05:06:07' "$T/b"
touch -d '2021-03-04 05:06:07' "$T"
tar --format=ustar --owner=0 --group=0 --numeric-owner -cf "$IN/host.tar" -C "$IN" tree

# --- scripts for busybox sh and awk -----------------------------------------
cat >"$IN/builtins.sh" <<'EOF'
f() { echo "f:$1:$#"; return $(( ${#1} % 3 )); }
i=0; s=0
while [ $i -lt 300 ]; do s=$(( s + i * i - (i << 2) ^ 5 )); i=$(( i + 1 )); done
echo "sum $s"
for w in a "b c" dee; do f "$w" x; echo "rc=$?"; done
echo $(( 7 / 2 )) $(( -7 / 2 )) $(( -7 % 3 )) $(( 1 << 40 )) $(( 0x1f | 0100 )) $(( 3 > 2 && 1 ))
echo $(( 9223372036854775807 + 1 )) $(( -9223372036854775807 - 1 )) $(( 1000000007 * 1000000009 ))
x=5; : $(( x *= 3 )); echo "x=$x"
case "$x" in 1*) echo one ;; *5) echo five ;; esac
n=0; until [ $n -ge 6 ]; do n=$((n+1)); [ $n -eq 3 ] && continue; printf '%d,' $n; done; echo
for a in 1 2 3; do for b in 1 2 3; do [ $b -eq 2 ] && break; echo "$a$b"; done; done
set -- one two "three four"; echo "$# $2"; shift; echo "$@"
str="Hello, World"
echo "${#str} ${str#Hello} ${str%World} ${str/o/0} ${undef:-default} ${str:7:5}"
printf '%5s|%-5s|%05d|%x|%o|%c|%%\n' ab cd 42 255 8 zed
eval 'echo eval $(( 6 * 7 ))'
fact() { if [ $1 -le 1 ]; then echo 1; else echo $(( $1 * $(fact $(( $1 - 1 ))) )); fi; }
echo "fact $(fact 15)"
EOF
cat >"$IN/subshells.sh" <<'EOF'
a=outer
(a=inner; echo "sub:$a"; exit 3)
echo "after:$a rc=$?"
b=$(echo x; echo y)
echo "[$b]"
c=`printf '%s-' 1 2 3`
echo "$c"
echo $(( $(echo 4) * $(echo 5) ))
while IFS= read -r l; do echo "<$l>"; done <<END
line one $a
  indented \$notvar $(echo subst) $((2+3))
END
while IFS= read -r l; do echo "[$l]"; done <<'END'
raw $a $(x) `y`
END
{ echo g1; echo g2; echo g3; } | while read v; do echo "piped $v"; done
echo "a b c" | { read p q r; echo "$r$q$p"; }
count=0; words=0
while read w1 rest; do
    count=$((count + 1)); [ -n "$rest" ] && words=$((words + 1))
done <in/small.txt
echo "read $count lines, $words with more than one word"
exec 3>fd3.txt; echo "to fd3" >&3; exec 3>&-; read line <fd3.txt; echo "$line"
x=$( (echo nested; (echo deeper)) | while read l; do printf '%s;' "$l"; done ); echo "$x"
( trap 'echo sub-exit' EXIT; echo in-sub )
echo $( exit 4 ) "cmdsub rc=$?"
err() { echo "$1" >&2; }; err to-stderr
EOF
cat >"$IN/traps.sh" <<'EOF'
trap 'echo "EXIT trap"' EXIT
trap 'echo "got USR1"' USR1
kill -USR1 $$
echo "after kill"
(exit 5) & wait $!; echo "bg rc=$?"
false || echo "false failed"
if ! (exit 2); then echo "negated"; fi
set -e
( set -e; false; echo never ) || echo "subshell set -e rc=$?"
g() { return 9; }
g || echo "g rc=$?"
exit 6
EOF
cat >"$IN/applets.sh" <<'EOF'
sort in/small.txt | uniq -c | sort -rn | head -n 5
cut -d' ' -f1 in/table.txt | sort | uniq | wc -l
echo "hello world" | tr a-z A-Z | sed 's/WORLD/there/'
n=$(wc -l <in/small.txt); echo "lines $n"
EOF
cat >"$IN/bypath.sh" <<'EOF'
/bin/busybox echo hi | /bin/busybox tr a-z A-Z
x=$(/bin/busybox expr 6 \* 7); echo "$x"
/bin/busybox sh -c 'exit 3'; echo "rc=$?"
EOF
cat >"$IN/fields.awk" <<'EOF'
{ s[$1] += $3; n[$1]++ }
END {
    for (k in s)
        printf "%s %.6f %g %e %d\n", k, s[k] / n[k], s[k], s[k] * 1e-3, n[k]
}
EOF
cat >"$IN/float.awk" <<'EOF'
function sqrt_(x,  r, i) { r = x; for (i = 0; i < 60; i++) r = (r + x / r) / 2; return r }
function exp_(x,  s, t, i) { s = t = 1; for (i = 1; i < 40; i++) { t *= x / i; s += t }; return s }
function log_(x,  y, s, t, i) {
    y = (x - 1) / (x + 1); s = 0; t = y
    for (i = 1; i < 200; i += 2) { s += t / i; t *= y * y }
    return 2 * s
}
BEGIN {
    for (x = 0.5; x < 20; x *= 1.7)
        printf "%.6f %.6f %.6f %.6f %.10g\n", x, sqrt_(x), exp_(x / 4), log_(x), 1 / x
    printf "%.17g %.17g %g %g %g\n", 0.1 + 0.2, 1 / 3, 1e300 * 1e10, -1e300 * 1e10, 2 / 3 * 3
    print 0.1 + 0.2, 1e6, 1e16, 123456789012, 100 / 7, -0.5 * 3, 7 % 3, -7.5 % 2
    x = "3.25abc" + 0; y = "1e3" * 1
    print x, y, int(-3.9), int(3.9), 017 + 0, "0x1A" + 0
}
EOF
cat >"$IN/strings.awk" <<'EOF'
NR % 97 == 1 {
    line = $0; n = gsub(/[aeiou]/, "#", line); m = split($0, w, / +/)
    printf "%s %d %d [%s] %s %x %c\n", tag, n, m, substr(line, 3, 9), toupper(w[1]), NR,
        65 + NR % 26
}
END {
    print NR, length($0), index($0, " ")
    print sprintf("%5.2f|%-6s|%06.1f", 3.14159, "ab", -2.5)
}
EOF
chmod -R a-w "$IN"

# --- running a case -------------------------------------------------------

# run_side SIDE SNIPPET [ENV...]: outputs in $TMP/SIDE.{out,err,st,sig}.
run_side() {
    local side=$1 snippet=$2
    shift 2
    rm -rf "${TMP:?}/$side"
    mkdir "$TMP/$side"
    ln -s ../in "$TMP/$side/in"
    : >"$TMP/$side.sig"
    (cd "$TMP/$side" && env "$@" BB_SIDE=$side BB_SIGLOG="$TMP/$side.sig" \
        timeout $TIMEOUT bash -c "$snippet" >"$TMP/$side.out" 2>"$TMP/$side.err" </dev/null)
    echo $? >"$TMP/$side.st"
}

# Why the xuni side died, for a TAP line: "" when it did not.
death() {
    local st sig
    st=$(cat "$TMP/xuni.st")
    sig=$(awk '{print $1; exit}' "$TMP/xuni.sig")
    [ -z "$sig" ] && [ "$st" -gt 128 ] && [ "$st" -ne 124 ] && sig=$st
    [ -z "$sig" ] && return
    if [ "$sig" -eq 132 ]; then
        echo "SIGILL: x87 not implemented?"
    else
        echo "xuni side died by signal $((sig - 128)) in busybox $(awk '{print $2; exit}' \
            "$TMP/xuni.sig")"
    fi
}

# check NAME SNIPPET: compare the two sides.
check() {
    local name=$1 snippet=$2
    n=$((n + 1))
    run_side native "$snippet"
    run_side xuni "$snippet"
    local nst est why
    nst=$(cat "$TMP/native.st")
    est=$(cat "$TMP/xuni.st")
    if grep -Eq "$SANITIZER_RE" "$TMP/xuni.err"; then
        echo "not ok $n - busybox: $name (xuni reported an error)"
        comment 30 <"$TMP/xuni.err"
        return
    fi
    if [ "$nst" -eq "$est" ] && cmp -s "$TMP/native.out" "$TMP/xuni.out" &&
        cmp -s "$TMP/native.err" "$TMP/xuni.err"; then
        echo "ok $n - busybox: $name"
        return
    fi
    why=$(death)
    if [ -n "$why" ]; then
        echo "not ok $n - busybox: $name ($why)"
    elif [ "$est" -eq 124 ]; then
        echo "not ok $n - busybox: $name (xuni side timed out after ${TIMEOUT}s)"
    else
        local what=()
        [ "$nst" -eq "$est" ] || what+=("status: native $nst, xuni $est")
        cmp -s "$TMP/native.out" "$TMP/xuni.out" || what+=("stdout differs")
        cmp -s "$TMP/native.err" "$TMP/xuni.err" || what+=("stderr differs")
        # xuni's own complaints (e.g. about a system call) say most.
        local xerr
        xerr=$(grep -m1 '^xuni: ' "$TMP/xuni.err")
        [ -n "$xerr" ] && what+=("xuni said: $xerr")
        local IFS=';'
        echo "not ok $n - busybox: $name (${what[*]})"
    fi
    if grep -qI . "$TMP/native.out" "$TMP/xuni.out" 2>/dev/null; then
        diff "$TMP/native.out" "$TMP/xuni.out" | comment 12
    else
        cmp "$TMP/native.out" "$TMP/xuni.out" 2>&1 | comment 2
    fi
    diff "$TMP/native.err" "$TMP/xuni.err" | comment 8
    if [ -n "$why" ]; then
        # Again with the emulator's log, which names the instruction.
        run_side xuni "$snippet" XUNI_LOG=info
        grep -h 'user: exception' "$TMP/xuni.err" | sort -u | comment 5
    fi
}

# --- the cases ------------------------------------------------------------

# busybox sh. Builtins only, then forks without exec, then applets run by
# name (ash execs /proc/self/exe for them), then busybox run by its path.
check "sh: arithmetic, loops, functions, parameter expansion" 'bb sh in/builtins.sh'
check "sh: subshells, command substitution, here-docs, read" 'bb sh in/subshells.sh'
check "sh: traps, kill, background job, set -e, exit status" 'bb sh in/traps.sh'
check "sh -c: pipe between builtins" 'bb sh -c "echo a b c | { read x y z; echo \$z\$y\$x; }"'
check "sh: pipelines of applets (sort | uniq -c | sort -rn | head)" 'bb sh in/applets.sh'
check "sh -c: applet in a pipe (seq 3 | wc -l)" 'bb sh -c "seq 3 | wc -l"'
check "sh: /bin/busybox run by path, piped and in \$(...)" 'bb sh in/bypath.sh'

# Hashes.
check "sha256sum of a 2 MiB file" 'bb sha256sum in/big.bin'
check "md5sum of a 2 MiB file" 'bb md5sum in/big.bin'
check "sha1sum, sha512sum, sha3sum" 'bb sha1sum in/mid.bin; bb sha512sum in/mid.bin;
    bb sha3sum in/mid.bin'
check "sha256sum -c, md5sum -c (one bad line)" 'bb sha256sum -c in/sha256.txt;
    echo "status $?"; (cat in/md5.txt; echo "00000000000000000000000000000000  in/text.txt") |
    bb md5sum -c; echo "status $?"'
check "sha256sum from a pipe" 'cat in/mid.bin | bb sha256sum'

# Compressors.
check "gzip -9: compressed bytes identical to native" 'bb gzip -9 -c in/text.txt'
check "gzip -9 | gunzip round trip (binary)" 'bb gzip -9 -c in/mid.bin | bb gunzip -c |
    cmp - in/mid.bin && echo same'
check "gzip -1 and gzip -6 output bytes" 'bb gzip -1 -c in/table.txt | sha256sum;
    bb gzip -c in/table.txt | sha256sum'
check "zcat of host gzip -9 output" 'bb zcat in/text.gz | cmp - in/text.txt && echo same'
check "gunzip of a corrupt file: message and status" 'head -c 5000 in/text.gz | bb gunzip -c |
    wc -c'
check "bzip2 -9: compressed bytes identical to native" 'bb bzip2 -9 -c in/mid.bin'
check "bzip2 -9 | bunzip2 round trip" 'bb bzip2 -9 -c in/small.txt | bb bunzip2 -c |
    cmp - in/small.txt && echo same'

# sort and friends.
check "sort (plain)" 'bb sort in/text.txt'
check "sort -n -k2" 'bb sort -n -k2 in/table.txt'
check "sort -r -u" 'bb sort -r -u in/small.txt'
check "sort -t' ' -k1,1 -k3,3nr -s" 'bb sort -t" " -k1,1 -k3,3nr -s in/table.txt'
check "sort -g (floats, strtod)" 'bb cut -d" " -f3 in/table.txt | bb sort -g | bb tail -n 20'
check "uniq -c, -d, -u" 'bb cut -d" " -f1 in/table.txt | bb sort >k.txt; bb uniq -c k.txt;
    bb uniq -d k.txt | bb wc -l; bb uniq -u k.txt | bb wc -l'

# awk. Debian's busybox awk has no libm ("Math support is not compiled
# in": sqrt, exp, log, sin, ^ fail natively too), so the floating point
# here is its own arithmetic, conversions and printf.
check "awk: fields, arrays, printf of floats" 'bb awk -f in/fields.awk in/table.txt'
check "awk: floating point (Newton sqrt, series exp/log, division)" 'bb awk -f in/float.awk'
check "awk: sqrt() without libm: message and status" 'bb awk "BEGIN { print sqrt(2) }"'
check "awk: strings (gsub, split, substr, sprintf, -F, -v, NR)" \
    'bb awk -F" " -v tag=T -f in/strings.awk in/text.txt'

# seq.
check "seq (integers, -s, -w, negative step)" 'bb seq 1 3000 | bb tail -n 3; bb seq -s, 20;
    bb seq 10 -3 -10; bb seq -w 5 5 100'
check "seq with floats (seq 0 0.1 1)" 'bb seq 0 0.1 1; bb seq 1.5 0.25 4; bb seq -1 0.3 1;
    bb seq 1e3 5e2 3e3'

# Text filters.
check "wc (-l -w -c, several files, stdin)" 'bb wc in/text.txt in/table.txt in/big.bin;
    bb wc -l <in/text.txt; bb wc -L in/small.txt'
check "sed -E s///g with regex groups" 'bb sed -E "s/([a-z]+) ([0-9]+)/\\2:\\1/g;
    s/[aeiou]{2,}/<&>/g" in/mid.txt'
check "sed -n p with addresses, =, y, d" 'bb sed -n "/^alpha.*[0-9]\$/p; 100,110{=;p}" in/mid.txt;
    bb sed -e "/bravo/d" -e "y/abc/XYZ/" in/small.txt | bb head -n 50'
check "sed -i in place, hold space (tac)" 'cp in/small.txt s.txt; bb sed -i "s/ /_/2" s.txt;
    bb md5sum s.txt; bb head -n 400 s.txt | bb sed -n "1!G;h;\$p" | bb head -n 20'
check "grep -E, -c, -v, -n -i, -o, -w, -F" '
    bb grep -E "^(alpha|bravo) [a-z]+ [0-9]{3,}" in/text.txt
    bb grep -c kernel in/mid.txt; bb grep -vc e in/mid.txt; bb grep -ni "zulu\$" in/small.txt;
    bb grep -oE "[0-9]+\.[0-9]+" in/small.txt | bb head -n 30; bb grep -wc a in/mid.txt;
    bb grep -F -c "x86-64 busybox" in/mid.txt'
check "grep: no match (status 1), -r -l over a tree" 'bb grep nosuchword in/small.txt;
    echo "status $?"; bb grep -rl hotel in/tree | bb sort'
check "cut -d -f, -c" 'bb cut -d" " -f2,4 in/table.txt | bb tail -n 40
    bb cut -c1-10,20- in/small.txt | bb head -n 40; bb cut -f1 -s in/small.txt | bb head'
check "tr (ranges, -d, -s, -c)" 'bb tr a-z A-Z <in/small.txt | bb md5sum
    bb tr -d "0-9" <in/small.txt | bb md5sum; bb tr -s " a" <in/small.txt | bb tail -n 5
    bb tr -c "a-z\n" _ <in/small.txt | bb head -n 5'
check "head and tail (-n, -c, +N)" 'bb head -n 37 in/text.txt
    bb head -c 1000 in/big.bin | od -c | tail -n 3; bb tail -n 25 in/text.txt
    bb tail -c 333 in/table.txt; bb tail -n +99 in/small.txt | bb head -n 3'
check "xargs -n with an applet (echo)" 'bb seq 1 100 | bb xargs -n 7 echo'
check "xargs running /bin/busybox by path" 'bb seq 1 50 | bb xargs -n 9 /bin/busybox echo'
check "od, hexdump, base64 round trip" 'bb od -A x -t x1z -N 512 in/big.bin
    bb hexdump -C -n 256 in/mid.bin; bb base64 in/mid.bin | bb tail -n 3
    bb base64 in/mid.bin | bb base64 -d | cmp - in/mid.bin && echo same'
check "diff -u, cmp" 'bb diff -u in/text2.txt in/small.txt | bb head -n 60; echo "status $?";
    bb cmp in/big.bin in/mid.bin; echo "status $?"'

# Files and trees.
check "cat of a large file" 'bb cat in/big.bin in/text.txt'
check "cat from a pipe" 'cat in/big.bin | bb cat | sha256sum'
check "dd with bs, count, skip, seek, conv" '
    bb dd if=in/big.bin bs=4096 count=100 skip=7 status=noxfer | sha256sum
    bb dd if=in/mid.bin of=o.bin bs=1000 count=33 seek=2 status=noxfer
    cmp -l o.bin in/mid.bin | wc -l
    bb dd if=in/text.txt bs=1 count=300 skip=1000 conv=ucase status=noxfer'
check "find -name, -type" 'bb find in/tree -name "*.txt"; bb find in/tree -type d;
    bb find in/tree -type f -name "file[1-9]-*"; bb find in/tree -type l'
check "find -size, -newer, -maxdepth, -empty, -mtime" 'bb find in/tree -size +8k;
    bb find in/tree -size -2; bb find in/tree -type f -size 1; bb find in/tree -maxdepth 1;
    bb find in/tree -empty; bb find in/tree -newer in/tree/a/file1-0.c
    bb find in/tree -mtime +1000'
check "find -exec /bin/busybox ... +" 'bb find in/tree -name "*.c" -exec /bin/busybox wc -c {} +'
check "find -exec applet {} ;" 'bb find in/tree -name "*-1.*" -exec cat {} \;'
check "ls -l over a fixed tree (touch -d)" 'bb ls -l in/tree in/tree/b; bb ls -lRa in/tree;
    bb ls -ln --full-time in/tree/a'
check "ls sorting (-S, -t, -r, -1, -F)" 'bb ls -S in/tree; bb ls -tr in/tree/b; bb ls -1F in/tree/b'
check "stat -c, du" 'bb stat -c "%n %s %a %Y %F" in/tree/a/* in/tree/b/link
    bb du -a in/tree | bb sort -k2'
check "tar cf: archive bytes identical to native" 'bb tar cf - -C in tree'
check "tar tvf of a host (GNU tar) archive" 'bb tar tvf in/host.tar'
check "tar cf | tar tvf listing" 'bb tar cf - -C in tree | bb tar tvf -'
check "tar cf / xf round trip (contents, modes, mtimes)" 'bb tar cf t.tar -C in tree &&
    mkdir x && bb tar xf t.tar -C x && diff -r in/tree x/tree && echo same &&
    (cd x && find tree -printf "%p %s %m %y %l\n" && find tree -type f -printf "%p %T@\n") | sort'
# (busybox tar leaves the mtimes of directories and links at extraction time.)
check "tar czf / tar xzf (gzip through a child)" 'bb tar czf t.tgz -C in tree && mkdir y &&
    bb tar xzf t.tgz -C y && diff -r in/tree y/tree && echo same'

# Odds and ends.
check "date +%s agrees with the host clock (within 2 s)" 'a=$(date +%s); b=$(bb date +%s);
    echo $(( b - a <= 2 && a - b <= 2 ))'
check "date formatting (-d, -u, +FORMAT)" 'bb date -u -d @1234567890
    bb date -d "2020-02-29 12:34:56" +"%s %j %A %U %Y-%m-%d %H:%M:%S %Z"; bb date -d @0 +%Y'
check "printf with floats, expr, factor, dc" '
    bb printf "%.3f %e %g %5.1f %x %o %s|\n" 3.14159 12345.678 0.0001 2.25 255 8 str
    bb expr 12345 \* 6789 % 1000; bb expr match "abcdef" "abc"
    bb factor 1234567890 600851475143 4294967291; bb dc -e "2 k 10 3 / p"; bb dc -e "1.5 2 * p"'
check "errors: missing files (message, status)" 'bb cat in/missing; echo "status $?";
    bb ls -l in/missing in/tree/b/link; echo "status $?"; bb sort -k; echo "status $?"'
check "true, false, sleep 0.2, env" 'bb true; echo $?; bb false; echo $?; bb sleep 0.2; echo $?;
    bb env -i A=1 B=two /bin/busybox printenv B A'

echo "# busybox cases took $((SECONDS - START)) s (inputs at $KIB/1024 scale)"
echo "1..$n"
