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
comma := ,
# The toolchain scripts make chroots (debootstrap, chroot, mount): root, with the same cache.
AS_ROOT := $(if $(SUDO),sudo --preserve-env=TVL_CACHE_DIR$(comma)TVL_PORTABILITY_OPTIONAL$(comma)TVL_PORTABILITY_KEEP,)
# (libavcodec-dev: only the emulated NVIDIA driver the GPU backends' tests run on links the system's
# FFmpeg; the addons link TVL's own, from `make ffmpeg`.)
APT_PACKAGES := ffmpeg pkg-config g++ make python3 libavcodec-dev libavutil-dev \
                libopencv-core-dev libopencv-imgproc-dev libopencv-videoio-dev \
                libffmpeg-nvenc-dev chromium debootstrap dpkg-dev binutils clang-format
PNPM_VERSION := 12.21.0

.PHONY: help setup system-deps pnpm install ffmpeg build sample test lint format format-check bench fuzz prebuilds dist portability portability-libav clean

help:
	@echo "make setup   install everything, build, and load frames from a generated sample video"
	@echo "make test    run every package's tests (one jest run)"
	@echo "make lint    type-check every package's sources and tests (ts-jest only transpiles)"
	@echo "make format  format TypeScript/JavaScript (prettier) and C++ (clang-format); format-check only checks"
	@echo "make bench   benchmark @tvl/libav against the ffmpeg CLI and the Python TVL (bench/README.md)"
	@echo "make fuzz    2,000 seeded damaged files per CPU backend, each read in a child process (FUZZ_FILES=N)"
	@echo "make ffmpeg  build TVL's own decode-only FFmpeg (cached in ~/.cache/tvl by its inputs)"
	@echo "make prebuilds  build the shipped addons in Debian 11/12/13 chroots (glibc 2.31 floor)"
	@echo "make dist    one .tgz per package in dist/, backends with their prebuilt addons"
	@echo "make portability  install dist/ in bare Debian 11, 12 and 13 systems and decode there"
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

# TVL's own FFmpeg, linked into every addon (toolchain/ffmpeg.sh; root for debootstrap/chroot).
ffmpeg:
	$(AS_ROOT) bash toolchain/ffmpeg.sh >/dev/null

# TVL_WERROR=1: the addons build with -Werror here (and so in CI); see warning-flags.cjs.
build: ffmpeg
	TVL_WERROR=1 TVL_FFMPEG_KEY=$$(basename "$$(readlink -f packages/native-common/ffmpeg)") pnpm turbo run build

sample:
	node examples/load-sample.mjs

test:
	pnpm test

lint:
	pnpm turbo run lint

CPP_SOURCES = $(shell git ls-files '*.cc' '*.h' '*.cu')
format:
	pnpm exec prettier --write --log-level warn .
	clang-format -i $(CPP_SOURCES)

format-check:
	pnpm exec prettier --check --log-level warn .
	@clang-format --dry-run --Werror $(CPP_SOURCES) && echo "clang-format: all $(words $(CPP_SOURCES)) C++ files formatted"

bench: build
	node bench/bench.mjs

FUZZ_FILES ?= 2000
fuzz: build
	node bench/fuzz.mjs $(FUZZ_FILES)

prebuilds: build
	$(AS_ROOT) bash toolchain/prebuilds.sh

# One .tgz per package into dist/, each with the repository's LICENSE (npm takes it from the
# package's own folder; @tvl/testkit and @tvl/native-common are never packed).
define pack
	rm -rf dist && mkdir -p dist
	for p in $(1); do cp LICENSE packages/$$p/LICENSE && (cd packages/$$p && pnpm pack --pack-destination ../../dist >/dev/null); \
	  rc=$$?; rm -f packages/$$p/LICENSE; [ $$rc = 0 ] || exit $$rc; done
	@# What ships: no source maps (their sources are not shipped), no test code, a LICENSE in each.
	@for t in dist/*.tgz; do \
	  if tar -tzf $$t | grep -E '\.map$$|/testing/|/test/' ; then echo "$$t ships files it must not (above)"; exit 1; fi; \
	  tar -tzf $$t | grep -qx 'package/LICENSE' || { echo "$$t has no LICENSE"; exit 1; }; \
	done
endef

dist: prebuilds
	$(call pack,core libav opencv nvdec nvvl cli)
	@ls -l dist

portability: dist
	$(AS_ROOT) bash toolchain/portability.sh

# CI's slice of it: @tvl/libav and the CLI, installed in a bare Debian 11 (the glibc floor).
portability-libav: build
	$(AS_ROOT) bash toolchain/prebuilds.sh libav
	$(call pack,core libav cli)
	$(AS_ROOT) bash toolchain/portability.sh --libav-only bullseye

clean:
	rm -rf dist .turbo packages/*/dist packages/*/native/build packages/*/prebuilds packages/*/.turbo
