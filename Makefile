# The README's two commands:  make run   and   make test
#   make build               build library, CLI, drivers and tests into build/
#   make run                 build, then run the main job (condis run, built-in defaults)
#   make test                build, then run every test through CTest
#   make test SANITIZE=address|thread   the same under ASan+UBSan or TSan (build-address/, build-thread/)
#   make bench               build, then condis bench (every scenario and baseline) and
#                            build/bench.png; make deps-bench installs DPDK and gnuplot
#   make install PREFIX=/usr/local

SANITIZE ?=
PREFIX ?= /usr/local
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD := build$(if $(SANITIZE),-$(SANITIZE),)
CMAKE_BUILD_TYPE ?= RelWithDebInfo

.PHONY: all build run test bench install deps deps-bench clean

all: build

deps:
	@sh tools/deps.sh

deps-bench:
	@sh tools/deps.sh --bench

$(BUILD)/Makefile: CMakeLists.txt
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(CMAKE_BUILD_TYPE) \
	    -DCONDIS_SANITIZE=$(SANITIZE) -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null

build: deps $(BUILD)/Makefile
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	./$(BUILD)/condis run

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The baselines need DPDK (libdpdk-dev) and the plot gnuplot; without them
# condis bench says what it skipped. Installing them reconfigures the build.
bench: deps-bench $(BUILD)/Makefile
	@cmake -S . -B $(BUILD) -U '__pkg_config_checked_CONDIS_DPDK' >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)
	./$(BUILD)/condis bench --plot $(BUILD)/bench.png

install: build
	cmake --install $(BUILD)

clean:
	rm -rf build build-address build-thread
