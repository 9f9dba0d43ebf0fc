/* gates: far transfers through call gates (the code is in gates.S).
 *
 * Long mode (16-byte gates to 64-bit code): a far call from ring 3 through
 * a DPL-3 gate to ring 0, which switches to TSS.RSP0 with a null SS and
 * pushes SS, RSP, CS and RIP as quadwords; lretq back to ring 3 restores
 * the ring-3 stack. A far call through a gate at ring 0 (no stack switch),
 * a jmp through a gate (nothing pushed). The checks, with their error
 * codes: a gate DPL below CPL (#GP(gate)), a selector RPL above the gate
 * DPL (#GP(gate)), a gate to a less privileged code segment (#GP(code)),
 * a not-present gate (#NP(gate)), a gate to compatibility-mode code and a
 * gate whose upper type field is not 0 (#GP).
 *
 * Legacy 32-bit protected mode (8-byte gates, lib/legacy32.h): a far call
 * from ring 3 through a 32-bit gate with a parameter count of 2: the stack
 * switch to SS0:ESP0 of the 32-bit TSS, the two parameters copied between
 * the pushed SS:ESP and CS:EIP, `lret $8` back to ring 3 releasing them
 * on both stacks; a jmp through a 32-bit gate at ring 0.
 *
 * probe=callgate: the nested KVM of our hosts raises #UD for a far call
 * through a call gate at ring 3, and fails to emulate one at ring 0 (an
 * internal error); this guest reports the first as a host defect.
 */
#include "legacy32.h"

#define VEC_NP 11
#define VEC_GP 13

/* 16-byte gates take two slots each; the legacy 8-byte gates reuse the
 * first two (gates.S has SEL_GATE32 and SEL_GATE32_JMP). */
#define SEL_G1         GUEST_GDT_FREE
#define SEL_G2         (GUEST_GDT_FREE + 0x10)
#define SEL_G3         (GUEST_GDT_FREE + 0x20)
#define SEL_GATE32     SEL_G1
#define SEL_GATE32_JMP SEL_G2

#define TYPE_CALL_GATE 0xc
#define DESC_PRESENT   0x80
#define RFLAGS_FIXED   0x2ULL
#define PARAM0         0x11111111u
#define PARAM1         0x22222222u

typedef uint64_t (*user_fn)(uint64_t);

/* gates.S */
uint64_t gate_user_run(user_fn fn, uint64_t arg, uint64_t rflags);
uint64_t r3_gate64(uint64_t sel);
uint64_t gate_jmp64(uint64_t sel);
extern char r3_gate64_call[], r3_gate64_ret[], gate64_entry[], gate_jmp64_target[],
    gate_bad_target[];
extern char r3_gate32[], r3_gate32_ret[], gate32_entry[], gate_jmp32[], gate_jmp32_target[];
extern volatile uint64_t g64_user_rsp, g64_user_rsp_after, g64_kernel_rsp, g64_frame[4];
extern volatile uint64_t g64_kernel_segs, gj_rsp_before, gj_rsp_after, gate_bad_count;
extern volatile uint32_t g32_user_esp, g32_user_esp_after, g32_kernel_esp, g32_frame[6];
extern volatile uint32_t g32_kernel_segs, gj_esp32_before, gj_esp32_after;

static uint64_t gate_low(uint16_t target, uint64_t offset, unsigned dpl, bool present,
                         unsigned params)
{
    unsigned attr = TYPE_CALL_GATE | (dpl & 3) << 5 | (present ? DESC_PRESENT : 0);
    return (offset & 0xffff) | (uint64_t)target << 16 | (uint64_t)(params & 31) << 32 |
           (uint64_t)attr << 40 | ((offset >> 16) & 0xffff) << 48;
}

static void set_gate64(unsigned sel, uint16_t target, const void *fn, unsigned dpl, bool present,
                       unsigned upper_type)
{
    uint64_t offset = (uintptr_t)fn;
    gdt_set(sel, gate_low(target, offset, dpl, present, 0));
    gdt_set(sel + 8, (offset >> 32) | (uint64_t)(upper_type & 0x1f) << 40);
}

static void set_gate32(unsigned sel, uint16_t target, const void *fn, unsigned dpl, unsigned params)
{
    gdt_set(sel, gate_low(target, addr32(fn), dpl, true, params));
}

static const char *ok(bool cond)
{
    return cond ? "ok" : "wrong";
}

/* --- long mode --- */

static const char *where(uint64_t rip)
{
    return rip == (uintptr_t)r3_gate64_call ? "the call" : "another instruction";
}

static void test_call_ring3(void)
{
    set_gate64(SEL_G1, GUEST_CS64, gate64_entry, 3, true, 0);
    trap_reset();
    uint64_t segs = gate_user_run(r3_gate64, SEL_G1 | 3, RFLAGS_FIXED);
    if (trap.count)
        guest_host_defect("far call through a call gate at ring 3 raised %s(0x%lx) at %s",
                          exception_name(trap.vector), trap.error, where(trap.rip));
    uint64_t rsp0 = guest_tss.rsp[0], depth = rsp0 - g64_kernel_rsp;
    uint64_t cs = g64_frame[1] & 0xffff, ss = g64_frame[3] & 0xffff;
    printf("far call from ring 3 through a DPL-3 gate: handler cs 0x%lx ss 0x%lx, on rsp0 - %lu, "
           "frame: rip %s cs 0x%lx rsp %s ss 0x%lx\n",
           g64_kernel_segs & 0xffff, g64_kernel_segs >> 16, depth,
           ok(g64_frame[0] == (uintptr_t)r3_gate64_ret), cs, ok(g64_frame[2] == g64_user_rsp), ss);
    check(g64_kernel_segs == GUEST_CS64 && depth == 32 &&
              g64_frame[0] == (uintptr_t)r3_gate64_ret && cs == (GUEST_UCS64 | 3) &&
              g64_frame[2] == g64_user_rsp && ss == (GUEST_UDS | 3),
          "call gate from ring 3");
    printf("lretq to ring 3: cs 0x%lx ss 0x%lx, rsp %s\n", segs & 0xffff, segs >> 16,
           g64_user_rsp_after == g64_user_rsp ? "as before" : "wrong");
    check(segs == ((GUEST_UDS | 3) << 16 | (GUEST_UCS64 | 3)) && g64_user_rsp_after == g64_user_rsp,
          "lretq to ring 3");
}

static void test_same_level(void)
{
    trap_reset();
    uint64_t segs = r3_gate64(SEL_G1); /* at ring 0 this time */
    if (trap.count)
        check(false, "far call at ring 0 through a DPL-3 gate: %s(0x%lx) at %s",
              exception_name(trap.vector), trap.error, where(trap.rip));
    uint64_t depth = g64_user_rsp - g64_kernel_rsp, cs = g64_frame[1] & 0xffff;
    printf("far call at ring 0 through the same gate: handler cs 0x%lx ss 0x%lx, on rsp - %lu, "
           "frame: rip %s cs 0x%lx; after lretq rsp %s\n",
           g64_kernel_segs & 0xffff, g64_kernel_segs >> 16, depth,
           ok(g64_frame[0] == (uintptr_t)r3_gate64_ret), cs,
           g64_user_rsp_after == g64_user_rsp ? "as before" : "wrong");
    check(g64_kernel_segs == ((GUEST_DS << 16) | GUEST_CS64) && depth == 16 &&
              g64_frame[0] == (uintptr_t)r3_gate64_ret && cs == GUEST_CS64 &&
              g64_user_rsp_after == g64_user_rsp && segs == ((GUEST_DS << 16) | GUEST_CS64),
          "call gate at ring 0");

    set_gate64(SEL_G2, GUEST_CS64, gate_jmp64_target, 0, true, 0);
    segs = gate_jmp64(SEL_G2);
    printf("jmp at ring 0 through a DPL-0 gate: cs 0x%lx, rsp %s\n", segs & 0xffff,
           gj_rsp_after == gj_rsp_before ? "unchanged" : "changed");
    check((segs & 0xffff) == GUEST_CS64 && gj_rsp_after == gj_rsp_before, "jmp through a gate");
}

/* A far call (m16:32: the offset is ignored through a gate) that may fault. */
static uint64_t far_call(uint64_t sel)
{
    struct {
        uint32_t offset;
        uint16_t sel;
    } __attribute__((packed)) far = {0, (uint16_t)sel};
    TRAP_ASM("lcall *%0", : : "m"(far) : "memory");
    return 0;
}

static void call_faults(const char *what, uint16_t sel, bool user, unsigned vector, uint16_t error)
{
    trap_reset();
    gate_bad_count = 0;
    if (user)
        gate_user_run(far_call, sel, RFLAGS_FIXED);
    else
        far_call(sel);
    trap_report(what, vector, error);
    check(gate_bad_count == 0, "%s: the gate's target ran", what);
}

static void test_checks(void)
{
    set_gate64(SEL_G2, GUEST_CS64, gate_bad_target, 0, true, 0);
    call_faults("far call from ring 3, gate DPL 0", SEL_G2 | 3, true, VEC_GP, SEL_G2);
    call_faults("far call at ring 0, gate DPL 0, selector RPL 3", SEL_G2 | 3, false, VEC_GP,
                SEL_G2);
    set_gate64(SEL_G3, GUEST_UCS64, gate_bad_target, 3, true, 0);
    call_faults("far call at ring 0, gate to DPL-3 code", SEL_G3, false, VEC_GP, GUEST_UCS64);
    set_gate64(SEL_G3, GUEST_CS64, gate_bad_target, 3, false, 0);
    call_faults("far call at ring 0, gate not present", SEL_G3, false, VEC_NP, SEL_G3);
    set_gate64(SEL_G3, GUEST_CS32, gate_bad_target, 3, true, 0);
    call_faults("far call at ring 0, gate to 32-bit code", SEL_G3, false, VEC_GP, GUEST_CS32);
    set_gate64(SEL_G3, GUEST_CS64, gate_bad_target, 3, true, TYPE_CALL_GATE);
    call_faults("far call at ring 0, gate's upper type field not 0", SEL_G3, false, VEC_GP, SEL_G3);
}

/* --- legacy protected mode --- */

static void test_legacy(void)
{
    static const struct legacy_env paging_off;
    set_gate32(SEL_GATE32, GUEST_CS32, gate32_entry, 3, 2);
    trap32_reset();
    uint32_t segs = legacy_call(user32_run, addr32(r3_gate32), 0, RFLAGS_FIXED, &paging_off);
    uint32_t depth = user32_kernel_esp - g32_kernel_esp;
    uint32_t cs = g32_frame[1] & 0xffff, ss = g32_frame[5] & 0xffff;
    printf("legacy mode: far call from ring 3 through a DPL-3 32-bit gate with 2 parameters: "
           "handler cs 0x%x ss 0x%x, on esp0 - %u, frame: eip %s cs 0x%x parameters 0x%x 0x%x "
           "esp %s ss 0x%x\n",
           g32_kernel_segs & 0xffff, g32_kernel_segs >> 16, depth,
           ok(g32_frame[0] == addr32(r3_gate32_ret)), cs, g32_frame[2], g32_frame[3],
           ok(g32_frame[4] == g32_user_esp - 8), ss);
    check(g32_kernel_segs == ((GUEST_DS << 16) | GUEST_CS32) && depth == 24 &&
              g32_frame[0] == addr32(r3_gate32_ret) && cs == (GUEST_UCS32 | 3) &&
              g32_frame[2] == PARAM0 && g32_frame[3] == PARAM1 &&
              g32_frame[4] == g32_user_esp - 8 && ss == (GUEST_UDS | 3),
          "32-bit call gate from ring 3");
    printf("lret $8 to ring 3: cs 0x%x ss 0x%x, esp %s\n", segs & 0xffff, segs >> 16,
           g32_user_esp_after == g32_user_esp ? "as before the parameters were pushed" : "wrong");
    check(segs == ((GUEST_UDS | 3) << 16 | (GUEST_UCS32 | 3)) && g32_user_esp_after == g32_user_esp,
          "lret $8 to ring 3");

    set_gate32(SEL_GATE32_JMP, GUEST_CS32, gate_jmp32_target, 0, 0);
    segs = legacy_call(gate_jmp32, 0, 0, 0, &paging_off);
    printf("legacy mode: jmp at ring 0 through a DPL-0 32-bit gate: cs 0x%x, esp %s\n",
           segs & 0xffff, gj_esp32_after == gj_esp32_before ? "unchanged" : "changed");
    check((segs & 0xffff) == GUEST_CS32 && gj_esp32_after == gj_esp32_before,
          "jmp through a 32-bit gate");
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic;
    (void)info;
    printf("gates guest\n");
    user_init();
    legacy_init();
    test_call_ring3();
    test_same_level();
    test_checks();
    test_legacy();
    printf("gates done\n");
}
