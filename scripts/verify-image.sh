#!/usr/bin/env bash
# Verifies the runtime image of the Dockerfile on a machine where no
# container can run (here podman/crun fail on setrlimit). It rebuilds the
# Dockerfile's runtime stage by hand and runs it the way a container would:
#
#   * the base: Debian bookworm from debootstrap --variant=minbase (what
#     debian:bookworm-slim is made of), cached under $RINGBACK_IMAGE_ROOT
#     (default /var/tmp/ringback-image-root), outside the repository;
#   * the Dockerfile's RUN: ca-certificates and tini, the ringback user
#     (uid 10001, home /app), /data and /app owned by it;
#   * its COPYs: the release binary to /usr/local/bin/ringback,
#     ringback.toml and prompts/ to /app;
#   * its ENV, USER, WORKDIR and ENTRYPOINT: a clean environment with only
#     the image's variables, `chroot --userspec` to the ringback user, /app,
#     and `/usr/bin/tini -- ringback serve` as PID 1 of its own PID
#     namespace, in a network namespace of its own (so PORT 8080 and
#     RINGBACK_ADDR 0.0.0.0 are the image's own) with a fresh /proc.
#
# Then it checks what a deployment relies on:
#   1. the binary's libraries are all in the image;
#   2. `ringback check-config` accepts the baked config as the image's user;
#   3. /healthz and /readyz answer 200 as uid 10001 under tini as PID 1;
#   4. a simulated missed call (`ringback simulate`: Twilio-signed webhooks)
#      reaches the console provider ("would send SMS" in the log);
#   5. SIGTERM to PID 1 ends the service cleanly (status 0) well inside the
#      30 s kill timeout of fly.toml;
#   6. a data volume the user cannot write (root-owned, 0755) makes start-up
#      refuse with a clear message, or /readyz fail;
#   7. likewise a database file the user cannot write.
#
# Usage (as root; builds nothing, uses target/release/ringback):
#   cargo build --release -p ringback && sudo scripts/verify-image.sh
# Environment: RINGBACK_BIN, RINGBACK_IMAGE_ROOT, DEBIAN_MIRROR.
# Not run in CI: it needs root, debootstrap and (once) Debian's mirror.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
ROOT=${RINGBACK_IMAGE_ROOT:-/var/tmp/ringback-image-root}
ROOTFS=$ROOT/rootfs
BIN=${RINGBACK_BIN:-$REPO/target/release/ringback}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# fly.toml's kill_timeout: the supervisor's SIGKILL comes this long after SIGTERM.
KILL_TIMEOUT=30
IMAGE_ENV=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/app
    RINGBACK_CONFIG=/app/ringback.toml DATABASE_URL=sqlite:///data/ringback.db
    PORT=8080 RINGBACK_ADDR=0.0.0.0)
URL=http://127.0.0.1:8080

say() { printf '%s\n' "$*"; }
die() { say "verify-image: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (debootstrap, chroot and namespaces need it)"

if [ "${1:-}" != --inside ]; then
    [ -x "$BIN" ] || die "$BIN not found: cargo build --release -p ringback"
    command -v debootstrap >/dev/null || die "debootstrap missing: apt-get install debootstrap"
    mkdir -p "$ROOT"
    if [ ! -e "$ROOTFS/.ringback-base" ]; then
        say "== base: debootstrap bookworm (minbase) into $ROOTFS"
        rm -rf "$ROOTFS"
        debootstrap --variant=minbase bookworm "$ROOTFS" "$MIRROR" >"$ROOT/debootstrap.log" 2>&1 \
            || die "debootstrap failed, see $ROOT/debootstrap.log"
        # FROM debian:bookworm-slim; RUN apt-get install ca-certificates tini
        unshare --mount --propagation private sh -ec "
            mount -t proc proc '$ROOTFS/proc'
            chroot '$ROOTFS' apt-get update -qq
            chroot '$ROOTFS' env DEBIAN_FRONTEND=noninteractive \
                apt-get install -y -qq --no-install-recommends ca-certificates tini
            rm -rf '$ROOTFS'/var/lib/apt/lists/*" >"$ROOT/apt.log" 2>&1 \
            || die "installing the image's packages failed, see $ROOT/apt.log"
        touch "$ROOTFS/.ringback-base"
    fi
    # RUN useradd --system --uid 10001 --home /app ringback
    #     && mkdir -p /data /app && chown ringback /data /app
    chroot "$ROOTFS" id -u ringback >/dev/null 2>&1 \
        || chroot "$ROOTFS" useradd --system --uid 10001 --home /app ringback 2>/dev/null
    rm -rf "$ROOTFS/data" "$ROOTFS/app"
    mkdir -p "$ROOTFS/data" "$ROOTFS/app"
    chroot "$ROOTFS" chown ringback /data /app
    # COPY ... /usr/local/bin/ringback, ringback.toml, prompts
    install -m 0755 "$BIN" "$ROOTFS/usr/local/bin/ringback"
    install -m 0644 "$REPO/ringback.toml" "$ROOTFS/app/ringback.toml"
    cp -r "$REPO/prompts" "$ROOTFS/app/prompts"
    # The rest runs in network and mount namespaces of its own: the image's
    # port, and mounts that vanish with it.
    exec unshare --net --mount --propagation private "$0" --inside
fi

# ---- inside the namespaces ------------------------------------------------
ip link set lo up
mount --rbind /dev "$ROOTFS/dev"
USERSPEC="10001:$(chroot "$ROOTFS" id -g ringback)"
WORK=$(mktemp -d /tmp/ringback-verify-image.XXXXXX)
PASSED=0
FAILED=0
# A log without its colour codes.
plain() { sed 's/\x1b\[[0-9;]*m//g' "$1"; }
pass() { PASSED=$((PASSED + 1)); say "PASS  $*"; }
fail() { FAILED=$((FAILED + 1)); say "FAIL  $*"; }

# As the image's user, in the image's environment, at WORKDIR /app.
as_image() { env -i "${IMAGE_ENV[@]}" chroot --userspec="$USERSPEC" "$ROOTFS" /usr/bin/env -C /app "$@"; }

# ENTRYPOINT ["/usr/bin/tini", "--", "ringback"] CMD ["serve"], as PID 1 of
# a new PID namespace. Sets SERVICE (unshare's pid, whose status is the
# service's) and PID1 (tini's pid as seen from here).
start() {
    local log=$1
    unshare --pid --fork --mount-proc="$ROOTFS/proc" \
        env -i "${IMAGE_ENV[@]}" chroot --userspec="$USERSPEC" "$ROOTFS" \
        /usr/bin/env -C /app /usr/bin/tini -- ringback serve >"$log" 2>&1 &
    SERVICE=$!
    PID1=""
    for _ in $(seq 50); do
        PID1=$(pgrep -P "$SERVICE" || true)
        [ -n "$PID1" ] && break
        sleep 0.1
    done
}

# Waits up to $1 s for /readyz 200; true if it came.
ready_within() {
    local deadline=$((SECONDS + $1))
    while [ $SECONDS -lt "$deadline" ]; do
        kill -0 "$SERVICE" 2>/dev/null || return 1
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz")" = 200 ] && return 0
        sleep 0.2
    done
    return 1
}

# SIGTERM to PID 1, then up to $1 s; sets STOP_STATUS and STOP_SECONDS.
stop() {
    local start_ns
    STOP_STATUS=""
    start_ns=$(date +%s%N)
    kill -TERM "$PID1" 2>/dev/null || true
    local deadline=$((SECONDS + $1))
    while kill -0 "$SERVICE" 2>/dev/null && [ $SECONDS -lt "$deadline" ]; do sleep 0.05; done
    if kill -0 "$SERVICE" 2>/dev/null; then
        kill -KILL "$PID1" 2>/dev/null || true
        STOP_STATUS="killed: still running after $1 s"
    fi
    set +e
    wait "$SERVICE"
    local status=$?
    set -e
    STOP_STATUS=${STOP_STATUS:-$status}
    STOP_SECONDS=$(awk -v a="$start_ns" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
}

say "== image: $ROOTFS ($(cat "$ROOTFS/etc/debian_version"), $(chroot "$ROOTFS" dpkg-query -W -f '${Package} ${Version}, ' ca-certificates tini)user $(chroot "$ROOTFS" id ringback))"
say "== binary: $BIN ($(stat -c %s "$BIN") bytes)"

# 1. libraries
missing=$(chroot "$ROOTFS" ldd /usr/local/bin/ringback | grep 'not found' || true)
if [ -z "$missing" ]; then
    pass "1. every library of /usr/local/bin/ringback is in the image: $(chroot "$ROOTFS" ldd /usr/local/bin/ringback | awk '{print $1}' | tr '\n' ' ')"
else
    fail "1. libraries missing in the image: $missing"
fi

# 2. check-config
if out=$(as_image ringback check-config /app/ringback.toml 2>&1); then
    pass "2. ringback check-config as uid 10001: $(printf '%s' "$out" | tail -1)"
else
    fail "2. ringback check-config: $out"
fi

# 3. start, health, readiness, user, PID 1
start "$WORK/serve.log"
if ready_within 20; then
    health=$(curl -s "$URL/healthz")
    ready=$(curl -s "$URL/readyz")
    # tini's pid inside its namespace (the last NSpid field) must be 1.
    comm=$(cat "/proc/$PID1/comm" 2>/dev/null || echo '?')
    nspid=$(awk '/^NSpid:/ {print $NF}' "/proc/$PID1/status" 2>/dev/null || echo '?')
    child=$(pgrep -P "$PID1" || true)
    uid=$(awk '/^Uid:/ {print $2}' "/proc/$child/status" 2>/dev/null || echo '?')
    if [ "$comm" = tini ] && [ "$nspid" = 1 ] && [ "$uid" = 10001 ]; then
        pass "3. /healthz '$health', /readyz '$ready'; PID 1 is $comm, ringback runs as uid $uid"
    else
        fail "3. answers, but PID $nspid is '$comm' and ringback's uid '$uid'"
    fi
else
    fail "3. /readyz not 200 within 20 s; log:"; plain "$WORK/serve.log" | tail -20
fi

# 4. a missed call through the console provider
if out=$(as_image ringback simulate --url "$URL" --from +15125550147 2>&1) \
    && sleep 0.5 && plain "$WORK/serve.log" | grep -q 'would send SMS'; then
    pass "4. ringback simulate: $(printf '%s' "$out" | grep -c ' -> 200') webhooks answered 200; the console provider logged: $(plain "$WORK/serve.log" | grep -m1 -o 'would send SMS.*' | cut -c1-160)"
else
    fail "4. simulated missed call: $out"; plain "$WORK/serve.log" | tail -20
fi

# 5. SIGTERM
stop "$KILL_TIMEOUT"
if [ "$STOP_STATUS" = 0 ]; then
    pass "5. SIGTERM to PID 1 (tini): exit status 0 after $STOP_SECONDS s (kill timeout ${KILL_TIMEOUT} s)"
else
    fail "5. SIGTERM: status $STOP_STATUS after $STOP_SECONDS s"; plain "$WORK/serve.log" | tail -20
fi

# 6 and 7: storage the user cannot write. Either start-up refuses, or
# /readyz fails; a service that answers ready would lose every webhook.
refuses() {
    local what=$1 log=$2
    start "$log"
    if ready_within 10; then
        fail "$what: /readyz answered 200 ('$(curl -s "$URL/readyz")'); log: $(plain "$log" | tail -3 | tr '\n' ' ')"
        stop 30
    elif ! kill -0 "$SERVICE" 2>/dev/null; then
        set +e; wait "$SERVICE"; local status=$?; set -e
        pass "$what: start-up refused, exit status $status: $(plain "$log" | grep -v '^\s*$' | tail -2 | tr '\n' ' ' | cut -c1-400)"
    else
        pass "$what: running but /readyz answers '$(curl -s "$URL/readyz")'"
        stop 30
    fi
}

chown root:root "$ROOTFS/data"
chmod 0755 "$ROOTFS/data"
rm -f "$ROOTFS/data/"ringback.db*
refuses "6. /data owned by root (0755), no database yet" "$WORK/root-volume.log"

chroot "$ROOTFS" chown ringback /data
start "$WORK/seed.log"
ready_within 20 || true
stop 30
chown root:root "$ROOTFS/data/"ringback.db*
chmod 0644 "$ROOTFS/data/"ringback.db*
refuses "7. /data/ringback.db owned by root (0644) in a writable /data" "$WORK/root-db.log"
chroot "$ROOTFS" chown ringback /data/ringback.db

say "== $PASSED passed, $FAILED failed (logs in $WORK)"
[ "$FAILED" = 0 ]
