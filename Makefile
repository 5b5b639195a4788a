# Chronik: the two set-up commands are `make run` and `make test` (see README.md).
BUILD_DIR ?= build
FUZZ_DIR ?= build-fuzz
JOBS ?= $(shell nproc)
DATA_DIR ?= ./data
LISTEN ?= 127.0.0.1:9092
CMAKE_FLAGS ?=

.PHONY: all deps configure build run test bench fuzz-build clean format format-check

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

# libFuzzer targets need clang; they live in their own build tree.
fuzz-build: deps
	@test -f $(FUZZ_DIR)/build.ninja || CC=clang-14 CXX=clang++-14 cmake -S . -B $(FUZZ_DIR) -G Ninja \
	    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHRONIK_FUZZ=ON -DCHRONIK_SANITIZE=address,undefined
	cmake --build $(FUZZ_DIR) -j $(JOBS)

# Every suite: unit, sim, e2e, chaos and the bounded fuzz runs. Exit 0 only if all pass.
test: format-check build fuzz-build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

# The reference benchmark suite (bench/run.py): minutes, not part of `make test`.
# BENCH_ARGS=--quick for a short pass.
bench: build
	/usr/bin/python3 bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(BUILD_DIR) $(FUZZ_DIR)

CXX_SOURCES = git ls-files 'src/*.h' 'src/*.cc' 'tools/*.h' 'tools/*.cc' 'tests/*.h' 'tests/*.cc'

format:
	$(CXX_SOURCES) | xargs clang-format-14 -i

# The code follows .clang-format; CI fails on any difference.
format-check: deps
	@$(CXX_SOURCES) | xargs clang-format-14 --dry-run --Werror
