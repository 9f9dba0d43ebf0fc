/* The x87 state images: the FNSTENV/FLDENV environment, FNSAVE/FRSTOR, and
 * FXSAVE/FXRSTOR, in the layouts and with the details this host (AMD Zen 3)
 * shows in 64-bit mode:
 *
 *   environment, 32-bit layout (28 bytes): FCW, FSW, full tag word, each a
 *     dword whose upper half is stored as 0xffff; FIP bits 0-31; FCS and
 *     FOP (bits 16-26) in one dword; FDP bits 0-31; FDS, upper half 0xffff.
 *     FLDENV takes FIP and FDP zero-extended.
 *   environment, 16-bit layout (14 bytes, operand size 16): FCW FSW FTW,
 *     FIP bits 0-15, FCS, FDP bits 0-15, FDS; FLDENV sets FOP to 0.
 *   FNSAVE/FRSTOR: the environment, then ST(0)..ST(7), 10 bytes each.
 *   FXSAVE: FCW, FSW, abridged tags (bit i: R(i) not empty), a zero byte,
 *     then FOP and the pointers only while an exception is pending (ES);
 *     otherwise those 18 bytes are stored as zeros. The REX.W layout has a
 *     64-bit FIP and FDP (sign-extended from bit 47) and no selectors;
 *     without REX.W: FIP bits 0-31, FCS, two zero bytes, FDP bits 0-31,
 *     FDS, two zero bytes. MXCSR, MXCSR_MASK, ST(i) in 16-byte slots (the
 *     last six bytes zero), XMM0-15; bytes 416-511 are not written.
 *   FXRSTOR loads the pointers whatever ES is; the REX.W layout clears FCS
 *     and FDS.
 * Every load of FCW keeps only its defined bits (x87_set_fcw), and every
 * load of FSW recomputes ES and B from the flags and masks.
 */
#include <string.h>

#include "cpu/x86/x87.h"
#include "util/bytes.h"

void x87_env_store(const struct x86_cpu *cpu, uint8_t *p, bool w16)
{
    const struct x86_fpu *f = &cpu->fpu;
    uint16_t ftw = x87_full_tags(cpu);
    if (w16) {
        put_le16(p, f->fcw);
        put_le16(p + 2, x87_fsw(cpu));
        put_le16(p + 4, ftw);
        put_le16(p + 6, (unsigned)f->fip);
        put_le16(p + 8, x87_ptr_sel(f->fip));
        put_le16(p + 10, (unsigned)f->fdp);
        put_le16(p + 12, x87_ptr_sel(f->fdp));
        return;
    }
    put_le32(p, 0xffff0000u | f->fcw);
    put_le32(p + 4, 0xffff0000u | x87_fsw(cpu));
    put_le32(p + 8, 0xffff0000u | ftw);
    put_le32(p + 12, (uint32_t)f->fip);
    put_le32(p + 16, x87_ptr_sel(f->fip) | (uint32_t)(f->fop & 0x7ff) << 16);
    put_le32(p + 20, (uint32_t)f->fdp);
    put_le32(p + 24, 0xffff0000u | x87_ptr_sel(f->fdp));
}

void x87_env_load(struct x86_cpu *cpu, const uint8_t *p, bool w16)
{
    struct x86_fpu *f = &cpu->fpu;
    unsigned step = w16 ? 2 : 4;
    x87_set_fcw(cpu, get_le16(p));
    x87_set_fsw(cpu, get_le16(p + step));
    f->ftw = x87_abridge(get_le16(p + 2 * step));
    if (w16) {
        f->fip = x87_ptr_pack(get_le16(p + 8), get_le16(p + 6));
        f->fop = 0;
        f->fdp = x87_ptr_pack(get_le16(p + 12), get_le16(p + 10));
    } else {
        f->fip = x87_ptr_pack(get_le16(p + 16), get_le32(p + 12));
        f->fop = get_le16(p + 18) & 0x7ff;
        f->fdp = x87_ptr_pack(get_le16(p + 24), get_le32(p + 20));
    }
    x87_update_es(cpu);
}

void x87_save_store(const struct x86_cpu *cpu, uint8_t *p, bool w16)
{
    unsigned env = w16 ? X87_ENV16_SIZE : X87_ENV32_SIZE;
    x87_env_store(cpu, p, w16);
    for (unsigned i = 0; i < 8; i++)
        memcpy(p + env + 10 * i, &cpu->fpu.st[(cpu->fpu.top + i) & 7], 10);
}

void x87_save_load(struct x86_cpu *cpu, const uint8_t *p, bool w16)
{
    unsigned env = w16 ? X87_ENV16_SIZE : X87_ENV32_SIZE;
    x87_env_load(cpu, p, w16);
    for (unsigned i = 0; i < 8; i++)
        memcpy(&cpu->fpu.st[(cpu->fpu.top + i) & 7], p + env + 10 * i, 10);
}

/* Read from the host's own FXSAVE once; every caller computes the same. */
uint32_t x87_mxcsr_mask(void)
{
    static uint32_t mask;
    uint32_t m = __atomic_load_n(&mask, __ATOMIC_RELAXED);
    if (!m) {
        uint8_t img[512] __attribute__((aligned(16)));
        __asm__ volatile("fxsave %0" : "=m"(img));
        m = get_le32(img + 28);
        if (!m)
            m = 0xffbf; /* the SDM: a zero mask means the default one */
        __atomic_store_n(&mask, m, __ATOMIC_RELAXED);
    }
    return m;
}

void x87_fxsave_image(const struct x86_cpu *cpu, uint8_t *img, bool w64)
{
    const struct x86_fpu *f = &cpu->fpu;
    put_le16(img, f->fcw);
    put_le16(img + 2, x87_fsw(cpu));
    img[4] = f->ftw;
    img[5] = 0;
    memset(img + 6, 0, 18);
    if (f->fsw & X87_FSW_ES) {
        put_le16(img + 6, f->fop & 0x7ff);
        if (w64) {
            put_le64(img + 8, x87_ptr_off(f->fip));
            put_le64(img + 16, x87_ptr_off(f->fdp));
        } else {
            put_le32(img + 8, (uint32_t)f->fip);
            put_le16(img + 12, x87_ptr_sel(f->fip));
            put_le32(img + 16, (uint32_t)f->fdp);
            put_le16(img + 20, x87_ptr_sel(f->fdp));
        }
    }
    put_le32(img + 24, cpu->mxcsr);
    put_le32(img + 28, x87_mxcsr_mask());
    for (unsigned i = 0; i < 8; i++) {
        uint8_t *slot = img + 32 + 16 * i;
        memcpy(slot, &f->st[(f->top + i) & 7], 10);
        memset(slot + 10, 0, 6);
    }
    memcpy(img + 160, cpu->xmm, 256);
}

bool x87_fxrstor_image(struct x86_cpu *cpu, const uint8_t *img, bool w64)
{
    struct x86_fpu *f = &cpu->fpu;
    uint32_t mxcsr = get_le32(img + 24);
    if (mxcsr & ~x87_mxcsr_mask())
        return false;
    x87_set_fcw(cpu, get_le16(img));
    x87_set_fsw(cpu, get_le16(img + 2));
    f->ftw = img[4];
    f->fop = get_le16(img + 6) & 0x7ff;
    if (w64) {
        f->fip = x87_ptr_pack(0, get_le64(img + 8));
        f->fdp = x87_ptr_pack(0, get_le64(img + 16));
    } else {
        f->fip = x87_ptr_pack(get_le16(img + 12), get_le32(img + 8));
        f->fdp = x87_ptr_pack(get_le16(img + 20), get_le32(img + 16));
    }
    for (unsigned i = 0; i < 8; i++)
        memcpy(&f->st[(f->top + i) & 7], img + 32 + 16 * i, 10);
    cpu->mxcsr = mxcsr;
    memcpy(cpu->xmm, img + 160, 256);
    x87_update_es(cpu);
    return true;
}
