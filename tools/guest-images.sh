#!/usr/bin/env bash
# Builds xuni's Debian guest images from Debian 12's packages (`make guest`):
#
#   OUT/vmlinuz-generic            linux-image-amd64's kernel (MP tables and ACPI)
#   OUT/vmlinuz-cloud              linux-image-cloud-amd64's kernel (ACPI only)
#   OUT/initramfs-generic.cpio.gz  busybox-static, that kernel's virtio and ext4
#   OUT/initramfs-cloud.cpio.gz      modules, and tools/guest/init: a shell
#   OUT/initramfs-poweroff.cpio.gz busybox and an /init that powers off at once
#                                  (the boot benchmark; fits every kernel)
#   OUT/{generic,cloud}.release    the kernel's release (`uname -r` in the guest)
#   OUT/images.txt                 what was built from which package versions
#
# The kernels are found through the meta-packages, so a rebuild follows
# Debian's updates; the images are rebuilt only when a package version or a
# file of the image builder changes. Packages come from a private apt state
# under OUT/apt (the host's own apt lists and installed packages are not
# touched or consulted), fetched with `apt-get download` and unpacked with
# dpkg-deb: no root needed. The archives are newc cpio, gzip, with every file
# owned by root.
#
#   tools/guest-images.sh [OUT]        (default build/images)
#
# Environment: XUNI_DEBIAN_MIRROR (default http://deb.debian.org/debian),
# XUNI_DEBIAN_SECURITY (http://deb.debian.org/debian-security),
# XUNI_IMAGES_OFFLINE=1 (keep the images that are there, ask no server).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-build/images}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
MIRROR=${XUNI_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${XUNI_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
SUITE=bookworm
FLAVOURS="generic:linux-image-amd64 cloud:linux-image-cloud-amd64"
# Wanted modules (names as in modules.dep, '-' and '_' alike); their
# dependencies come along. ext4 finds crc32c through the crypto API, not
# a symbol, so the crc32c implementations are named too.
MODULES="virtio_pci virtio_blk virtio_net virtio_console virtio-rng ext4 crc32c_generic
crc32c-intel"

say() { echo "guest-images: $*" >&2; }
die() {
    say "error: $*"
    exit 1
}

# --- apt, with its own state under OUT/apt ---

A=$OUT/apt
APT_OPTS=()
apt_setup() {
    mkdir -p "$A/lists/partial" "$A/archives/partial" "$A/empty.d" "$A/preferences.d"
    : >"$A/status"
    cat >"$A/sources.list" <<EOF
deb [signed-by=$KEYRING] $MIRROR $SUITE main
deb [signed-by=$KEYRING] $MIRROR $SUITE-updates main
deb [signed-by=$KEYRING] $SECURITY $SUITE-security main
EOF
    APT_OPTS=(-q -o "APT::Architecture=amd64" -o "APT::Architectures::=amd64"
        -o "Dir::Etc::SourceList=$A/sources.list" -o "Dir::Etc::SourceParts=$A/empty.d"
        -o "Dir::Etc::Preferences=/dev/null" -o "Dir::Etc::PreferencesParts=$A/preferences.d"
        -o "Dir::State=$A" -o "Dir::State::Lists=$A/lists" -o "Dir::State::status=$A/status"
        -o "Dir::Cache=$A" -o "Dir::Cache::Archives=$A/archives"
        -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=")
    # As root, apt hands downloads to the _apt user, who may not reach OUT.
    [ "$(id -u)" -ne 0 ] || APT_OPTS+=(-o "APT::Sandbox::User=root")
}
apt_get() { apt-get "${APT_OPTS[@]}" "$@"; }
apt_cache() { apt-cache "${APT_OPTS[@]}" "$@"; }

# field PACKAGE FIELD: a field of the candidate version.
field() {
    apt_cache show --no-all-versions "$1" 2>/dev/null | sed -n "s/^$2: //p" | head -1
}

# The kernel package a meta-package depends on, as "name=version".
kernel_of() {
    local dep
    dep=$(field "$1" Depends | tr ',' '\n' | grep -o 'linux-image-[^ ]*' | head -1)
    [ -n "$dep" ] || die "$1 names no linux-image package"
    echo "$dep=$(field "$dep" Version)"
}

# fetch NAME=VERSION DIR: the .deb's path (downloaded unless already there).
fetch() {
    local name=${1%%=*} version=${1#*=} deb
    deb=$2/${name}_${version//:/%3a}_amd64.deb
    if [ ! -f "$deb" ]; then
        (cd "$2" && apt_get download "$1" >/dev/null) || die "cannot download $1"
    fi
    [ -f "$deb" ] || die "apt-get download $1 did not give $deb"
    echo "$deb"
}

# --- the initramfs ---

# A busybox root: the binary, a link for every applet, the usual folders.
busybox_root() {
    local root=$1 busybox=$2
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,root,etc,mnt,lib/modules,var/log}
    install -m 0755 "$busybox" "$root/bin/busybox"
    local applet
    for applet in $("$busybox" --list-full); do
        [ "$applet" = bin/busybox ] || [ -e "$root/$applet" ] ||
            ln -s "/bin/busybox" "$root/$applet"
    done
    chmod 1777 "$root/tmp"
    chmod 0700 "$root/root"
}

# Dependency closure of MODULES in load order, as paths relative to the
# module folder: from modules.dep ("path: dep dep ..."), each module after
# everything it needs. Names not in this kernel (built in, or absent) are
# left out.
module_order() {
    awk -v want="$MODULES" '
    function base(p,   b) { b = p; sub(/.*\//, "", b); sub(/\.ko(\.[a-z]+)?$/, "", b)
                             gsub(/-/, "_", b); return b }
    function visit(p,   i, n, d) {
        if (p in seen) return
        seen[p] = 1
        n = split(deps[p], d, " ")
        for (i = n; i >= 1; i--) visit(d[i])
        print p
    }
    { p = $1; sub(/:$/, "", p); deps[p] = ""; for (i = 2; i <= NF; i++) deps[p] = deps[p] " " $i
      path[base(p)] = p }
    END { n = split(want, w, /[ \n]+/)
          for (i = 1; i <= n; i++) { k = w[i]; gsub(/-/, "_", k); if (k in path) visit(path[k]) } }
    ' "$1"
}

# Copy the modules (uncompressed: busybox insmod loads plain .ko files) and
# write modules.dep and load-order for them.
add_modules() {
    local root=$1 kroot=$2 release=$3
    local src=$kroot/lib/modules/$release dst=$root/lib/modules/$release m
    mkdir -p "$dst"
    # The package leaves modules.dep to depmod in its postinst.
    if [ ! -f "$src/modules.dep" ]; then
        local depmod
        depmod=$(PATH=$PATH:/sbin:/usr/sbin command -v depmod) || die "depmod not found (kmod)"
        "$depmod" -b "$kroot" "$release" || die "depmod failed for $release"
    fi
    module_order "$src/modules.dep" >"$dst/order.tmp"
    : >"$dst/load-order"
    while read -r m; do
        mkdir -p "$dst/$(dirname "$m")"
        case $m in
        *.xz) xz -dc "$src/$m" >"$dst/${m%.xz}" ;;
        *.zst) zstd -qdc "$src/$m" >"$dst/${m%.zst}" ;;
        *.gz) gzip -dc "$src/$m" >"$dst/${m%.gz}" ;;
        *) cp "$src/$m" "$dst/$m" ;;
        esac
        echo "${m%.ko*}.ko" >>"$dst/load-order"
    done <"$dst/order.tmp"
    rm -f "$dst/order.tmp"
    # modules.dep for busybox modprobe, limited to what is here.
    awk 'NR == FNR { keep[$0] = 1; next }
         { p = $1; sub(/:$/, "", p); sub(/\.(xz|zst|gz)$/, "", p)
           if (p in keep) { gsub(/\.ko\.(xz|zst|gz)/, ".ko"); print } }' \
        "$dst/load-order" "$src/modules.dep" >"$dst/modules.dep"
}

# Pack ROOT as a newc cpio, everything owned by root, fixed times, gzip.
pack() {
    local root=$1 out=$2
    find "$root" -exec touch -h -d @0 {} +
    (cd "$root" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
        cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) |
        gzip -n -9 >"$out.tmp"
    mv "$out.tmp" "$out"
}

base_root() {
    local root=$1
    rm -rf "$root"
    busybox_root "$root" "$BUSYBOX"
    install -m 0644 "$HERE/guest/inittab" "$root/etc/inittab"
    install -m 0644 "$HERE/guest/profile" "$root/etc/profile"
    echo xuni >"$root/etc/hostname"
    echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
    echo 'root:x:0:' >"$root/etc/group"
}

# --- building ---

# build_flavour NAME KERNEL_PKG=VERSION
build_flavour() {
    local name=$1 pkg=$2
    local work=$OUT/work/$name
    rm -rf "$work"
    mkdir -p "$work"
    local deb
    deb=$(fetch "$pkg" "$DEBS")
    say "$name: unpacking $(basename "$deb")"
    dpkg-deb -x "$deb" "$work/kernel"
    local vmlinuz release
    vmlinuz=$(find "$work/kernel/boot" -name 'vmlinuz-*' | head -1)
    [ -n "$vmlinuz" ] || die "$(basename "$deb") holds no /boot/vmlinuz-*"
    release=${vmlinuz##*/vmlinuz-}
    base_root "$work/root"
    install -m 0755 "$HERE/guest/init" "$work/root/init"
    add_modules "$work/root" "$work/kernel" "$release"
    pack "$work/root" "$OUT/initramfs-$name.cpio.gz"
    install -m 0644 "$vmlinuz" "$OUT/vmlinuz-$name"
    echo "$release" >"$OUT/$name.release"
    say "$name: Linux $release, $(wc -l <"$work/root/lib/modules/$release/load-order") modules"
    rm -rf "$work"
}

build_poweroff() {
    local root=$OUT/work/poweroff
    base_root "$root"
    install -m 0755 "$HERE/guest/init-poweroff" "$root/init"
    pack "$root" "$OUT/initramfs-poweroff.cpio.gz"
    rm -rf "$root"
}

outputs_present() {
    local f
    for f in vmlinuz-generic vmlinuz-cloud initramfs-generic.cpio.gz initramfs-cloud.cpio.gz \
        initramfs-poweroff.cpio.gz generic.release cloud.release; do
        [ -s "$OUT/$f" ] || return 1
    done
}

main() {
    apt_setup
    if [ "${XUNI_IMAGES_OFFLINE:-}" = 1 ]; then
        outputs_present || die "XUNI_IMAGES_OFFLINE=1 but $OUT has no complete set of images"
        say "offline: keeping the images in $OUT"
        return 0
    fi
    say "updating the package lists ($SUITE)"
    if ! apt_get update >"$A/update.log" 2>&1; then
        if outputs_present; then
            say "warning: cannot reach the Debian archive (see $A/update.log); keeping the" \
                "images in $OUT"
            return 0
        fi
        cat "$A/update.log" >&2
        die "apt-get update failed"
    fi

    # What to build from: the kernels the meta-packages name today.
    local busybox_pkg key flavour kernels=()
    busybox_pkg="busybox-static=$(field busybox-static Version)"
    [ "$busybox_pkg" != "busybox-static=" ] || die "busybox-static not found"
    for flavour in $FLAVOURS; do
        kernels+=("${flavour%%:*}:$(kernel_of "${flavour#*:}")")
        [[ ${kernels[-1]} == *=?* ]] || die "cannot resolve ${flavour#*:}"
    done
    key="$busybox_pkg ${kernels[*]} builder=$(cat "$0" "$HERE"/guest/* | sha256sum | cut -c1-16)"
    if outputs_present && [ "$(cat "$OUT/images.key" 2>/dev/null)" = "$key" ]; then
        say "up to date: ${kernels[*]}"
        return 0
    fi

    DEBS=$OUT/debs
    mkdir -p "$DEBS" "$OUT/work"
    local bb_deb
    bb_deb=$(fetch "$busybox_pkg" "$DEBS")
    dpkg-deb -x "$bb_deb" "$OUT/work/busybox"
    BUSYBOX=$OUT/work/busybox/bin/busybox
    [ -x "$BUSYBOX" ] || die "busybox-static holds no /bin/busybox"
    local k
    for k in "${kernels[@]}"; do
        build_flavour "${k%%:*}" "${k#*:}"
    done
    build_poweroff
    rm -rf "$OUT/work"
    # Keep only the packages of this build: the next one reuses them if the
    # builder changes, and a new version replaces them.
    local keep=() deb
    for k in "$busybox_pkg" "${kernels[@]#*:}"; do
        keep+=("$(basename "$(fetch "$k" "$DEBS")")")
    done
    for deb in "$DEBS"/*.deb; do
        [[ " ${keep[*]} " == *" $(basename "$deb") "* ]] || rm -f "$deb"
    done
    {
        echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) from Debian $SUITE:"
        echo "  $busybox_pkg"
        for k in "${kernels[@]}"; do
            echo "  ${k%%:*}: ${k#*:} (Linux $(cat "$OUT/${k%%:*}.release"))"
        done
    } >"$OUT/images.txt"
    echo "$key" >"$OUT/images.key"
    cat "$OUT/images.txt" >&2
}

main
