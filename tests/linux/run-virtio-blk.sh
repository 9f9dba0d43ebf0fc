#!/usr/bin/env bash
# End-to-end virtio-blk: Debian 12's cloud kernel (build/images, `make
# guest`) under --accel emu with two disks, driven through the console.
# Prints TAP.
#
#   tests/linux/run-virtio-blk.sh XUNI
#
# Boot 1 (cache=none, io_uring where it works): the guest sees vda with
# the right size and serial and vdb read-only (VIRTIO_BLK_F_RO), and
# writes to vdb fail (the device's own refusal is in test_virtio_blk: Linux
# never sends them); mkfs.ext4 on vda (Debian's mke2fs, carried in a second initramfs
# archive: busybox only makes ext2), files written, fstrim, sync, poweroff
# without unmounting. On the host: e2fsck replays the journal and finds a
# clean file system, debugfs reads the files back with the guest's md5s,
# and vdb's image is unchanged.
# Boot 2 (cache=writeback, the thread pool): the file system mounts, the
# files read back, a new file written and unmounted; e2fsck finds it clean.
# The sanitizer build runs boot 1 only.
set -u
XUNI=${1:?usage: run-virtio-blk.sh XUNI}
cd "$(dirname "$0")/../.."
IMAGES=build/images
BOOT_TIMEOUT=${XUNI_LINUX_TIMEOUT:-240}
CMD_TIMEOUT=120
tmp=$(mktemp -d)
. tests/linux/console.sh
TAP_PREFIX=virtio-blk
trap 'console_kill; rm -rf "$tmp"' EXIT


if [ ! -f "$IMAGES/vmlinuz-cloud" ] || [ ! -f "$IMAGES/initramfs-cloud.cpio.gz" ]; then
    echo "1..1"
    echo "ok 1 - virtio-blk # SKIP no guest images in $IMAGES (make guest builds them)"
    exit 0
fi
for tool in mke2fs e2fsck debugfs cpio; do
    if ! PATH=$PATH:/sbin:/usr/sbin command -v "$tool" >/dev/null; then
        echo "1..1"
        echo "ok 1 - virtio-blk # SKIP $tool missing (tools/install-deps.sh installs e2fsprogs)"
        exit 0
    fi
done
export PATH=$PATH:/sbin:/usr/sbin

# Debian's mke2fs with its libraries, unpacked over the guest's initramfs.
build_mkfs_archive() {
    local root=$tmp/mkfs-root bin lib
    bin=$(command -v mke2fs)
    mkdir -p "$root/opt/e2fs" "$root/etc"
    cp "$bin" "$root/opt/e2fs/mkfs.ext4"
    for lib in $(ldd "$bin" | awk '$2 == "=>" { print $3 } $1 ~ /^\// { print $1 }'); do
        mkdir -p "$root$(dirname "$lib")"
        cp -L "$lib" "$root$lib"
    done
    [ -f /etc/mke2fs.conf ] && cp /etc/mke2fs.conf "$root/etc/"
    (cd "$root" && find . | cpio -o -H newc -R 0:0 --quiet) | gzip >"$tmp/mkfs.cpio.gz"
}

# boot NAME DRIVE-OPTIONS...: start the cloud kernel; 0 once at the shell.
boot() {
    local name=$1
    shift
    local args=()
    for d in "$@"; do args+=(--drive "$d"); done
    console_start "$XUNI" run --accel emu --kernel "$IMAGES/vmlinuz-cloud" \
        --initrd "$IMAGES/initramfs-cloud.cpio.gz,$tmp/mkfs.cpio.gz" --mem 512M \
        --append "console=ttyS0" "${args[@]}"
    local t0=$SECONDS
    # dmesg -n 1: no kernel messages among the commands' output.
    if wait_for "Type 'poweroff' to leave." "$BOOT_TIMEOUT" && run_cmd "dmesg -n 1"; then
        ok "$name: boots to the shell ($((SECONDS - t0)) s)"
        return 0
    fi
    fail "$name: boots to the shell within ${BOOT_TIMEOUT}s"
    console_kill
    return 1
}

poweroff_check() {
    console_poweroff
    if [ "$status" -eq 0 ]; then ok "$1: poweroff, status 0"; else fail "$1: poweroff: status $status"; fi
}

boot1() {
    local b="boot 1"
    boot "$b" "file=$tmp/disk.img,cache=none,serial=xuni-disk-1" "file=$tmp/ro.img,readonly=on" ||
        return 1
    run_cmd "cat /sys/block/vda/size"
    check "$b: vda has 131072 sectors" 131072
    run_cmd "echo \$(cat /sys/block/vda/serial)"
    check "$b: vda's serial" xuni-disk-1
    run_cmd "echo \$(cat /sys/block/vdb/ro /sys/block/vda/ro)"
    check "$b: vdb read-only, vda not" "1 0"
    run_cmd "dd if=/dev/zero of=/dev/vdb bs=4096 count=1 2>/dev/null; echo rc=\$?"
    check "$b: writes to vdb fail" "rc=1"
    run_cmd "dd if=/dev/vdb bs=4096 count=1 2>/dev/null | md5sum | cut -d' ' -f1"
    check "$b: vdb reads as its image" "$(head -c 4096 "$tmp/ro.img" | md5sum | cut -d' ' -f1)"

    run_cmd "/opt/e2fs/mkfs.ext4 -q -F -L xuni /dev/vda >/dev/null 2>&1; echo rc=\$?"
    check "$b: mkfs.ext4 /dev/vda" "rc=0"
    run_cmd "mkdir -p /mnt && mount -t ext4 /dev/vda /mnt && echo mounted"
    check "$b: mount the new ext4" mounted
    run_cmd "echo hello from xuni > /mnt/hello.txt; mkdir /mnt/dir; dd if=/dev/urandom of=/mnt/dir/rand.bin bs=4096 count=700 2>/dev/null; md5sum /mnt/dir/rand.bin | cut -d' ' -f1"
    guest_md5=$reply
    if [ ${#guest_md5} -eq 32 ]; then ok "$b: files written"; else fail "$b: files written: '$reply'"; fi
    run_cmd "fstrim /mnt >/dev/null 2>&1; echo rc=\$?"
    check "$b: fstrim (discard)" "rc=0"
    run_cmd "sync; echo synced"
    check "$b: sync" synced
    run_cmd "dmesg | grep -E 'I/O error|EXT4-fs error|blk_update_request|Buffer I/O' | grep -v vdb | head -3"
    check "$b: no I/O errors on vda in dmesg" ""
    poweroff_check "$b"
}

# The image after boot 1, as the host sees it.
host_checks1() {
    cp --sparse=always "$tmp/disk.img" "$tmp/check.img"
    e2fsck -fy "$tmp/check.img" >"$tmp/fsck.log" 2>&1
    local rc=$?
    if [ $rc -lt 4 ]; then ok "host: e2fsck after boot 1 (status $rc)"; else
        fail "host: e2fsck after boot 1: status $rc"
        sed 's/^/#   /' "$tmp/fsck.log" | tail -5
    fi
    reply=$(debugfs -R "cat /hello.txt" "$tmp/check.img" 2>/dev/null)
    check "host: debugfs reads hello.txt" "hello from xuni"
    debugfs -R "dump /dir/rand.bin $tmp/rand.bin" "$tmp/check.img" >/dev/null 2>&1
    reply=$(md5sum <"$tmp/rand.bin" 2>/dev/null | cut -d' ' -f1)
    check "host: debugfs reads rand.bin with the guest's md5" "$guest_md5"
    reply=$(md5sum <"$tmp/ro.img" | cut -d' ' -f1)
    check "host: the read-only image is unchanged" "$ro_md5"
}

boot2() {
    local b="boot 2"
    boot "$b" "file=$tmp/disk.img,cache=writeback,aio=threads" || return 1
    run_cmd "mkdir -p /mnt && mount -t ext4 /dev/vda /mnt && cat /mnt/hello.txt"
    check "$b: mount, hello.txt" "hello from xuni"
    run_cmd "md5sum /mnt/dir/rand.bin | cut -d' ' -f1"
    check "$b: rand.bin's md5" "$guest_md5"
    run_cmd "seq 1 20000 > /mnt/seq.txt; umount /mnt && echo unmounted"
    check "$b: write and unmount" unmounted
    poweroff_check "$b"
    e2fsck -fn "$tmp/disk.img" >"$tmp/fsck.log" 2>&1
    local rc=$?
    if [ $rc -eq 0 ]; then ok "host: e2fsck -n after boot 2 is clean"; else
        fail "host: e2fsck -n after boot 2: status $rc"
        sed 's/^/#   /' "$tmp/fsck.log" | tail -5
    fi
    reply=$(debugfs -R "cat /seq.txt" "$tmp/disk.img" 2>/dev/null | md5sum | cut -d' ' -f1)
    check "host: seq.txt as written" "$(seq 1 20000 | md5sum | cut -d' ' -f1)"
}

build_mkfs_archive
truncate -s 64M "$tmp/disk.img"
head -c $((8 << 20)) /dev/urandom >"$tmp/ro.img"
ro_md5=$(md5sum <"$tmp/ro.img" | cut -d' ' -f1)
guest_md5=
if boot1; then
    host_checks1
    case "$XUNI" in
    *asan*) ;;
    *) boot2 ;;
    esac
fi
echo "1..$n"
