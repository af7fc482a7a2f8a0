# Entry points for people and CI. `make test` is what .ci/run calls.
SHELL := /bin/bash
BUILD_DIR ?= build
ASAN_DIR ?= build-asan
TSAN_DIR ?= build-tsan
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 20
GENERATOR ?= Ninja
WERROR ?= ON
CTEST_ARGS ?=
JOBS ?= $(shell nproc)
# ccache (if installed): objects are reused across clones of the repository.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := true
export CCACHE_SLOPPINESS := pch_defines,time_macros,include_file_mtime,include_file_ctime

.PHONY: deps build asan asan-integration tsan tsan-fault tsan-integration san-integration test unit integration fault tools test-asan clean fuzz fuzz-smoke bench bench-approval bench-kubelets bench-metrics bench-trust demo chart

deps:
	bash hack/install-deps.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G $(GENERATOR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCERTGUARD_WERROR=$(WERROR)

$(ASAN_DIR)/build.ninja:
	cmake -S . -B $(ASAN_DIR) -G $(GENERATOR) -DCMAKE_BUILD_TYPE=Debug -DCERTGUARD_WERROR=$(WERROR) \
	  -DCERTGUARD_SANITIZE=address,undefined -DCERTGUARD_BUILD_BENCH=OFF

build: $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

asan: $(ASAN_DIR)/build.ninja
	cmake --build $(ASAN_DIR) -j $(JOBS)

# Sanitized test runs: deadlines of the tests' waits are multiplied by this (test/support/wait.h).
SAN_TIME_SCALE ?= 3
# `$(call san-check,DIR)`: a report file in DIR (a child's stderr is often swallowed, so the
# runtimes write there through log_path) fails the target, after printing it.
san-check = if ls $(1)/* >/dev/null 2>&1; then cat $(1)/*; echo "sanitizer reports above (in $(1))"; exit 1; fi

# Integration tests under ASan+UBSan: certguard and the test binaries of the ASan tree, leaks
# detected; any report of any of them (kept in $(ASAN_DIR)/san-reports/) fails the target.
ASAN_INTEGRATION = rm -rf $(ASAN_DIR)/san-reports && mkdir -p $(ASAN_DIR)/san-reports; \
	  status=0; (cd $(ASAN_DIR) && CERTGUARD_TEST_TIME_SCALE=$(SAN_TIME_SCALE) \
	  ASAN_OPTIONS="detect_leaks=1 log_path=$(CURDIR)/$(ASAN_DIR)/san-reports/asan" \
	  UBSAN_OPTIONS="print_stacktrace=1 halt_on_error=1 log_path=$(CURDIR)/$(ASAN_DIR)/san-reports/ubsan" \
	  ctest -L integration --output-on-failure $(CTEST_ARGS)) || status=$$?; \
	  $(call san-check,$(CURDIR)/$(ASAN_DIR)/san-reports); exit $$status
asan-integration: asan tools
	$(ASAN_INTEGRATION)

# Unit tests under ThreadSanitizer, in their own tree (no benchmarks).
$(TSAN_DIR)/build.ninja:
	cmake -S . -B $(TSAN_DIR) -G $(GENERATOR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCERTGUARD_WERROR=$(WERROR) \
	  -DCERTGUARD_SANITIZE=thread -DCERTGUARD_BUILD_BENCH=OFF

TSAN_OPTS := second_deadlock_stack=1 suppressions=$(CURDIR)/test/tsan/suppressions.txt
tsan: $(TSAN_DIR)/build.ninja
	cmake --build $(TSAN_DIR) -j $(JOBS) --target certguard_unit_tests certguard certguard_fault_tests \
	  certguard_integration_tests
	cd $(TSAN_DIR) && TSAN_OPTIONS="halt_on_error=1 $(TSAN_OPTS)" \
	  ctest -L unit --output-on-failure -j $(JOBS) $(CTEST_ARGS)

# certguard itself under TSan: the fault tests of the TSan tree run its certguard; any
# report (kept in $(TSAN_DIR)/tsan-reports/) fails the target.
tsan-fault: tsan tools
	rm -rf $(TSAN_DIR)/tsan-reports && mkdir -p $(TSAN_DIR)/tsan-reports
	cd $(TSAN_DIR) && TSAN_OPTIONS="$(TSAN_OPTS) log_path=$(CURDIR)/$(TSAN_DIR)/tsan-reports/report" \
	  ctest -L fault --output-on-failure $(CTEST_ARGS)
	@if ls $(TSAN_DIR)/tsan-reports/report.* >/dev/null 2>&1; then \
	  cat $(TSAN_DIR)/tsan-reports/report.*; echo "ThreadSanitizer reported the races above"; exit 1; fi

# Integration tests under TSan: certguard and the integration test binary of the TSan tree; any
# report (kept in $(TSAN_DIR)/tsan-integration-reports/) fails the target.
TSAN_INTEGRATION = rm -rf $(TSAN_DIR)/tsan-integration-reports && \
	  mkdir -p $(TSAN_DIR)/tsan-integration-reports; \
	  status=0; (cd $(TSAN_DIR) && CERTGUARD_TEST_TIME_SCALE=$(SAN_TIME_SCALE) \
	  TSAN_OPTIONS="$(TSAN_OPTS) log_path=$(CURDIR)/$(TSAN_DIR)/tsan-integration-reports/report" \
	  ctest -L integration --output-on-failure $(CTEST_ARGS)) || status=$$?; \
	  $(call san-check,$(CURDIR)/$(TSAN_DIR)/tsan-integration-reports); exit $$status
tsan-integration: tsan tools
	$(TSAN_INTEGRATION)

# asan-integration and tsan-integration side by side, each against its own plane: a run
# spends most of its time waiting on the plane (about a third of two cores busy under
# ASan), so the two together take little longer than one. Each run's output is kept in
# its tree and printed once both have ended; either failing fails the target.
san-integration: asan tsan tools
	( $(ASAN_INTEGRATION) ) > $(ASAN_DIR)/integration.log 2>&1 & asan=$$!; \
	( $(TSAN_INTEGRATION) ) > $(TSAN_DIR)/integration.log 2>&1 & tsan=$$!; \
	a=0; wait $$asan || a=$$?; t=0; wait $$tsan || t=$$?; \
	echo "== ASan+UBSan integration: exit $$a"; cat $(ASAN_DIR)/integration.log; \
	echo "== TSan integration: exit $$t"; cat $(TSAN_DIR)/integration.log; \
	test $$a = 0 && test $$t = 0

# libFuzzer targets of the x509 parsers, built with clang in their own tree.
$(FUZZ_DIR)/build.ninja:
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_DIR) -G $(GENERATOR) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCERTGUARD_WERROR=$(WERROR) -DCERTGUARD_FUZZ=ON

fuzz: $(FUZZ_DIR)/build.ninja
	cmake --build $(FUZZ_DIR) -j $(JOBS)

# Each fuzz target for FUZZ_SECONDS from a freshly minted seed corpus.
fuzz-smoke: fuzz
	bash test/fuzz/smoke.sh $(FUZZ_DIR) $(FUZZ_SECONDS)

# Unit tests only, normal build: the quick loop while editing.
unit: build
	cd $(BUILD_DIR) && ctest -L unit --output-on-failure -j $(JOBS) $(CTEST_ARGS)

# The control plane's tools (kube-apiserver, etcd, kubectl, helm, promtool), built
# from the Go module proxy into ~/.cache/certguard/tools: slow once, then instant.
tools:
	bash hack/tools/build.sh

# Integration tests only: one real control plane (test/cluster/up.sh) for the run.
integration: build tools
	cd $(BUILD_DIR) && ctest -L integration --output-on-failure $(CTEST_ARGS)

# Fault tests: each kills or throttles its own control plane under a CSR burst (test/fault/).
fault: build tools
	cd $(BUILD_DIR) && ctest -L fault --output-on-failure $(CTEST_ARGS)

# The local demo: control plane, certguard, three kubelets and an attacker (hack/demo.sh).
demo: deps tools build
	bash hack/demo.sh $(BUILD_DIR)

# Regenerate the chart's copies (CRDs, alert rules) and deploy/certguard.yaml.
chart: tools
	bash hack/sync-chart.sh

# Every test, in the normal and the sanitizer build (integration tests in the normal one).
test: deps build asan tools
	cd $(BUILD_DIR) && ctest --output-on-failure $(CTEST_ARGS)
	cd $(ASAN_DIR) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest -L unit --output-on-failure -j $(JOBS) $(CTEST_ARGS)

# Benchmarks, never part of make test: each prints a table and fails over its budget.
bench: build tools
	$(BUILD_DIR)/bench/certguard_bench_metrics
	$(BUILD_DIR)/bench/certguard_bench_csr
	$(BUILD_DIR)/bench/certguard_bench_startup
	bash bench/approval.sh $(BUILD_DIR)
	bash bench/kubelets.sh $(BUILD_DIR)
	bash bench/metrics.sh $(BUILD_DIR)
	bash bench/trust.sh $(BUILD_DIR)
	$(BUILD_DIR)/bench/certguard_bench_expiry

# Only the approval benchmark: certguard and the Go approvers on one real control plane.
bench-approval: build tools
	bash bench/approval.sh $(BUILD_DIR)

# Only the mass-restart benchmark: BENCH_KUBELETS (200) real kubelets starting at once,
# for certguard and each Go approver on one real control plane.
bench-kubelets: build tools
	bash bench/kubelets.sh $(BUILD_DIR)

# Only the /metrics benchmark: certguard and x509-certificate-exporter on BENCH_SECRETS
# (10,000) TLS Secrets of one real control plane.
bench-metrics: build tools
	bash bench/metrics.sh $(BUILD_DIR)

# Only the trust benchmark: certguard and trust-manager on one bundle reaching 2,000
# namespaces (about 17 minutes, most of it trust-manager at 5 QPS; bench/trust.sh $(BUILD_DIR) --namespaces N for fewer).
bench-trust: build tools
	bash bench/trust.sh $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(TSAN_DIR) $(FUZZ_DIR)
