#include "boot/boot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/linux.h"
#include "boot/multiboot.h"
#include "util/log.h"
#include "util/bytes.h"

#define BOOT_FILE_MAX (1ULL << 32) /* nothing we load is larger than 4 GiB */

int boot_file_read(const char *path, struct boot_file *f)
{
    memset(f, 0, sizeof(*f));
    f->path = path;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        log_error("cannot read %s: %s", path, strerror(err));
        return -err;
    }
    struct stat st;
    int err = 0;
    if (fstat(fd, &st) < 0) {
        err = errno;
    } else if (!S_ISREG(st.st_mode)) {
        err = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
    } else if ((uint64_t)st.st_size > BOOT_FILE_MAX) {
        err = EFBIG;
    }
    if (err) {
        log_error("cannot read %s: %s", path, err == EINVAL ? "not a regular file" : strerror(err));
        close(fd);
        return -err;
    }
    f->size = st.st_size;
    f->data = malloc(f->size ? f->size : 1);
    if (!f->data) {
        close(fd);
        log_error("cannot read %s: out of memory", path);
        return -ENOMEM;
    }
    size_t done = 0;
    while (done < f->size) {
        ssize_t n = read(fd, f->data + done, f->size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err = n < 0 ? errno : EIO;
            log_error("cannot read %s: %s", path,
                      n < 0 ? strerror(err) : "file shrank while reading");
            close(fd);
            boot_file_free(f);
            return -err;
        }
        done += n;
    }
    close(fd);
    return 0;
}

void boot_file_free(struct boot_file *f)
{
    free(f->data);
    f->data = NULL;
    f->size = 0;
}

enum kernel_format boot_detect_format(const uint8_t *data, size_t size)
{
    /* The Linux setup header is the most specific signature; check it first
     * (a bzImage never carries a multiboot header). */
    if (size >= 0x210 && get_le32(data + 0x202) == 0x53726448 /* "HdrS" */)
        return KERNEL_BZIMAGE;
    struct multiboot_header mb;
    if (multiboot_find_header(data, size, &mb) >= 0)
        return KERNEL_MULTIBOOT;
    if (size >= 64 && memcmp(data, "\177ELF", 4) == 0 && data[4] == 2 /* ELFCLASS64 */)
        return KERNEL_ELF64;
    return KERNEL_UNKNOWN;
}

const char *boot_format_name(enum kernel_format fmt)
{
    static const char *const names[] = {
        [KERNEL_UNKNOWN] = "unknown",
        [KERNEL_BZIMAGE] = "Linux bzImage",
        [KERNEL_ELF64] = "ELF64 vmlinux",
        [KERNEL_MULTIBOOT] = "multiboot",
    };
    return names[fmt];
}

int boot_load(struct guest_memory *mem, const struct boot_params_in *in, struct boot_entry *entry)
{
    struct boot_file kernel;
    int r = boot_file_read(in->kernel_path, &kernel);
    if (r < 0)
        return r;
    memset(entry, 0, sizeof(*entry));
    enum kernel_format fmt = boot_detect_format(kernel.data, kernel.size);
    switch (fmt) {
    case KERNEL_BZIMAGE:
    case KERNEL_ELF64:
        r = linux_load(mem, &kernel, fmt, in, entry);
        break;
    case KERNEL_MULTIBOOT:
        r = multiboot_load(mem, &kernel, in, entry);
        break;
    default:
        log_error("%s is not a kernel xuni can boot: no Linux setup header, no multiboot header "
                  "in the first 8 KiB, and not an ELF64 vmlinux",
                  in->kernel_path);
        r = -ENOEXEC;
    }
    boot_file_free(&kernel);
    return r;
}

void boot_flat_segments(struct boot_entry *entry, int long_mode, uint16_t cs_sel, uint16_t ds_sel)
{
    entry->cs = (struct boot_segment){
        .base = 0,
        .limit = 0xffffffff,
        .selector = cs_sel,
        .type = 0xb, /* execute/read, accessed */
        .s = 1,
        .present = 1,
        .db = long_mode ? 0 : 1,
        .l = long_mode ? 1 : 0,
        .g = 1,
    };
    entry->ds = (struct boot_segment){
        .base = 0,
        .limit = 0xffffffff,
        .selector = ds_sel,
        .type = 0x3, /* read/write, accessed */
        .s = 1,
        .present = 1,
        .db = 1,
        .g = 1,
    };
}

uint64_t boot_sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

bool boot_ram_covers(const struct guest_memory *mem, uint64_t start, uint64_t end)
{
    return end > start && guest_memory_ptr(mem, start, end - start) != NULL;
}

unsigned long long boot_ram_mib(const struct guest_memory *mem)
{
    return (unsigned long long)(mem->ram_size >> 20);
}
