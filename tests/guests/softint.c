/* softint: software interrupts. int n at ring 0 (through an IST gate too),
 * to a not-present gate (#NP) and to an empty one (#GP), with the IDT
 * error code (vector << 3 | 2); from ring 3 through a DPL-3 gate (the
 * handler runs on RSP0 with a null SS, iretq returns to ring 3) and a DPL-0
 * one (#GP); int3 through DPL-0 and DPL-3 gates; int1, which ignores the
 * gate's DPL; into, invalid in 64-bit mode.
 *
 * needs=intn: the nested KVM of our hosts fails `int n` at ring 0 with an
 * internal error and turns it into #UD at ring 3 (int3's DPL check too). */
#include "guest.h"

#define VEC_DB 1
#define VEC_BP 3
#define VEC_UD 6
#define VEC_NP 11
#define VEC_GP 13

#define VEC_RING0   0x80 /* DPL 0 */
#define VEC_DPL3    0x82
#define VEC_DPL0    0x81
#define VEC_IST     0x83
#define VEC_ABSENT  0x84 /* a handler, but the gate not present */
#define VEC_EMPTY   0x85 /* no gate at all */
#define ERR_IDT     2
#define IST_INDEX   1
#define UNMAPPED    0x200000000ULL /* start.S maps only 0-4 GiB */
#define RFLAGS_BASE 0x2ULL

static volatile uint64_t h_count, h_cs, h_ss, h_rip, h_own_ss;

static void handler(struct irq_frame *f)
{
    uint16_t ss;
    __asm__ volatile("movw %%ss, %0" : "=r"(ss));
    h_count++;
    h_own_ss = ss;
    h_cs = f->cs;
    h_ss = f->ss;
    h_rip = f->rip;
    f->rax++;
}

static void reset_handler(void)
{
    h_count = h_cs = h_ss = h_rip = h_own_ss = 0;
}

/* --- ring 0 --- */

static void test_ring0(void)
{
    reset_handler();
    uint64_t rax = 0x1234, after;
    __asm__ volatile("movq $1f, %1\n\tint %2\n1:" : "+a"(rax), "=m"(after) : "i"(VEC_RING0));
    printf("int $0x%x at ring 0: rax 0x%lx, frame cs 0x%lx ss 0x%lx, return rip %s\n", VEC_RING0,
           rax, h_cs, h_ss, h_rip == after ? "after the int" : "wrong");
    check(rax == 0x1235 && h_count == 1 && h_cs == GUEST_CS64 && h_ss == GUEST_DS && h_rip == after,
          "int n at ring 0");

    static uint8_t ist_stack[512] __attribute__((aligned(16)));
    static volatile uint64_t saved_rsp;
    guest_tss.ist[IST_INDEX - 1] = (uintptr_t)ist_stack + sizeof(ist_stack);
    idt_set_attr(VEC_IST, 0, IST_INDEX, true);
    reset_handler();
    __asm__ volatile("movq %%rsp, %0\n\t"
                     "movq %1, %%rsp\n\t"
                     "int %2\n\t"
                     "movq %0, %%rsp"
                     : "+m"(saved_rsp)
                     : "r"(UNMAPPED), "i"(VEC_IST)
                     : "rax", "memory");
    const uint64_t *top = (const uint64_t *)(ist_stack + sizeof(ist_stack));
    printf("int $0x%x through an IST gate, rsp unmapped: frame rsp 0x%lx on the IST stack\n",
           VEC_IST, top[-2]);
    check(h_count == 1 && top[-2] == UNMAPPED && top[-1] == GUEST_DS, "int n through IST");

    idt_set_attr(VEC_ABSENT, 0, 0, false);
    trap_reset();
    TRAP_ASM("int %0", : : "i"(VEC_ABSENT) : "memory");
    trap_report("int $0x84, gate not present", VEC_NP, VEC_ABSENT << 3 | ERR_IDT);
    trap_reset();
    TRAP_ASM("int %0", : : "i"(VEC_EMPTY) : "memory");
    trap_report("int $0x85, empty gate", VEC_GP, VEC_EMPTY << 3 | ERR_IDT);
}

/* --- ring 3 --- */

static uint64_t user_int_dpl3(uint64_t rax)
{
    __asm__ volatile("int %1" : "+a"(rax) : "i"(VEC_DPL3) : "memory");
    return rax;
}

static uint64_t user_int_dpl0(uint64_t arg)
{
    (void)arg;
    TRAP_ASM("int %0", : : "i"(VEC_DPL0) : "memory");
    return 0;
}

/* Each returns the address right after its instruction. */
static uint64_t user_int3(uint64_t arg)
{
    (void)arg;
    uint64_t after;
    TRAP_ASM("movq $1f, %0\n\tint3\n1:", : "=m"(after) : : "memory");
    return after;
}

static uint64_t user_int1(uint64_t arg)
{
    (void)arg;
    uint64_t after;
    TRAP_ASM("movq $1f, %0\n\t.byte 0xf1\n1:", : "=m"(after) : : "memory");
    return after;
}

static uint64_t user_into(uint64_t arg)
{
    (void)arg;
    TRAP_ASM(".byte 0xce", : : : "memory");
    return 0;
}

static void test_ring3(void)
{
    idt_set_attr(VEC_DPL3, 3, 0, true);
    reset_handler();
    uint64_t rax = user_run(user_int_dpl3, 0x1234, RFLAGS_BASE);
    printf("int $0x%x from ring 3, DPL-3 gate: rax 0x%lx, frame cs 0x%lx ss 0x%lx, handler ss "
           "0x%lx\n",
           VEC_DPL3, rax, h_cs, h_ss, h_own_ss);
    check(rax == 0x1235 && h_count == 1 && h_cs == (GUEST_UCS64 | 3) && h_ss == (GUEST_UDS | 3) &&
              h_own_ss == 0,
          "int n from ring 3 through a DPL-3 gate");

    trap_reset();
    user_run(user_int_dpl0, 0, RFLAGS_BASE);
    trap_report("int $0x81 from ring 3, DPL-0 gate", VEC_GP, VEC_DPL0 << 3 | ERR_IDT);
    check(trap.cs == (GUEST_UCS64 | 3), "the #GP did not come from ring 3");

    trap_reset();
    user_run(user_int3, 0, RFLAGS_BASE);
    trap_report("int3 from ring 3, DPL-0 gate", VEC_GP, VEC_BP << 3 | ERR_IDT);
    idt_set_attr(VEC_BP, 3, 0, true);
    trap_reset();
    uint64_t after = user_run(user_int3, 0, RFLAGS_BASE);
    trap_report("int3 from ring 3, DPL-3 gate", VEC_BP, 0);
    check(trap.rip == after, "the #BP's rip is not right after the int3");
    idt_set_attr(VEC_BP, 0, 0, true);

    trap_reset();
    after = user_run(user_int1, 0, RFLAGS_BASE);
    trap_report("int1 from ring 3, DPL-0 gate", VEC_DB, 0);
    check(trap.rip == after, "the #DB's rip is not right after the int1");

    trap_reset();
    user_run(user_into, 0, RFLAGS_BASE);
    trap_report("into in 64-bit mode", VEC_UD, 0);
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic;
    (void)info;
    printf("softint guest\n");
    user_init();
    idt_set_handler(VEC_RING0, handler);
    idt_set_handler(VEC_DPL3, handler);
    idt_set_handler(VEC_DPL0, handler); /* never reached: the DPL check fails */
    idt_set_handler(VEC_IST, handler);
    idt_set_handler(VEC_ABSENT, handler);
    test_ring0();
    test_ring3();
    printf("softint done\n");
}
