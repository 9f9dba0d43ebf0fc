# Shared by the Linux end-to-end scripts (source it; it is not a test):
# boot xuni with a serial console on a FIFO and drive the guest's shell
# like a user, as tests/linux/run-linux.sh does.
#
#   console_start NAME XUNI-ARGS...   start xuni in the background; output in
#                                     $tmp/out, stderr in $tmp/err
#   wait_for TEXT SECONDS             until the output (from $mark) has TEXT
#   run_cmd CMD                       type CMD; its output lines in $reply
#   console_poweroff                  `poweroff`; sets $status (or 255 when
#                                     xuni had to be killed)
#   console_kill                      stop xuni, whatever state it is in
#   ok NAME / fail NAME               a TAP line "ok N - $TAP_PREFIX: NAME"
#                                     (fail adds the console's tail)
#   check NAME WANT / check_re NAME ERE    $reply equals WANT / matches ERE
# The caller sets $tmp (a scratch directory), CMD_TIMEOUT and TAP_PREFIX,
# and traps EXIT to call console_kill.

pid=
mark=0
reply=
status=
n=0

ok() {
    n=$((n + 1))
    echo "ok $n - $TAP_PREFIX: $1"
}
fail() {
    n=$((n + 1))
    echo "not ok $n - $TAP_PREFIX: $1"
    [ -f "$tmp/out" ] && tail -15 "$tmp/out" | sed 's/^/#   | /'
    [ -s "$tmp/err" ] && sed 's/^/#   stderr: /' "$tmp/err" | tail -5
}
check() {
    if [ "$reply" = "$2" ]; then ok "$1"; else fail "$1: got '$reply', want '$2'"; fi
}
check_re() {
    if grep -Eq -- "$2" <<<"$reply"; then ok "$1"; else fail "$1: got '$reply'"; fi
}

console_start() {
    rm -f "$tmp/in" "$tmp/out" "$tmp/err"
    mkfifo "$tmp/in"
    : >"$tmp/out"
    "$@" <"$tmp/in" >"$tmp/out" 2>"$tmp/err" &
    pid=$!
    exec 3>"$tmp/in"
    mark=0
}

wait_for() {
    local text=$1 deadline=$((SECONDS + $2))
    while [ $SECONDS -lt $deadline ]; do
        tail -c +"$((mark + 1))" "$tmp/out" | grep -qF -- "$text" && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.2
    done
    return 1
}

# The typed line shows each marker with a quote inside, so only the output
# lines match; the shell may echo long lines wrapped.
run_cmd() {
    local tag="@@$RANDOM$RANDOM@@"
    mark=$(stat -c %s "$tmp/out")
    printf 'echo "%s""%s"; %s; echo "%s""%s"\n' "${tag:0:2}" "${tag:2}S" "$1" "${tag:0:2}" "${tag:2}E" >&3
    if ! wait_for "${tag}E" "$CMD_TIMEOUT"; then
        reply=
        return 1
    fi
    reply=$(tail -c +"$((mark + 1))" "$tmp/out" | tr -d '\r' |
        awk -v s="${tag}S" -v e="${tag}E" '$0 == e { on = 0 } on { print } $0 == s { on = 1 }')
    return 0
}

console_poweroff() {
    printf 'poweroff\n' >&3
    local t1=$SECONDS
    while kill -0 "$pid" 2>/dev/null && [ $((SECONDS - t1)) -lt "$CMD_TIMEOUT" ]; do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
        console_kill
        status=255
    else
        wait "$pid"
        status=$?
        pid=
        exec 3>&-
    fi
}

console_kill() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    pid=
    exec 3>&- 2>/dev/null
}
