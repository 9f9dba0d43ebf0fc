/* modes: the mode changes of x86-64, by their architectural routes: from
 * 64-bit mode through compatibility mode and legacy 32-bit protected mode
 * (paging off, EFER.LME off) to 16-bit protected mode and real mode, real
 * mode's segment arithmetic, far call and IVT interrupt, then back up
 * through 16-bit and 32-bit protected mode to long mode, and into
 * compatibility mode and out again by far call/lret and iretq/iret.
 * modes.S does the steps and logs registers that prove the mode: the same
 * probe bytes decode differently in 16-, 32- and 64-bit code (operand size,
 * push width); this file prints a line per step and checks it. */
#include "guest.h"

#define LOW_BASE     0x10000 /* as modes.S */
#define LOW_SEG      (LOW_BASE >> 4)
#define SEL_CS16     GUEST_GDT_FREE
#define SEL_DS16     (GUEST_GDT_FREE + 0x08)
#define SEL_SYSENTER (GUEST_GDT_FREE + 0x10) /* ring-0 code and data, ring-3 code and data */

#define ACC_CODE   0x9a /* present, DPL 0, code, readable */
#define ACC_DATA   0x92 /* present, DPL 0, data, writable */
#define ACC_DPL3   0x60
#define FLAGS_G_DB 0xc /* 4 KiB granularity, 32-bit */

#define FAR_PTR_LINEAR 0x12340 /* 1233:0010 */
#define WRAP_LINEAR    0x12040 /* 1200:(fff0 + 0050) wrapped */
#define WRAP_NOWRAP    0x22040 /* where it would be without the wrap */

#define EFER_LMA (1u << 10)

#define STEPS 19

struct log_entry {
    uint32_t step, eax, ecx, edx, esi;
};

enum width { W16, W32, W64 };

static const struct {
    const char *name;
    enum width width;
} steps[STEPS] = {
    {"64-bit mode", W64},
    {"compatibility mode (lretq)", W32},
    {"32-bit protected mode (paging off)", W32},
    {"32-bit protected mode sysexit/sysenter", W32},
    {"16-bit protected mode", W16},
    {"real mode", W16},
    {"real mode far pointer", W16},
    {"real mode offset wraparound", W16},
    {"real mode push/pop", W16},
    {"real mode far call", W16},
    {"real mode int $0x30", W16},
    {"16-bit protected mode (from real mode)", W16},
    {"32-bit protected mode (ljmpl)", W32},
    {"long mode on, 32-bit segment", W32},
    {"64-bit mode (ljmp)", W64},
    {"compatibility mode (far call)", W32},
    {"64-bit mode (lret)", W64},
    {"compatibility mode (iretq)", W32},
    {"64-bit mode (ljmp from compatibility mode)", W64},
};

extern char modes16_start[], modes16_end[], modes16_log[], modes16_int_ret[], modes16_far_ret[];
void modes_run(void);

static uint32_t low_offset(const char *sym)
{
    return (uint32_t)(sym - modes16_start);
}

/* What the step-specific registers say, and whether that is right. */
static bool describe(unsigned step, const struct log_entry *e)
{
    switch (step) {
    case 2:
    case 3:
    case 14:
        printf(", efer.lma %u, cr0.pg %u", !!(e->edx & EFER_LMA), !!(e->esi & CR0_PG));
        return !!(e->edx & EFER_LMA) == (step != 3) && !!(e->esi & CR0_PG) == (step != 3);
    case 4:
        printf(": ring 3 cs 0x%x ss 0x%x, after sysenter cs 0x%x ss 0x%x", e->eax, e->ecx, e->edx,
               e->esi);
        return e->eax == (SEL_SYSENTER + 16 + 3) && e->ecx == (SEL_SYSENTER + 24 + 3) &&
               e->edx == SEL_SYSENTER && e->esi == SEL_SYSENTER + 8;
    case 5:
        printf(", inc %%dx 0x%x, 66-prefixed inc %%esi 0x%x", e->edx, e->esi);
        return e->edx == 0x12340000 && e->esi == 0x12350000;
    case 6:
    case 12:
        printf(", cs 0x%x, cr0.pe %u", e->edx, e->esi & CR0_PE);
        return e->edx == (step == 6 ? LOW_SEG : SEL_CS16) && (e->esi & CR0_PE) == (step == 12);
    case 7:
        printf(": es:bx %04x:%04x reads 0x%x", e->esi >> 16, e->esi & 0xffff, e->edx);
        return e->esi == 0x12330010 && e->edx == 0xbeef;
    case 8:
        printf(": 1200:(fff0+0050) reads 0x%x", e->edx);
        return e->edx == 0xcafe;
    case 9:
        printf(": sp 0x%x, pushed 0x%x, popped 0x%x, sp 0x%x", e->esi, e->ecx, e->edx, e->eax);
        return e->ecx == e->esi - 2 && e->edx == 0xabcd && e->eax == e->esi;
    case 10: {
        bool ret_ok = e->ecx == LOW_SEG && e->esi == low_offset(modes16_far_ret);
        printf(": callee cs 0x%x, return address %s, cs after lret 0x%x", e->edx,
               ret_ok ? "ok" : "wrong", e->eax);
        return e->edx == LOW_SEG - 1 && ret_ok && e->eax == LOW_SEG;
    }
    case 11: {
        bool ret_ok = e->esi == (LOW_SEG << 16 | low_offset(modes16_int_ret));
        printf(": handler ax 0x%x, pushed flags 0x%x, flags in handler 0x%x, return address %s",
               e->eax, e->edx, e->ecx, ret_ok ? "ok" : "wrong");
        return e->eax == 0x5555 && e->edx == 0x0246 && e->ecx == 0x0046 && ret_ok;
    }
    case 18:
        printf(", cs 0x%x, eflags 0x%x", e->edx, e->esi);
        return e->edx == GUEST_CS32 && e->esi == 0x803;
    default: {
        unsigned cs = steps[step - 1].width == W64 ? GUEST_CS64 : GUEST_CS32;
        printf(", cs 0x%x", e->edx);
        return e->edx == cs;
    }
    }
}

static void print_log(const struct log_entry *log)
{
    static const uint32_t probe_eax[] = {0x12340002, 0x90900002, 0x90900001};
    static const uint32_t push_width[] = {2, 4, 8};
    for (unsigned i = 0; i < STEPS; i++) {
        const struct log_entry *e = &log[i];
        unsigned step = i + 1;
        if (!check(e->step == step, "log entry %u is step %u", step, e->step))
            return;
        enum width w = steps[i].width;
        bool ok = true;
        printf("%2u %s", step, steps[i].name);
        if (step != 4 && (step < 7 || step > 11)) { /* these tests have no probe */
            printf(": probe 0x%08x, push %u", e->eax, e->ecx);
            ok = e->eax == probe_eax[w] && e->ecx == push_width[w];
        }
        ok &= describe(step, e);
        printf("\n");
        check(ok, "step %u", step);
    }
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic;
    (void)info;
    printf("modes guest\n");
    desc_init();
    gdt_set(SEL_CS16, seg_desc(LOW_BASE, 0xffff, ACC_CODE, 0));
    gdt_set(SEL_DS16, seg_desc(LOW_BASE, 0xffff, ACC_DATA, 0));
    gdt_set(SEL_SYSENTER, seg_desc(0, 0xfffff, ACC_CODE, FLAGS_G_DB));
    gdt_set(SEL_SYSENTER + 8, seg_desc(0, 0xfffff, ACC_DATA, FLAGS_G_DB));
    gdt_set(SEL_SYSENTER + 16, seg_desc(0, 0xfffff, ACC_CODE | ACC_DPL3, FLAGS_G_DB));
    gdt_set(SEL_SYSENTER + 24, seg_desc(0, 0xfffff, ACC_DATA | ACC_DPL3, FLAGS_G_DB));
    memcpy((void *)LOW_BASE, modes16_start, (size_t)(modes16_end - modes16_start));
    *(volatile uint16_t *)FAR_PTR_LINEAR = 0xbeef;
    *(volatile uint16_t *)WRAP_LINEAR = 0xcafe;
    *(volatile uint16_t *)WRAP_NOWRAP = 0xdead;
    pic_disable(); /* IF is set in real mode for the int test */
    modes_run();
    print_log((const struct log_entry *)(uintptr_t)(LOW_BASE + low_offset(modes16_log)));
    printf("modes done\n");
}
