# tests/e2e/helpers.bash - shared by the e2e suites (load after ../lib/common).
# Samples are copied to a temporary directory and built there with the
# repository's livepatch.mk and the tools under test ($LPDIFF, $LP_PLUGIN).

# We may run under `make check`: its flags and jobserver are not ours.
unset MAKEFLAGS MAKELEVEL MFLAGS
LP_MK=$LP_TOP/make-rules/livepatch.mk
export LIVEPATCH_MK=$LP_MK LIVEPATCH_PLUGIN=$LP_PLUGIN

# Copy samples/NAME to DEST without build outputs of earlier runs.
copy_sample() {
    cp -R "$LP_TOP/samples/$1" "$2"
    find "$2" \( -name .livepatch -o -name livepatch -o -name '*.o' -o -name '*.so' \
        -o -name kvclient -o -path '*/v[0-9]/kvserver' -o -path '*/v[0-9]/thermo' -o -path '*/v[0-9]/sessiond' \
        -o -path '*/old/prog' -o -path '*/new/prog' \) -prune -exec rm -rf {} +
}

build_id() {
    readelf -n "$1" | awk '/Build ID:/ { print $3 }'
}

# start_bg NAME CMD...: run CMD in the background, output to $BATS_TEST_TMPDIR/NAME.log;
# its pid goes to $BATS_TEST_TMPDIR/NAME.pid and is killed by stop_all.
start_bg() {
    local name=$1
    shift
    "$@" >"$BATS_TEST_TMPDIR/$name.log" 2>&1 3>&- &
    echo $! >"$BATS_TEST_TMPDIR/$name.pid"
}

bg_pid() { cat "$BATS_TEST_TMPDIR/$1.pid"; }

stop_all() {
    local f
    for f in "$BATS_TEST_TMPDIR"/*.pid; do
        [[ -f $f ]] || continue
        kill "$(cat "$f")" 2>/dev/null || true
        rm -f "$f"
    done
}

# wait_for FILE REGEX [TENTHS]: until a line of FILE matches (default 10 s).
wait_for() {
    local i
    for ((i = 0; i < ${3:-100}; i++)); do
        grep -Eq -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "timed out waiting for /$2/ in $1:" >&2
    cat "$1" >&2
    return 1
}

# start_kvserver BINARY: sets KV_PID and KV_PORT
start_kvserver() {
    start_bg server "$1" -p 0
    wait_for "$BATS_TEST_TMPDIR/server.log" 'listening on' || return 1
    KV_PID=$(bg_pid server)
    KV_PORT=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$BATS_TEST_TMPDIR/server.log")
    export KV_PID KV_PORT
}

# The bug of v1: a range past the value returns stale bytes of an older value.
kv_probe() {
    "$KV/kvclient" -p "$KV_PORT" 'SET token supersecret' 'SET token hi' 'GETRANGE token 0 11' |
        tail -n 1
}
