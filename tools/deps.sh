#!/bin/sh
# Install what building and testing condis needs on Debian, when it is missing.
# With --bench, also what `condis bench` uses: DPDK for its baselines and
# gnuplot for its plot. As root it installs; otherwise it prints the command.
set -e
need=""
if [ "${1:-}" = "--bench" ]; then
    pkg-config --exists libdpdk 2>/dev/null || need="$need libdpdk-dev"
    command -v gnuplot >/dev/null 2>&1 || need="$need gnuplot-nox"
fi
command -v cmake >/dev/null 2>&1 || need="$need cmake"
command -v cc >/dev/null 2>&1 || need="$need gcc"
command -v pkg-config >/dev/null 2>&1 || need="$need pkg-config"
pkg-config --exists cmocka 2>/dev/null || need="$need libcmocka-dev"
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "condis: installing$need"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq $need >/dev/null
else
    echo "condis: missing$need; install with:" >&2
    echo "    sudo apt-get install -y$need" >&2
    exit 1
fi
