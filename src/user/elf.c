/* Loading a static x86-64 ELF program into the guest region, as Linux's
 * binfmt_elf does for a program without an interpreter: ET_EXEC at its
 * addresses, static-pie ET_DYN at ELF_ET_DYN_BASE (two thirds up the
 * address space), each PT_LOAD with its permissions, the bss zeroed, brk
 * starting at the page after the highest segment (no randomization).
 *
 * Segments are anonymous mappings filled with pread rather than file
 * mappings, so their file offsets need no alignment and the file can be
 * closed at once; pages two segments share get the later one's rights, as
 * with the kernel's overlapping MAP_FIXED mappings.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "user/user_proc.h"

#define USER_MAX_PHNUM 512

struct elf_file {
    Elf64_Ehdr eh;
    Elf64_Phdr *ph;
};

/* Read and check the headers: 0, or a user_elf_kind other than STATIC. */
static int elf_read(int fd, struct elf_file *f)
{
    f->ph = NULL;
    if (pread(fd, &f->eh, sizeof(f->eh), 0) != (ssize_t)sizeof(f->eh) ||
        memcmp(f->eh.e_ident, ELFMAG, SELFMAG) != 0)
        return USER_ELF_NOT_ELF;
    if (f->eh.e_ident[EI_CLASS] != ELFCLASS64 || f->eh.e_ident[EI_DATA] != ELFDATA2LSB ||
        f->eh.e_machine != EM_X86_64 || (f->eh.e_type != ET_EXEC && f->eh.e_type != ET_DYN) ||
        f->eh.e_phentsize != sizeof(Elf64_Phdr) || f->eh.e_phnum == 0 ||
        f->eh.e_phnum > USER_MAX_PHNUM)
        return USER_ELF_FOREIGN;
    size_t size = (size_t)f->eh.e_phnum * sizeof(Elf64_Phdr);
    f->ph = malloc(size);
    if (!f->ph || pread(fd, f->ph, size, (off_t)f->eh.e_phoff) != (ssize_t)size) {
        free(f->ph);
        f->ph = NULL;
        return USER_ELF_FOREIGN;
    }
    for (unsigned i = 0; i < f->eh.e_phnum; i++) {
        if (f->ph[i].p_type == PT_INTERP) {
            free(f->ph);
            f->ph = NULL;
            return USER_ELF_DYNAMIC;
        }
    }
    return 0;
}

enum user_elf_kind user_elf_classify(int fd)
{
    struct elf_file f;
    int r = elf_read(fd, &f);
    free(f.ph);
    return r ? (enum user_elf_kind)r : USER_ELF_STATIC;
}

static int prot_of(uint32_t flags)
{
    return (flags & PF_R ? PROT_READ : 0) | (flags & PF_W ? PROT_WRITE : 0) |
           (flags & PF_X ? PROT_EXEC : 0);
}

/* The span of the PT_LOAD segments and their largest alignment. */
static int elf_span(const struct elf_file *f, uint64_t *lo, uint64_t *hi, uint64_t *align)
{
    *lo = UINT64_MAX;
    *hi = 0;
    *align = USER_PAGE;
    for (unsigned i = 0; i < f->eh.e_phnum; i++) {
        const Elf64_Phdr *ph = &f->ph[i];
        if (ph->p_type != PT_LOAD)
            continue;
        if (ph->p_filesz > ph->p_memsz || ph->p_vaddr + ph->p_memsz < ph->p_vaddr)
            return -1;
        if (user_page_down(ph->p_vaddr) < *lo)
            *lo = user_page_down(ph->p_vaddr);
        if (ph->p_vaddr + ph->p_memsz > *hi)
            *hi = ph->p_vaddr + ph->p_memsz;
        if (ph->p_align > *align && !(ph->p_align & (ph->p_align - 1)))
            *align = ph->p_align;
    }
    return *lo < *hi ? 0 : -1;
}

/* Map the pages of [start, end) not mapped yet (by an earlier segment
 * sharing a page) as fresh read-write memory. */
static int map_missing(struct user_proc *p, uint64_t start, uint64_t end)
{
    for (uint64_t a = start; a < end;) {
        if (!user_mm_is_free(&p->mm, a, USER_PAGE)) {
            a += USER_PAGE;
            continue;
        }
        uint64_t b = a + USER_PAGE;
        while (b < end && user_mm_is_free(&p->mm, b, USER_PAGE))
            b += USER_PAGE;
        if (user_mm_map(p, a, b - a, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) <
            0)
            return -ENOMEM;
        a = b;
    }
    return 0;
}

/* Map, fill and protect the segments at bias. */
static int elf_map(struct user_proc *p, int fd, const struct elf_file *f, uint64_t bias)
{
    for (unsigned i = 0; i < f->eh.e_phnum; i++) {
        const Elf64_Phdr *ph = &f->ph[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uint64_t start = user_page_down(ph->p_vaddr + bias);
        uint64_t end = user_page_up(ph->p_vaddr + bias + ph->p_memsz);
        if (map_missing(p, start, end) < 0)
            return -ENOMEM;
        if (ph->p_filesz && pread(fd, user_host(p, ph->p_vaddr + bias), ph->p_filesz,
                                  (off_t)ph->p_offset) != (ssize_t)ph->p_filesz)
            return -EIO;
    }
    for (unsigned i = 0; i < f->eh.e_phnum; i++) {
        const Elf64_Phdr *ph = &f->ph[i];
        uint64_t start = user_page_down(ph->p_vaddr + bias);
        uint64_t end = user_page_up(ph->p_vaddr + bias + ph->p_memsz);
        if (ph->p_type == PT_LOAD && end > start &&
            user_mm_protect(p, start, end - start, prot_of(ph->p_flags)) < 0)
            return -ENOMEM;
    }
    return 0;
}

static void elf_fill_image(const struct elf_file *f, uint64_t bias, uint64_t hi,
                           struct user_image *img)
{
    memset(img, 0, sizeof(*img));
    img->bias = bias;
    img->entry = f->eh.e_entry + bias;
    img->phnum = f->eh.e_phnum;
    img->phent = f->eh.e_phentsize;
    img->brk = user_page_up(hi + bias);
    bool first = true;
    for (unsigned i = 0; i < f->eh.e_phnum; i++) {
        const Elf64_Phdr *ph = &f->ph[i];
        if (ph->p_type == PT_LOAD && first) {
            /* As the kernel: the headers sit at e_phoff in the file image
             * the first segment maps. */
            img->phdr = ph->p_vaddr - ph->p_offset + f->eh.e_phoff + bias;
            first = false;
        } else if (ph->p_type == PT_GNU_STACK) {
            img->exec_stack = (ph->p_flags & PF_X) != 0;
        }
    }
}

int user_elf_load(struct user_proc *p, const char *path, struct user_image *img)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        log_error("cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    struct elf_file f = {0};
    int r = -1, kind = fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ? -1 : elf_read(fd, &f);
    uint64_t lo, hi, align, bias = 0;
    if (kind < 0)
        log_error("cannot run %s: %s", path,
                  S_ISDIR(st.st_mode) ? "Is a directory" : "not a regular file");
    else if (kind == USER_ELF_NOT_ELF)
        log_error("%s is not an ELF program", path);
    else if (kind == USER_ELF_FOREIGN)
        log_error("%s is not an x86-64 ELF executable", path);
    else if (kind == USER_ELF_DYNAMIC)
        log_error("%s is dynamically linked; xuni user runs static programs", path);
    else if (elf_span(&f, &lo, &hi, &align) < 0)
        log_error("%s has no valid loadable segments", path);
    else {
        if (f.eh.e_type == ET_DYN)
            bias = ((p->mm.size / 3 * 2) & ~(align - 1)) - lo;
        if (lo + bias < USER_MMAP_MIN || !user_mm_is_free(&p->mm, lo + bias, hi - lo))
            log_error("%s does not fit in the guest address space", path);
        else if ((r = elf_map(p, fd, &f, bias)) < 0)
            log_error("cannot load %s: %s", path, strerror(-r));
        else
            elf_fill_image(&f, bias, hi, img);
    }
    free(f.ph);
    close(fd);
    return r < 0 ? -1 : 0;
}
