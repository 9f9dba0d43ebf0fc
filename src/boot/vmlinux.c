#include "boot/vmlinux.h"

#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "util/log.h"
#include "vm/layout.h"

static int elf_check_header(const struct boot_file *k, Elf64_Ehdr *eh)
{
    if (k->size < sizeof(*eh)) {
        log_error("%s: file is only %zu bytes, too small for an ELF header", k->path, k->size);
        return -EINVAL;
    }
    memcpy(eh, k->data, sizeof(*eh));
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0) {
        log_error("%s: not an ELF file", k->path);
        return -EINVAL;
    }
    if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB) {
        log_error("%s: not a little-endian 64-bit ELF file", k->path);
        return -EINVAL;
    }
    if (eh->e_machine != EM_X86_64) {
        log_error("%s: ELF machine %u is not x86-64", k->path, eh->e_machine);
        return -EINVAL;
    }
    if (eh->e_type != ET_EXEC) {
        log_error("%s: ELF type %u is not an executable (ET_EXEC)", k->path, eh->e_type);
        return -EINVAL;
    }
    if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 || eh->e_phoff > k->size ||
        (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > k->size - eh->e_phoff) {
        log_error("%s: ELF program headers (%u at 0x%llx) do not lie inside the file (%zu bytes)",
                  k->path, eh->e_phnum, (unsigned long long)eh->e_phoff, k->size);
        return -EINVAL;
    }
    return 0;
}

static void elf_phdr(const struct boot_file *k, const Elf64_Ehdr *eh, unsigned i, Elf64_Phdr *ph)
{
    memcpy(ph, k->data + eh->e_phoff + (uint64_t)i * sizeof(*ph), sizeof(*ph));
}

static int elf_load_segment(struct guest_memory *mem, const struct boot_file *k, unsigned i,
                            const Elf64_Phdr *ph)
{
    if (ph->p_filesz > ph->p_memsz) {
        log_error("%s: ELF segment %u has more file bytes (0x%llx) than memory bytes (0x%llx)",
                  k->path, i, (unsigned long long)ph->p_filesz, (unsigned long long)ph->p_memsz);
        return -EINVAL;
    }
    if (ph->p_offset > k->size || ph->p_filesz > k->size - ph->p_offset) {
        log_error("%s: ELF segment %u (0x%llx bytes at file offset 0x%llx) does not lie inside "
                  "the file (%zu bytes)",
                  k->path, i, (unsigned long long)ph->p_filesz, (unsigned long long)ph->p_offset,
                  k->size);
        return -EINVAL;
    }
    uint64_t end = boot_sat_add(ph->p_paddr, ph->p_memsz);
    if (ph->p_paddr < LAYOUT_HIGH_MEM_START) {
        log_error("%s: ELF segment %u at 0x%llx overlaps the boot area below 1 MiB", k->path, i,
                  (unsigned long long)ph->p_paddr);
        return -EINVAL;
    }
    uint8_t *dst = boot_ram_covers(mem, ph->p_paddr, end)
                       ? guest_memory_ptr(mem, ph->p_paddr, ph->p_memsz)
                       : NULL;
    if (!dst) {
        log_error("%s: guest memory (%llu MiB) is too small for ELF segment %u at "
                  "0x%llx-0x%llx",
                  k->path, boot_ram_mib(mem), i, (unsigned long long)ph->p_paddr,
                  (unsigned long long)end);
        return -ENOMEM;
    }
    memcpy(dst, k->data + ph->p_offset, ph->p_filesz);
    memset(dst + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
    return 0;
}

/* e_entry of a vmlinux is physical; accept a virtual one through the
 * segment that holds it. */
static int elf_entry(const struct boot_file *k, const Elf64_Ehdr *eh, uint64_t *entry)
{
    Elf64_Phdr ph;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        elf_phdr(k, eh, i, &ph);
        if (ph.p_type == PT_LOAD && eh->e_entry - ph.p_paddr < ph.p_memsz) {
            *entry = eh->e_entry;
            return 0;
        }
    }
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        elf_phdr(k, eh, i, &ph);
        if (ph.p_type == PT_LOAD && eh->e_entry - ph.p_vaddr < ph.p_memsz) {
            *entry = eh->e_entry - ph.p_vaddr + ph.p_paddr;
            return 0;
        }
    }
    log_error("%s: ELF entry point 0x%llx lies in no loadable segment", k->path,
              (unsigned long long)eh->e_entry);
    return -EINVAL;
}

int vmlinux_load(struct guest_memory *mem, const struct boot_file *k, struct vmlinux_image *img)
{
    Elf64_Ehdr eh;
    Elf64_Phdr ph;
    int r = elf_check_header(k, &eh);
    if (r < 0)
        return r;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        elf_phdr(k, &eh, i, &ph);
        if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
            continue;
        r = elf_load_segment(mem, k, i, &ph);
        if (r < 0)
            return r;
        if (ph.p_paddr < lo)
            lo = ph.p_paddr;
        if (ph.p_paddr + ph.p_memsz > hi)
            hi = ph.p_paddr + ph.p_memsz;
    }
    if (hi == 0) {
        log_error("%s: ELF file has no loadable segment", k->path);
        return -EINVAL;
    }
    r = elf_entry(k, &eh, &img->entry);
    if (r < 0)
        return r;
    img->lo = lo;
    img->hi = hi;
    return 0;
}
