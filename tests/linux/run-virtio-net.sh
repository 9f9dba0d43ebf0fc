#!/usr/bin/env bash
# End-to-end virtio-net on the user-mode network (libslirp): Debian 12's
# generic kernel (build/images, `make guest`) under --accel emu, driven
# through the console. Prints TAP.
#
#   tests/linux/run-virtio-net.sh XUNI
#
# The guest's eth0 is driven by virtio_net with the --mac address; busybox
# udhcpc gets 10.0.2.15 from slirp's DHCP server (a small script applies
# the lease); wget through the gateway 10.0.2.2 fetches a page and a 1 MiB
# file from an HTTP server this test runs on the host's loopback (the md5
# must match); busybox httpd in the guest answers the host through a
# hostfwd port; poweroff ends xuni with status 0. The sanitizer build runs
# the same steps.
set -u
XUNI=${1:?usage: run-virtio-net.sh XUNI}
cd "$(dirname "$0")/../.."
IMAGES=build/images
BOOT_TIMEOUT=${XUNI_LINUX_TIMEOUT:-240}
CMD_TIMEOUT=120
tmp=$(mktemp -d)
. tests/linux/console.sh
TAP_PREFIX=virtio-net
http_pid=
trap 'console_kill; [ -n "$http_pid" ] && kill "$http_pid" 2>/dev/null; rm -rf "$tmp"' EXIT

if [ ! -f "$IMAGES/vmlinuz-generic" ] || [ ! -f "$IMAGES/initramfs-generic.cpio.gz" ]; then
    echo "1..1"
    echo "ok 1 - virtio-net # SKIP no guest images in $IMAGES (make guest builds them)"
    exit 0
fi
if ! command -v python3 >/dev/null; then
    echo "1..1"
    echo "ok 1 - virtio-net # SKIP python3 missing (the host's HTTP server and client)"
    exit 0
fi

# Two free TCP ports on the loopback (the kernel picks them).
read -r http_port fwd_port < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')

mkdir -p "$tmp/www"
token=xuni-net-$RANDOM$RANDOM
echo "$token" >"$tmp/www/page.txt"
head -c $((1 << 20)) /dev/urandom >"$tmp/www/big.bin"
big_md5=$(md5sum <"$tmp/www/big.bin" | cut -d' ' -f1)
python3 -m http.server --bind 127.0.0.1 --directory "$tmp/www" "$http_port" \
    >"$tmp/http.log" 2>&1 &
http_pid=$!

mac=52:54:00:ab:cd:ef
console_start "$XUNI" run --accel emu --kernel "$IMAGES/vmlinuz-generic" \
    --initrd "$IMAGES/initramfs-generic.cpio.gz" --mem 512M --append "console=ttyS0" \
    --net "user,hostfwd=tcp:127.0.0.1:$fwd_port-:8080" --mac "$mac"
t0=$SECONDS
if ! wait_for "Type 'poweroff' to leave." "$BOOT_TIMEOUT" || ! run_cmd "dmesg -n 1"; then
    fail "boots to the shell within ${BOOT_TIMEOUT}s"
    echo "1..$n"
    exit 1
fi
ok "boots to the shell ($((SECONDS - t0)) s)"

run_cmd 'basename $(readlink /sys/class/net/eth0/device/driver); cat /sys/class/net/eth0/address'
check "eth0 is virtio_net with the --mac address" "virtio_net
$mac"

# udhcpc hands the lease to a script in its environment: apply it.
run_cmd "printf '%s\n' '#!/bin/sh' '[ \"\$1\" = bound ] || exit 0' 'ip addr add \$ip/\$mask dev \$interface' 'ip route add default via \$router' > /tmp/s; chmod +x /tmp/s; ip link set eth0 up; echo up"
check "eth0 up, lease script written" up
run_cmd "udhcpc -i eth0 -s /tmp/s -n -q -t 5 >/dev/null 2>&1; echo rc=\$?; ip -4 addr show eth0 | grep -o 'inet [0-9./]*'; ip route | grep default | cut -d' ' -f1-3"
check "DHCP from slirp: 10.0.2.15/24 via 10.0.2.2" "rc=0
inet 10.0.2.15/24
default via 10.0.2.2"

run_cmd "wget -q -O - http://10.0.2.2:$http_port/page.txt"
check "wget a page from the host through the gateway" "$token"
run_cmd "wget -q -O /tmp/big.bin http://10.0.2.2:$http_port/big.bin; md5sum /tmp/big.bin | cut -d' ' -f1"
check "wget 1 MiB from the host, md5 intact" "$big_md5"

run_cmd "mkdir -p /tmp/www && echo guest-$token > /tmp/www/g.txt && httpd -p 8080 -h /tmp/www && echo serving"
check "httpd in the guest on port 8080" serving
reply=$(python3 -c '
import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=60).read().decode().strip())' \
    "http://127.0.0.1:$fwd_port/g.txt" 2>&1)
check "the host reaches the guest's httpd through hostfwd" "guest-$token"

run_cmd "cat /sys/class/net/eth0/statistics/rx_errors /sys/class/net/eth0/statistics/tx_errors"
check "no rx/tx errors counted by the guest" "0
0"
console_poweroff
if [ "$status" -eq 0 ]; then ok "poweroff, status 0"; else fail "poweroff: status $status"; fi
echo "1..$n"
