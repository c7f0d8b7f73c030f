#!/usr/bin/env bash
# test_kcat_restart.sh — the broker killed with -9 while kcat produces: after a restart on the
# same data, every record kcat saw acknowledged (its delivery reports, kcat -v -v) is readable
# at the offset it was acknowledged at, the log reads back whole and in order, and production
# continues at the log end. Then the same with SIGTERM, which must exit 0.
source "$(dirname "$0")/lib.sh"

need kcat kcat

# Lines "v-<n>" for n = 0, 1, 2, ...: the record at offset n must be v-n.
gen() { seq -f 'v-%.0f' 0 1999999; }

for sig in KILL TERM; do
    name="r$sig"
    start_broker "$name"
    port_var="PORT_$name"
    b="127.0.0.1:${!port_var}"
    # Produce in the background, with delivery reports on stderr, until the broker goes.
    gen | timeout --kill-after=5 120 kcat -P -b "$b" -t restart -v -v -X linger.ms=5 \
        -X message.timeout.ms=5000 2>"$WORK/$name.dr" &
    kpid=$!
    for i in $(seq 1 200); do # up to 20 s until some 20,000 are acknowledged
        n=$(grep -c 'Message delivered' "$WORK/$name.dr" || true)
        [ "$n" -ge 20000 ] && break
        sleep 0.1
    done
    [ "$n" -ge 20000 ] || fail "[$sig] only $n deliveries before the stop"
    stop_broker "$name" "$sig"
    sleep 0.5                          # let the last delivery reports reach the file
    pkill -KILL -P "$kpid" 2>/dev/null || true # kcat (a child of timeout); seq then gets EPIPE
    wait "$kpid" 2>/dev/null || true
    acked=$(grep -o 'offset [0-9]*' "$WORK/$name.dr" | awk '{print $2}' | sort -n | tail -n 1)
    count=$(grep -c 'Message delivered' "$WORK/$name.dr")
    [ "$acked" -eq $((count - 1)) ] || fail "[$sig] delivery reports not contiguous: $count reports, highest offset $acked"
    log "[$sig] broker stopped with $count records acknowledged (offsets 0..$acked)"

    start_broker "$name"
    b="127.0.0.1:${!port_var}"
    timeout --kill-after=5 120 kcat -C -b "$b" -t restart -o beginning -e -q -f '%o %s\n' \
        >"$WORK/$name.read" || fail "[$sig] kcat -C after the restart failed"
    have=$(wc -l <"$WORK/$name.read")
    [ "$have" -ge "$count" ] || fail "[$sig] $count acknowledged, $have readable after the restart"
    # Every record is the one sent at its offset: "o v-o", contiguous from 0.
    awk '{ if ($1 != NR - 1 || $2 != "v-" (NR - 1)) { print "offset " NR - 1 ": " $0; exit 1 } }' \
        "$WORK/$name.read" || fail "[$sig] the log after the restart is not what was sent"
    # Production continues at the end.
    printf 'after-restart\n' | timeout 60 kcat -P -b "$b" -t restart -v -v 2>"$WORK/$name.dr2" ||
        fail "[$sig] producing after the restart failed"
    grep -q "offset $have)" "$WORK/$name.dr2" || {
        cat "$WORK/$name.dr2" >&2
        fail "[$sig] the next record did not land at offset $have"
    }
    assert_alive "$name"
    stop_broker "$name" TERM
    log "[$sig] $have records intact after the restart, production continued at $have"
done
log "test_kcat_restart: all passed"
