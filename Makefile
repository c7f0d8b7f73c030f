# splicelog — top-level GNU Makefile.
#
#   make            release build into build/ (broker, client library, bench, examples)
#   make run        install missing build dependencies, build, start the broker on defaults
#   make test       install what the tests need, build with ASan+UBSan, run every suite
#   make fuzz       libFuzzer targets (clang), each for FUZZ_SECONDS
#   make tsan       the concurrency suites under ThreadSanitizer
#   make soak-partitions  test_partitions at 100,000 partitions under 20,000 descriptors
#   make test-ktls  kernel-TLS tests in a QEMU VM on Debian's kernel (scripts/ktls-vm.sh)
#   make bench      benchmarks (not part of make test)
#   make bench-cluster  the cluster's benchmark alone (ZooKeeper + 3 brokers vs a single node)
#
# Sources are picked up by directory: a new .c under proto/, storage/, broker/, client/ joins
# its module library; tests/unit/test_*.c and tests/integration/test_*.c each become one
# Check suite binary.

BUILD     ?= build
CC        ?= cc
FUZZ_SECONDS ?= 60

PKGS      := liburing libxxhash openssl libmicrohttpd
# The batch codecs (proto/kp_codec.c: gzip, snappy, lz4, zstd): proto links them, so every
# program does (the client compresses, the broker's log cleaner recompresses).
CODEC_PKGS := zlib snappy liblz4 libzstd
TEST_PKGS := check

WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wpointer-arith -Wformat=2 -Wvla -Wundef -Wcast-align -Wno-unused-parameter
BASE_CFLAGS := -std=gnu11 -O2 -g -D_GNU_SOURCE -fno-strict-aliasing -pthread $(WARN)

# Include paths per folder, so that the layering is a compile error rather than a convention
# (README, Layout): proto includes only proto; storage proto; the client proto. In the broker,
# net/ sees the top-level broker headers and its own, never api/, coord/ or sec/; api/ sees
# coord/, sec/ and clu/ but never net/; coord/, sec/ and clu/ (the cluster) see only
# themselves. The top level (the server, main), tests, bench and examples see everything.
INC_ALL := -Iproto -Istorage -Ibroker -Ibroker/net -Ibroker/api -Ibroker/coord -Ibroker/sec \
           -Ibroker/clu -Iclient -Itests/support
inc_of   = $(if $(filter proto/%,$1),-Iproto,\
           $(if $(filter storage/%,$1),-Iproto -Istorage,\
           $(if $(filter client/%,$1),-Iproto -Iclient,\
           $(if $(filter broker/net/%,$1),-Iproto -Istorage -Ibroker -Ibroker/net,\
           $(if $(filter broker/api/%,$1),-Iproto -Istorage -Ibroker -Ibroker/api -Ibroker/coord -Ibroker/sec -Ibroker/clu,\
           $(if $(filter broker/coord/%,$1),-Iproto -Istorage -Ibroker -Ibroker/coord,\
           $(if $(filter broker/sec/%,$1),-Iproto -Istorage -Ibroker -Ibroker/sec,\
           $(if $(filter broker/clu/%,$1),-Iproto -Istorage -Ibroker -Ibroker/clu,\
           $(INC_ALL)))))))))
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
             -fno-omit-frame-pointer

# Dependency flags are resolved lazily so that `make deps` can install pkg-config first.
DEP_CFLAGS = $(shell pkg-config --cflags $(PKGS) $(CODEC_PKGS) 2>/dev/null)
CODEC_LIBS = $(shell pkg-config --libs $(CODEC_PKGS) 2>/dev/null)
DEP_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) $(CODEC_LIBS) -lpthread -lm
CHECK_LIBS = $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)
# The ZooKeeper C client (Debian's libzookeeper-mt-dev, no pkg-config module): only what links
# the broker library (broker/clu/) gets it, never libsplicelog or the benchmarks.
ZK_LIBS    = -lzookeeper_mt

CFLAGS_REL  = $(BASE_CFLAGS) $(DEP_CFLAGS) $(EXTRA_CFLAGS)
CFLAGS_SAN  = $(BASE_CFLAGS) $(DEP_CFLAGS) $(SAN_FLAGS) -DSPLICELOG_SANITIZED $(EXTRA_CFLAGS)
CFLAGS_TSAN = $(BASE_CFLAGS) $(DEP_CFLAGS) -fsanitize=thread -O1 $(EXTRA_CFLAGS)

MODULES     := proto storage broker client
SRC_proto   := $(wildcard proto/*.c)
SRC_storage := $(wildcard storage/*.c)
SRC_broker  := $(filter-out broker/main.c,$(wildcard broker/*.c broker/*/*.c))
SRC_client  := $(wildcard client/*.c)
UNIT_TESTS  := $(wildcard tests/unit/test_*.c)
INTEG_TESTS := $(wildcard tests/integration/test_*.c)
CLUSTER_TESTS := $(wildcard tests/cluster/test_*.c)
# tb_nemesis drives librdkafka: only the cluster's fault tests (tests/cluster/) link it.
CLUSTER_SUPPORT := tests/support/tb_nemesis.c
TEST_SUPPORT := $(filter-out $(CLUSTER_SUPPORT),$(wildcard tests/support/*.c))
BENCH_SRC   := $(wildcard bench/*.c)
EXAMPLES    := $(wildcard examples/*.c)
FUZZ_SRC    := $(wildcard tests/fuzz/fuzz_*.c)
TOOL_SRC    := $(wildcard tools/*.c)

# Link order: the broker needs storage needs proto; the client needs proto; proto needs the
# codec libraries (in DEP_LIBS).
LINK_ORDER  := broker client storage proto

# $(call objs,VARIANT,MODULE)
objs = $(patsubst %.c,$(BUILD)/$(1)/obj/%.o,$(SRC_$(2)))
libs = $(foreach m,$(LINK_ORDER),$(if $(SRC_$(m)),$(BUILD)/$(1)/lib$(m).a))

REL_LIBS := $(call libs,rel)
# Benchmarks drive the broker as a process: they link everything but the broker library.
BENCH_LIBS = $(filter-out %/libbroker.a,$(REL_LIBS))
SAN_LIBS := $(call libs,san)

.PHONY: all build-all test-build deps deps-test run cluster test unit integration interop test-cluster test-ktls \
        test-txn-crash fuzz tsan bench bench-cluster \
        soak-partitions \
        clean format \
        check-format install

all: deps
	@$(MAKE) --no-print-directory build-all

build-all: $(BUILD)/splicelogd $(BUILD)/splicelog $(BUILD)/libsplicelog.a $(BUILD)/libsplicelog.so \
     $(patsubst bench/%.c,$(BUILD)/%,$(filter bench/splicelog-bench.c,$(BENCH_SRC))) \
     $(patsubst examples/%.c,$(BUILD)/examples/%,$(EXAMPLES))

deps:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

# ---- objects and module libraries, one tree per variant --------------------------------

$(BUILD)/rel/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_REL) $(call inc_of,$<) -MMD -MP -c $< -o $@

$(BUILD)/san/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_SAN) $(call inc_of,$<) -MMD -MP -c $< -o $@

$(BUILD)/tsan/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_TSAN) $(call inc_of,$<) -MMD -MP -c $< -o $@

define module_lib
$(BUILD)/$(1)/lib$(2).a: $(call objs,$(1),$(2))
	@mkdir -p $$(@D)
	rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach v,rel san tsan,$(foreach m,$(MODULES),$(eval $(call module_lib,$(v),$(m)))))

# ---- programs ------------------------------------------------------------------------------

ifneq ($(wildcard broker/main.c),)
$(BUILD)/splicelogd: $(BUILD)/rel/obj/broker/main.o $(REL_LIBS)
	$(CC) $(CFLAGS_REL) $^ -o $@ $(DEP_LIBS) $(ZK_LIBS)
$(BUILD)/san/splicelogd: $(BUILD)/san/obj/broker/main.o $(SAN_LIBS)
	$(CC) $(CFLAGS_SAN) $^ -o $@ $(DEP_LIBS) $(ZK_LIBS)
else
$(BUILD)/splicelogd $(BUILD)/san/splicelogd:
	@echo "splicelogd: broker not built yet (broker/main.c does not exist)"
endif

# splicelog, the command-line tool (tools/cli.h): its commands use the broker's modules.
$(BUILD)/splicelog: $(patsubst %.c,$(BUILD)/rel/obj/%.o,$(TOOL_SRC)) $(REL_LIBS)
	$(CC) $(CFLAGS_REL) $^ -o $@ $(DEP_LIBS) $(ZK_LIBS)
$(BUILD)/san/splicelog: $(patsubst %.c,$(BUILD)/san/obj/%.o,$(TOOL_SRC)) $(SAN_LIBS)
	$(CC) $(CFLAGS_SAN) $^ -o $@ $(DEP_LIBS) $(ZK_LIBS)

# libsplicelog: the client plus the proto codec it uses, as one static and one shared library,
# both exporting the sl_ names only: objects built with hidden visibility (SL_API makes the
# public names visible); the static library is one relocatable object (ld -r) whose hidden
# symbols objcopy makes local, so kp_* and sl__* cannot clash with an application's names.
CLIENT_OBJS_REL = $(call objs,rel,client) $(call objs,rel,proto)
CLIENT_OBJS_PIC = $(patsubst $(BUILD)/rel/%,$(BUILD)/pic/%,$(CLIENT_OBJS_REL))
$(BUILD)/libsplicelog.a: $(CLIENT_OBJS_PIC)
	@mkdir -p $(@D)
	$(LD) -r -o $(BUILD)/pic/libsplicelog.o $^
	objcopy --localize-hidden $(BUILD)/pic/libsplicelog.o
	rm -f $@ && ar rcs $@ $(BUILD)/pic/libsplicelog.o
$(BUILD)/libsplicelog.so: $(CLIENT_OBJS_PIC)
	$(CC) -shared -Wl,-soname,libsplicelog.so.0 $^ -o $@ $(DEP_LIBS)
$(BUILD)/pic/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_REL) $(call inc_of,$<) -fPIC -fvisibility=hidden -DSPLICELOG_BUILD_LIB -MMD -MP -c $< -o $@

# --client rdkafka: with Debian's librdkafka-dev the bench links bench/sb_cl_rdkafka.c and
# -lrdkafka; without it bench/sb_cl_rdkafka_none.c, which says so when asked for.
BENCH_RDKAFKA = $(shell pkg-config --exists rdkafka 2>/dev/null && echo yes)
BENCH_CL_SKIP = $(if $(BENCH_RDKAFKA),bench/sb_cl_rdkafka_none.c,bench/sb_cl_rdkafka.c)
BENCH_CL_LIBS = $(if $(BENCH_RDKAFKA),$(shell pkg-config --libs rdkafka 2>/dev/null))
$(BUILD)/splicelog-bench: $(BUILD)/rel/obj/bench/splicelog-bench.o \
                          $(filter-out $(BUILD)/rel/obj/bench/splicelog-bench.o $(BUILD)/rel/obj/bench/bench_%.o,$(patsubst %.c,$(BUILD)/rel/obj/%.o,$(filter-out $(BENCH_CL_SKIP),$(BENCH_SRC)))) \
                          $(BENCH_LIBS)
	$(CC) $(CFLAGS_REL) $^ -o $@ $(DEP_LIBS) $(BENCH_CL_LIBS)

# Stand-alone micro-benchmarks: bench/bench_<name>.c -> build/bench_<name>
$(BUILD)/bench_%: $(BUILD)/rel/obj/bench/bench_%.o $(BENCH_LIBS)
	$(CC) $(CFLAGS_REL) $^ -o $@ $(DEP_LIBS)

# The fetch benchmark speaks raw protocol: proto only.
$(BUILD)/bench_fetch: $(BUILD)/rel/obj/bench/bench_fetch.o $(BUILD)/rel/libproto.a
	$(CC) $(CFLAGS_REL) $^ -o $@ $(DEP_LIBS)

# The librdkafka peer of bench_producer (issue 6): Debian's librdkafka-dev, none of ours.
$(BUILD)/bench_rdkafka: $(BUILD)/rel/obj/bench/bench_rdkafka.o
	$(CC) $(CFLAGS_REL) $^ -o $@ $(DEP_LIBS) -lrdkafka

$(BUILD)/examples/%: $(BUILD)/rel/obj/examples/%.o $(BUILD)/libsplicelog.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_REL) $^ -o $@ $(DEP_LIBS)

# ---- tests -----------------------------------------------------------------------------------

SAN_SUPPORT = $(patsubst %.c,$(BUILD)/san/obj/%.o,$(TEST_SUPPORT))
SAN_CLUSTER_SUPPORT = $(patsubst %.c,$(BUILD)/san/obj/%.o,$(CLUSTER_SUPPORT))
$(BUILD)/san/tests/%: $(BUILD)/san/obj/tests/unit/%.o $(SAN_SUPPORT) $(SAN_LIBS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_SAN) $^ -o $@ $(CHECK_LIBS) $(DEP_LIBS) $(ZK_LIBS)
$(BUILD)/san/itests/%: $(BUILD)/san/obj/tests/integration/%.o $(SAN_SUPPORT) $(SAN_LIBS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_SAN) $^ -o $@ $(CHECK_LIBS) $(DEP_LIBS) $(ZK_LIBS)

# The cluster's fault tests (tests/cluster/) drive the cluster with librdkafka as the producer.
$(BUILD)/san/ctests/%: $(BUILD)/san/obj/tests/cluster/%.o $(SAN_CLUSTER_SUPPORT) $(SAN_SUPPORT) \
                       $(SAN_LIBS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_SAN) $^ -o $@ $(CHECK_LIBS) $(DEP_LIBS) $(ZK_LIBS) -lrdkafka

UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/san/tests/%,$(UNIT_TESTS))
INTEG_BINS := $(patsubst tests/integration/%.c,$(BUILD)/san/itests/%,$(INTEG_TESTS))
CLUSTER_BINS := $(patsubst tests/cluster/%.c,$(BUILD)/san/ctests/%,$(CLUSTER_TESTS))

test: deps-test
	@scripts/check-layers.sh
	@$(MAKE) --no-print-directory test-build
	@scripts/run-tests.sh $(BUILD)

# The library as applications get it and the examples: tests/interop/test_libsplicelog.sh.
LIB_ARTIFACTS = $(BUILD)/libsplicelog.a $(BUILD)/libsplicelog.so \
                $(patsubst examples/%.c,$(BUILD)/examples/%,$(EXAMPLES))

test-build: $(UNIT_BINS) $(INTEG_BINS) $(CLUSTER_BINS) $(BUILD)/san/splicelogd $(BUILD)/splicelogd $(LIB_ARTIFACTS) \
            $(BUILD)/san/splicelog

unit: deps-test $(UNIT_BINS)
	@SPLICELOG_SUITES=unit scripts/run-tests.sh $(BUILD)

integration: deps-test $(INTEG_BINS) $(BUILD)/san/splicelogd $(BUILD)/san/splicelog
	@SPLICELOG_SUITES=integration scripts/run-tests.sh $(BUILD)

interop: deps-test $(BUILD)/san/splicelogd $(LIB_ARTIFACTS)
	@SPLICELOG_SUITES=interop scripts/run-tests.sh $(BUILD)

# The cluster's fault tests (tests/cluster/) for 10 minutes of faults instead of make test's 40 s.
# (test_cluster_prefer runs the tool as $(BUILD)/san/splicelog, tb_cli.h: built here too.)
test-cluster: deps-test $(CLUSTER_BINS) $(BUILD)/san/splicelogd $(BUILD)/san/splicelog
	@CLUSTER_FAULT_SECONDS=$${CLUSTER_FAULT_SECONDS:-600} SPLICELOG_SUITE_TIMEOUT=1500 \
	    SPLICELOG_SUITES=cluster \
	    scripts/run-tests.sh $(BUILD)

# The transaction crash loop of make test (test_txn_crash), 20 rounds instead of 1.
test-txn-crash: $(BUILD)/san/itests/test_txn_crash $(BUILD)/san/splicelogd
	SPLICELOGD=$(CURDIR)/$(BUILD)/san/splicelogd SPLICELOG_ROOT=$(CURDIR) TXN_CRASH_ROUNDS=20 \
	    $(BUILD)/san/itests/test_txn_crash

# Kernel TLS on a kernel that has the tls module: Debian's kernel under QEMU (TCG), this
# machine's root shared in read-only (scripts/ktls-vm.sh); not part of make test.
test-ktls: deps-test
	@$(MAKE) --no-print-directory test-build build-all
	@scripts/ktls-vm.sh -- tests/interop/test_ktls.sh

# ThreadSanitizer build of the suites that exercise concurrency (tests/unit/test_*_mt.c).
TSAN_TESTS := $(wildcard tests/unit/test_*_mt.c)
TSAN_LIBS  := $(call libs,tsan)
$(BUILD)/tsan/tests/%: $(BUILD)/tsan/obj/tests/unit/%.o $(TSAN_LIBS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_TSAN) $^ -o $@ $(CHECK_LIBS) $(DEP_LIBS) $(ZK_LIBS)
tsan: deps-test $(patsubst tests/unit/%.c,$(BUILD)/tsan/tests/%,$(TSAN_TESTS))
	@set -e; for t in $(patsubst tests/unit/%.c,$(BUILD)/tsan/tests/%,$(TSAN_TESTS)); do \
	  echo "== $$t"; CK_FORK=no TSAN_OPTIONS=halt_on_error=1 $$t; done

# test_partitions at full size (issue 21): 100,000 partitions under a 20,000-descriptor limit,
# written, read, restarted cleanly and after kill -9, with the release broker (minutes, data
# in /dev/shm). Not part of make test, which runs it at 20,000 under 2,048.
soak-partitions: deps-test
	@$(MAKE) --no-print-directory $(BUILD)/splicelogd $(BUILD)/san/itests/test_partitions
	TB_PARTITIONS=100000 TB_NOFILE=20000 CK_TIMEOUT_MULTIPLIER=3 \
	  SPLICELOGD=$(abspath $(BUILD))/splicelogd SPLICELOG_ROOT=$(CURDIR) \
	  $(BUILD)/san/itests/test_partitions

# libFuzzer targets: tests/fuzz/fuzz_<name>.c, built with clang (ASan + UBSan) against the proto
# sources; fuzz_broker also against storage and the broker (no main) and the test host of
# tests/support/tb_ctx.c, so requests go through dispatch and the handlers onto a real store.
FUZZ_CC     := clang
FUZZ_CFLAGS  = -std=gnu11 -g -O1 -D_GNU_SOURCE -fno-strict-aliasing -pthread $(DEP_CFLAGS) \
               -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZ_LDFLAGS := -fsanitize=fuzzer,address,undefined
FUZZ_BINS   := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
fuzz_objs    = $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(1))
FUZZ_PROTO   = $(call fuzz_objs,$(SRC_proto))
FUZZ_BROKER  = $(call fuzz_objs,$(SRC_proto) $(SRC_storage) $(SRC_broker) tests/support/tb_ctx.c)
$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(call inc_of,$<) -MMD -MP -c $< -o $@
$(BUILD)/fuzz/fuzz_broker: $(BUILD)/fuzz/obj/tests/fuzz/fuzz_broker.o $(FUZZ_BROKER)
	$(FUZZ_CC) $(FUZZ_LDFLAGS) $^ -o $@ $(DEP_LIBS) $(ZK_LIBS)
# fuzz_sasl drives the SASL mechanisms (broker/sec/br_sasl*.c), which need OpenSSL.
$(BUILD)/fuzz/fuzz_sasl: $(BUILD)/fuzz/obj/tests/fuzz/fuzz_sasl.o \
                        $(call fuzz_objs,$(wildcard broker/sec/br_sasl*.c))
	$(FUZZ_CC) $(FUZZ_LDFLAGS) $^ -o $@ -lcrypto
$(BUILD)/fuzz/%: $(BUILD)/fuzz/obj/tests/fuzz/%.o $(FUZZ_PROTO)
	$(FUZZ_CC) $(FUZZ_LDFLAGS) $^ -o $@ $(CODEC_LIBS)
fuzz: deps-test $(FUZZ_BINS)
	@set -e; for f in $(FUZZ_BINS); do \
	  n=$$(basename $$f); mkdir -p $(BUILD)/fuzz/corpus/$$n; \
	  seeds=tests/fuzz/seeds/$$n; [ -d $$seeds ] || seeds=; \
	  echo "== $$n for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	      -artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/corpus/$$n $$seeds; done

bench: all
	@scripts/bench.sh $(BUILD)

bench-cluster: all
	@scripts/bench.sh $(BUILD) cluster

# ---- running, installing, housekeeping ------------------------------------------------

run: all
	@if [ -x $(BUILD)/splicelogd ]; then exec $(BUILD)/splicelogd $(ARGS); \
	 else echo "broker not built yet"; fi

# A three-broker cluster on this machine (ZooKeeper + brokers 1..3 on 127.0.0.1:9092-9094, data
# in ./cluster-data): scripts/cluster.sh; `scripts/cluster.sh stop` stops it.
cluster: all
	@scripts/deps.sh cluster
	@scripts/cluster.sh start $(CLUSTER_DIR)

PREFIX ?= /usr/local
install: all
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 client/splicelog.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(BUILD)/libsplicelog.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/libsplicelog.so $(DESTDIR)$(PREFIX)/lib/libsplicelog.so.0
	ln -sf libsplicelog.so.0 $(DESTDIR)$(PREFIX)/lib/libsplicelog.so
	sed -e 's|@PREFIX@|$(PREFIX)|g' client/splicelog.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/splicelog.pc
	install -m 755 $(BUILD)/splicelogd $(DESTDIR)$(PREFIX)/bin/
	install -m 755 $(BUILD)/splicelog $(DESTDIR)$(PREFIX)/bin/

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

check-format:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)

# Objects built on the way to a test binary are kept (make would delete them as intermediate
# files and rebuild them every time).
.SECONDARY:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
