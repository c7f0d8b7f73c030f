#!/usr/bin/env bash
# deps.sh build|test|bench|vm|cluster — make sure the Debian packages a target needs are present.
# As root, installs what is missing with apt-get; otherwise prints the exact packages to
# install and fails. Checks by pkg-config module or command, so it is quick when all is there.
set -euo pipefail

want="${1:-build}"
missing=()
optional=() # installed when possible; a failure is reported, not fatal
need_promtool=

need_pc() { # pkg-config-module debian-package
    pkg-config --exists "$1" 2>/dev/null || missing+=("$2")
}
need_cmd() { # command debian-package
    command -v "$1" >/dev/null 2>&1 || missing+=("$2")
}
need_file() { # path debian-package — a file or directory a package installs
    [ -e "$1" ] || missing+=("$2")
}
need_static() { # file debian-package — a statically linked executable at an exact path
    if [ ! -x "$1" ] || ldd "$1" >/dev/null 2>&1; then missing+=("$2"); fi
}

need_cmd cc gcc
need_cmd make make
need_cmd pkg-config pkg-config
if command -v pkg-config >/dev/null 2>&1; then
    need_pc liburing liburing-dev
    need_pc libxxhash libxxhash-dev
    need_pc openssl libssl-dev
    need_pc libmicrohttpd libmicrohttpd-dev # the metrics and health listener (br_http.c)
    # the batch codecs (proto/kp_codec.c): the client, the broker's log cleaner
    need_pc zlib zlib1g-dev
    need_pc snappy libsnappy-dev
    need_pc liblz4 liblz4-dev
    need_pc libzstd libzstd-dev
else
    missing+=(liburing-dev libxxhash-dev libssl-dev libmicrohttpd-dev zlib1g-dev libsnappy-dev
        liblz4-dev libzstd-dev)
fi
# the ZooKeeper C client (broker/clu/, the cluster): no pkg-config module, the header is the check
need_file /usr/include/zookeeper/zookeeper.h libzookeeper-mt-dev

case "$want" in
test | bench)
    command -v pkg-config >/dev/null 2>&1 && need_pc check check || missing+=(check)
    need_cmd kcat kcat
    need_cmd openssl openssl
    need_cmd socat socat # test_client_tls: a TLS front it can cut and restore
    need_cmd clang clang
    # ASan/UBSan runtime for gcc comes with gcc itself; LeakSanitizer needs nothing more.
    need_cmd node nodejs
    need_cmd npm npm
    # tests/interop/test_old_clients.sh: old clients against the protocol baseline
    need_cmd go golang-go
    need_file /usr/share/gocode/src/github.com/Shopify/sarama golang-github-shopify-sarama-dev
    need_file /usr/lib/python3/dist-packages/kafka python3-kafka
    # tests/interop/test_admin_clients.sh: librdkafka's AdminClient from Python
    need_file /usr/lib/python3/dist-packages/confluent_kafka python3-confluent-kafka
    # tests/interop/test_burrow.sh: Burrow reads __consumer_offsets; the ZooKeeper it needs
    # for itself is run from Debian's zookeeper jars (no service is installed or started).
    # Burrow is tried apart (optional below): the script skips when it cannot be installed.
    need_file /usr/share/java/zookeeper.jar zookeeper
    need_cmd java default-jre-headless
    command -v Burrow >/dev/null 2>&1 || optional+=(burrow)
    # test_kcat_resubscribe builds a librdkafka consumer; bench_rdkafka links it too
    pkg-config --exists rdkafka 2>/dev/null || missing+=(librdkafka-dev)
    # test_br_metrics, test_metrics: Prometheus's checker of the /metrics text. Debian ships
    # promtool only inside the prometheus package, whose installation also starts a Prometheus
    # server (its init script, on every address) and pulls in a web UI; the tests need the one
    # static binary, so it is taken out of that package (install_promtool below).
    command -v promtool >/dev/null 2>&1 || need_promtool=1
    # tests/integration/test_cluster_zk: a real ZooKeeper server from Debian's jars
    need_file /usr/share/java/zookeeper.jar zookeeper
    need_cmd java default-jre-headless
    ;;
esac
case "$want" in
bench)
    need_cmd gnuplot gnuplot-nox
    need_cmd python3 python3 # scripts/bench-readme.py
    ;;
vm) # scripts/ktls-vm.sh: Debian's kernel under QEMU (TCG) with a busybox initramfs
    need_cmd qemu-system-x86_64 qemu-system-x86
    need_static /bin/busybox busybox-static
    need_cmd cpio cpio
    need_cmd gzip gzip
    ;;
cluster)
    # scripts/cluster.sh: a ZooKeeper server from Debian's jars (no service is installed)
    need_file /usr/share/java/zookeeper.jar zookeeper
    need_cmd java default-jre-headless
    ;;
esac

[ ${#missing[@]} -eq 0 ] && [ ${#optional[@]} -eq 0 ] && [ -z "$need_promtool" ] && exit 0

# De-duplicate, keep order.
[ ${#missing[@]} -gt 0 ] && mapfile -t missing < <(printf '%s\n' "${missing[@]}" | awk '!seen[$0]++')

if [ "$(id -u)" -ne 0 ]; then
    if [ ${#missing[@]} -gt 0 ]; then
        echo "splicelog: missing packages for '$want': ${missing[*]}" >&2
        echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
    fi
    if [ -n "$need_promtool" ]; then
        echo "splicelog: promtool is missing: run scripts/deps.sh $want as root (it takes" \
            "/usr/bin/promtool out of Debian's prometheus package into /usr/local/bin)" >&2
    fi
    [ ${#optional[@]} -gt 0 ] &&
        echo "splicelog: optional, for the tests that use them: sudo apt-get install -y ${optional[*]}" >&2
    [ ${#missing[@]} -eq 0 ] && [ -z "$need_promtool" ] && exit 0
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if [ ${#missing[@]} -gt 0 ]; then
    echo "splicelog: installing ${missing[*]}" >&2
    if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; then
        apt-get update -q >&2
        apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
    fi
fi

if [ ${#optional[@]} -gt 0 ]; then
    echo "splicelog: installing ${optional[*]} (optional)" >&2
    apt-get install -y -q --no-install-recommends "${optional[@]}" >&2 ||
        echo "splicelog: could not install ${optional[*]}: the tests that use it skip" >&2
fi

# promtool alone: the prometheus .deb is downloaded (apt-get download, nothing installed or
# started) and its /usr/bin/promtool, a static binary, copied to /usr/local/bin.
install_promtool() {
    local tmp
    tmp=$(mktemp -d)
    if ! (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root prometheus >&2); then
        apt-get update -q >&2
        (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root prometheus >&2) ||
            { rm -rf "$tmp"; return 1; }
    fi
    dpkg-deb --fsys-tarfile "$tmp"/prometheus_*.deb | tar -x -C "$tmp" ./usr/bin/promtool &&
        install -m 755 "$tmp/usr/bin/promtool" /usr/local/bin/promtool
    local rc=$?
    rm -rf "$tmp"
    return $rc
}
if [ -n "$need_promtool" ]; then
    echo "splicelog: installing promtool (from Debian's prometheus package) into /usr/local/bin" >&2
    install_promtool
fi
