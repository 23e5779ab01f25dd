# TVL: set up, build, test, benchmark and package. `make setup` on a fresh Debian 12 machine
# installs what is missing (Debian packages, pnpm, node modules), builds and runs the sample.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export TURBO_TELEMETRY_DISABLED := 1
# Build native addons against the running Node's own headers (never download them).
NODE_PREFIX := $(shell node -p "require('path').resolve(process.execPath, '../..')" 2>/dev/null)
ifneq ($(wildcard $(NODE_PREFIX)/include/node/node_api.h),)
export npm_config_nodedir := $(NODE_PREFIX)
endif

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := ffmpeg pkg-config g++ make python3 libavformat-dev libavcodec-dev libswscale-dev libavutil-dev \
                libopencv-core-dev libopencv-imgproc-dev libopencv-videoio-dev \
                libffmpeg-nvenc-dev chromium
PNPM_VERSION := 12.21.0

.PHONY: help setup system-deps pnpm install build sample test bench fuzz dist clean

help:
	@echo "make setup   install everything, build, and load frames from a generated sample video"
	@echo "make test    run every package's tests (one jest run)"
	@echo "make bench   benchmark the CPU backends (@tvl/libav, @tvl/opencv) against the ffmpeg CLI"
	@echo "make fuzz    2,000 seeded damaged files per CPU backend, each read in a child process (FUZZ_FILES=N)"
	@echo "make dist    one .tgz per package in dist/, backends with their prebuilt addon"
	@echo "make clean   remove build outputs"

setup: system-deps pnpm install build sample

system-deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

pnpm:
	@command -v pnpm >/dev/null || npm install -g pnpm@$(PNPM_VERSION)

install:
	pnpm install --frozen-lockfile

build:
	pnpm turbo run build

sample:
	node examples/load-sample.mjs

test:
	pnpm test

bench: build
	node bench/bench.mjs

FUZZ_FILES ?= 2000
fuzz: build
	node bench/fuzz.mjs $(FUZZ_FILES)

dist: build
	rm -rf dist && mkdir -p dist
	pnpm turbo run prebuilds
	for p in native-common core libav opencv nvdec nvvl cli; do (cd packages/$$p && pnpm pack --pack-destination ../../dist >/dev/null); done
	@ls -l dist

clean:
	rm -rf dist .turbo packages/*/dist packages/*/build packages/*/prebuilds packages/*/.turbo
