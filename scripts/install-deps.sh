#!/usr/bin/env bash
# Installs every build and test dependency of Chronik from Debian 12's packages.
# Idempotent and quiet when everything is already present.
set -euo pipefail

packages=(
    build-essential cmake ninja-build ccache pkg-config python3 git
    clang-14 lld-14 libclang-rt-14-dev clang-format-14 clang-tidy-14
    libboost1.81-dev liburing-dev zlib1g-dev libsnappy-dev liblz4-dev libzstd-dev
    libssl-dev libfmt-dev libtomlplusplus-dev
    libgtest-dev libgmock-dev googletest libbenchmark-dev
    librdkafka-dev kcat python3-confluent-kafka python3-kafka python3-lz4 python3-snappy python3-zstandard
    valgrind procps
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
