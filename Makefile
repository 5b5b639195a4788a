# Chronik: the two set-up commands are `make run` and `make test` (see README.md).
BUILD_DIR ?= build
FUZZ_DIR ?= build-fuzz
DEBUG_DIR ?= build-debug
TSAN_DIR ?= build-tsan
JOBS ?= $(shell nproc)
DATA_DIR ?= ./data
LISTEN ?= 127.0.0.1:9092
CMAKE_FLAGS ?=

.PHONY: all deps configure build run cluster test test-release test-debug test-tsan bench bench-compare fuzz-build debug-build tsan-build lint clean format format-check

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

configure: deps $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	exec $(BUILD_DIR)/bin/chronik-server start --listen $(LISTEN) --data-dir $(DATA_DIR)

# Three nodes on 127.0.0.1 (Kafka ports 19091-19093), data in ./data/node-N;
# scripts/cluster.sh stop|status|kill N|restart N manages them.
cluster: build
	CLUSTER_SERVER=$(BUILD_DIR)/bin/chronik-server DATA_DIR=$(DATA_DIR) ./scripts/cluster.sh start 3

# libFuzzer targets need clang; they live in their own build tree.
fuzz-build: deps
	@test -f $(FUZZ_DIR)/build.ninja || cmake --preset fuzz -B $(FUZZ_DIR)
	cmake --build $(FUZZ_DIR) -j $(JOBS)

# The sanitizer trees (CMakePresets.json): `debug` is ASan+UBSan, `tsan` is
# ThreadSanitizer; both compile in the debug checks (owner-shard assertions).
debug-build: deps
	@test -f $(DEBUG_DIR)/build.ninja || cmake --preset debug -B $(DEBUG_DIR)
	cmake --build $(DEBUG_DIR) -j $(JOBS)

tsan-build: deps
	@test -f $(TSAN_DIR)/build.ninja || cmake --preset tsan -B $(TSAN_DIR)
	cmake --build $(TSAN_DIR) -j $(JOBS)

# clang-tidy (.clang-tidy) over every translation unit of the Release tree.
lint: build
	/usr/bin/python3 scripts/lint.py -p $(BUILD_DIR) -j $(JOBS)

# Every suite: format and lint; unit, sim, e2e, chaos and the bounded fuzz runs on
# the Release build; unit, sim and e2e under ASan+UBSan; unit, sim and three e2e
# suites under TSan (tests/e2e/CMakeLists.txt says which and why).
# Exit 0 only if all pass.
test: format-check lint test-release test-debug test-tsan

test-release: build fuzz-build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

test-debug: debug-build
	ctest --test-dir $(DEBUG_DIR) --output-on-failure -j $(JOBS) -L 'unit|sim|e2e'

test-tsan: tsan-build
	ctest --test-dir $(TSAN_DIR) --output-on-failure -j $(JOBS) -L 'unit|sim|e2e'

# The reference benchmark suite (bench/run.py): minutes, not part of `make test`.
# BENCH_ARGS=--quick for a short pass.
bench: build
	/usr/bin/python3 bench/run.py $(BENCH_ARGS)

# The same scenarios on this tree and on BASE (a commit, built in build-base/ from a
# git worktree), alternately in one run (bench/compare.py); COMPARE_ARGS=--reps 5 ...
BASE_DIR ?= build-base
bench-compare: build
	@test -n "$(BASE)" || { echo "usage: make bench-compare BASE=<commit>"; exit 2; }
	rm -rf $(BASE_DIR)/src && git worktree prune && git worktree add -f --detach $(BASE_DIR)/src $(BASE)
	cmake -S $(BASE_DIR)/src -B $(BASE_DIR)/build -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)
	cmake --build $(BASE_DIR)/build -j $(JOBS) --target chronik-server
	/usr/bin/python3 bench/compare.py --base-bin $(BASE_DIR)/build/bin $(COMPARE_ARGS)

clean:
	rm -rf $(BUILD_DIR) $(FUZZ_DIR) $(DEBUG_DIR) $(TSAN_DIR)

CXX_SOURCES = git ls-files 'src/*.h' 'src/*.cc' 'tools/*.h' 'tools/*.cc' 'tests/*.h' 'tests/*.cc'

format:
	$(CXX_SOURCES) | xargs clang-format-14 -i

# The code follows .clang-format; CI fails on any difference.
format-check: deps
	@$(CXX_SOURCES) | xargs clang-format-14 --dry-run --Werror
