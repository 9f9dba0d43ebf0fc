# shellcheck shell=bash
# Sourced by the CLI tests: turns the linuxboot test guest into a bzImage
# with a real compressed payload, the way the kernel's build makes one.
#
# build/guests/linuxboot.bzImage names no payload (payload_length 0): its
# protected-mode code runs as it is. linuxboot.payload.elf is the same code
# as an ELF linked at 16 MiB with its entry at 0x1000200, like a vmlinux.
# bzimage_with_payload appends that ELF, compressed as FORMAT with the
# command-line tool and options the kernel's Makefiles use and the
# uncompressed size appended (scripts/Makefile.lib, size_append), and points
# payload_offset/payload_length at it. syssize still covers only the
# original code, so with --kernel-decompress guest the image boots exactly
# as before, and with host xuni unpacks the ELF: both must print the same.

LINUXBOOT_BZ=build/guests/linuxboot.bzImage
LINUXBOOT_ELF=build/guests/linuxboot.payload.elf

# The tool a format needs.
payload_tool() {
    case $1 in
    lzo) echo lzop ;;
    none) echo cat ;;
    *) echo "$1" ;;
    esac
}

# compress_as FORMAT < in > out
compress_as() {
    case $1 in
    gzip) gzip -n -9 ;;
    bzip2) bzip2 -9 ;;
    lzma) lzma -9 ;;
    xz) xz --check=crc32 --x86 --lzma2=,dict=32MiB ;;
    lzo) lzop -9 ;;
    lz4) lz4 -l -9 - - ;;
    zstd) zstd -q -22 --ultra ;;
    none) cat ;;
    *) return 1 ;;
    esac
}

# put_le32 FILE OFFSET VALUE: overwrite 4 bytes in place.
put_le32() {
    local v=$3
    # shellcheck disable=SC2059
    printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $((v & 255)) $((v >> 8 & 255)) \
        $((v >> 16 & 255)) $((v >> 24 & 255)))" |
        dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# bzimage_with_payload FORMAT OUT [PAYLOAD_FILE]: OUT = linuxboot.bzImage +
# the payload (PAYLOAD_FILE as given, or the ELF compressed as FORMAT).
bzimage_with_payload() {
    local fmt=$1 out=$2 payload=${3:-}
    local setup_sects kernel_off bz_size
    setup_sects=$(od -An -tu1 -j $((0x1f1)) -N1 "$LINUXBOOT_BZ" | tr -d ' ')
    kernel_off=$(((setup_sects + 1) * 512))
    bz_size=$(stat -c %s "$LINUXBOOT_BZ")
    if [ -z "$payload" ]; then
        payload=$out.payload
        compress_as "$fmt" <"$LINUXBOOT_ELF" >"$payload" || return 1
        if [ "$fmt" != gzip ] && [ "$fmt" != none ]; then
            local n
            n=$(stat -c %s "$LINUXBOOT_ELF")
            : >"$payload.size"
            put_le32 "$payload.size" 0 "$n"
            cat "$payload.size" >>"$payload"
            rm -f "$payload.size"
        fi
    fi
    cat "$LINUXBOOT_BZ" "$payload" >"$out"
    put_le32 "$out" $((0x248)) $((bz_size - kernel_off))
    put_le32 "$out" $((0x24c)) "$(stat -c %s "$payload")"
}
