#!/bin/sh
# Installs what building and testing xuni needs on Debian 12. Idempotent.
set -e
PACKAGES="build-essential binutils libcmocka-dev libzydis-dev busybox-static zlib1g-dev liblzma-dev liblz4-dev libzstd-dev libbz2-dev liblzo2-dev gzip bzip2 xz-utils lzop lz4 zstd cpio kmod debian-archive-keyring liburing-dev e2fsprogs libslirp-dev python3"
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
missing=
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y $missing
fi
