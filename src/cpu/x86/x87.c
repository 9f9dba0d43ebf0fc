/* The x87 FPU family: opcodes D8-DF, FWAIT (9B), FXSAVE/FXRSTOR (0F AE /0
 * /1), for 64-bit user mode.
 *
 * The arithmetic, loads, stores, compares, transcendentals and stack
 * operations run on the host FPU under the guest's state (x87_host.c, the
 * exact path), with fast paths for the frequent ones (x87_fast.c). This
 * file holds the control instructions, done in software (x87_env.c has the
 * image layouts), and the registration table.
 *
 * Waiting and pointers, as this host does it: every x87 instruction except
 * FNINIT FNCLEX FNSTCW FNSTSW FNSTENV FNSAVE FXSAVE FXRSTOR and the 8087
 * leftovers FNENI FNDISI FNSETPM first delivers a pending unmasked
 * exception (#MF). The control instructions (those, and FLDCW FLDENV
 * FRSTOR FWAIT) leave FIP/FCS/FOP and FDP/FDS alone; every other x87
 * instruction records itself in FIP/FCS/FOP, and one with a memory operand
 * records that in FDP/FDS.
 */
#include <string.h>

#include "cpu/x86/mem.h"
#include "cpu/x86/operand.h"
#include "cpu/x86/x87.h"

static inline bool x87_w16(const struct x86_insn *in)
{
    return in->osz == 1;
}

/* D9 /4: FLDENV m14/28byte. */
static void op_fldenv(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint8_t buf[X87_ENV32_SIZE];
    bool w16 = x87_w16(in);
    unsigned n = w16 ? X87_ENV16_SIZE : X87_ENV32_SIZE;
    x87_wait(cpu);
    memcpy(buf,
           x87_probe(cpu, x86_ea(cpu, in), n, false, w16 ? X87_PROBE_IMAGE16 : X87_PROBE_IMAGE32),
           n);
    x87_env_load(cpu, buf, w16);
}

/* D9 /5: FLDCW m16. Unmasking a flag that is set makes it pending. */
static void op_fldcw(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x87_wait(cpu);
    x87_set_fcw(cpu, x86_load16(cpu, x86_ea(cpu, in)));
    x87_update_es(cpu);
}

/* D9 /6: FNSTENV m14/28byte, then mask every exception. */
static void op_fnstenv(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint8_t buf[X87_ENV32_SIZE];
    bool w16 = x87_w16(in);
    unsigned n = w16 ? X87_ENV16_SIZE : X87_ENV32_SIZE;
    uint8_t *dst =
        x87_probe(cpu, x86_ea(cpu, in), n, true, w16 ? X87_PROBE_IMAGE16 : X87_PROBE_IMAGE32);
    x87_env_store(cpu, buf, w16);
    memcpy(dst, buf, n);
    cpu->fpu.fcw |= X87_EXC;
    x87_update_es(cpu);
}

/* D9 /7: FNSTCW m16. */
static void op_fnstcw(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_store(cpu, x86_ea(cpu, in), 1, cpu->fpu.fcw);
}

/* DD /4: FRSTOR m94/108byte. */
static void op_frstor(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint8_t buf[X87_ENV32_SIZE + 80];
    bool w16 = x87_w16(in);
    unsigned n = (w16 ? X87_ENV16_SIZE : X87_ENV32_SIZE) + 80;
    x87_wait(cpu);
    memcpy(buf,
           x87_probe(cpu, x86_ea(cpu, in), n, false, w16 ? X87_PROBE_IMAGE16 : X87_PROBE_IMAGE32),
           n);
    x87_save_load(cpu, buf, w16);
}

/* DD /6: FNSAVE m94/108byte, then FNINIT. */
static void op_fnsave(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint8_t buf[X87_ENV32_SIZE + 80];
    bool w16 = x87_w16(in);
    unsigned n = (w16 ? X87_ENV16_SIZE : X87_ENV32_SIZE) + 80;
    uint8_t *dst =
        x87_probe(cpu, x86_ea(cpu, in), n, true, w16 ? X87_PROBE_IMAGE16 : X87_PROBE_IMAGE32);
    x87_save_store(cpu, buf, w16);
    memcpy(dst, buf, n);
    x87_init_state(cpu);
}

/* DD /7: FNSTSW m16. */
static void op_fnstsw_m(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_store(cpu, x86_ea(cpu, in), 1, x87_fsw(cpu));
}

/* DF E0: FNSTSW AX. */
static void op_fnstsw_ax(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)in;
    x86_reg_write(cpu, X86_RAX, 1, x87_fsw(cpu));
}

/* DB E0-E4: FNENI, FNDISI (8087), FNCLEX, FNINIT, FNSETPM (80287). The
 * 8087/80287 ones do nothing now, without waiting or recording. FNCLEX
 * clears the exception flags, SF, ES and B, and keeps C0-C3. */
static void op_db_e0(struct x86_cpu *cpu, const struct x86_insn *in)
{
    switch (in->rm & 7) {
    case 2:
        cpu->fpu.fsw &= (uint16_t) ~(0x00ffu | X87_FSW_B);
        break;
    case 3:
        x87_init_state(cpu);
        break;
    default:
        break;
    }
}

/* 9B: FWAIT. */
static void op_fwait(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)in;
    x87_wait(cpu);
}

/* 0F AE /0: FXSAVE (REX.W: FXSAVE64). The area is 512 bytes, 16-byte
 * aligned (else #GP(0)); bytes 416-511 are left alone. Does not wait. */
static void op_fxsave(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint8_t img[X87_FXSAVE_USED];
    uint64_t lin = x86_ea(cpu, in);
    if (lin & 15)
        x86_raise(cpu, X86_EXC_GP, 0);
    uint8_t *dst = x87_probe(cpu, lin, X87_FXSAVE_SIZE, true, X87_PROBE_FXAREA);
    x87_fxsave_image(cpu, img, in->flags & X86_I_REXW);
    memcpy(dst, img, sizeof(img));
}

/* 0F AE /1: FXRSTOR (REX.W: FXRSTOR64). MXCSR bits outside MXCSR_MASK are
 * #GP(0). Does not wait: a pending exception it loads waits for the next
 * waiting instruction. */
static void op_fxrstor(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint8_t img[X87_FXSAVE_USED];
    uint64_t lin = x86_ea(cpu, in);
    if (lin & 15)
        x86_raise(cpu, X86_EXC_GP, 0);
    const uint8_t *src = x87_probe(cpu, lin, X87_FXSAVE_SIZE, false, X87_PROBE_FXAREA);
    memcpy(img, src, sizeof(img));
    if (!x87_fxrstor_image(cpu, img, in->flags & X86_I_REXW))
        x86_raise(cpu, X86_EXC_GP, 0);
}

#define P  X86_MAP_PRIMARY
#define A  X86_PFX_ANY
#define MM X86_MOD_MEM
#define MR X86_MOD_REG
#define M(op, r, fn, name)                                                                         \
    {                                                                                              \
        P, 0xd8 + (op), A, r, MM, fn, name                                                         \
    }
#define R(op, r, fn, name)                                                                         \
    {                                                                                              \
        P, 0xd8 + (op), A, r, MR, fn, name                                                         \
    }

const struct x86_op_entry x86_ops_x87[] = {
    /* D8: arithmetic on m32fp and ST(0),ST(i) */
    M(0, 0, x87_fast_arith_m, "fadd"),
    M(0, 1, x87_fast_arith_m, "fmul"),
    M(0, 2, x87_op_mem, "fcom"),
    M(0, 3, x87_op_mem, "fcomp"),
    M(0, 4, x87_fast_arith_m, "fsub"),
    M(0, 5, x87_fast_arith_m, "fsubr"),
    M(0, 6, x87_fast_arith_m, "fdiv"),
    M(0, 7, x87_fast_arith_m, "fdivr"),
    R(0, 0, x87_fast_arith_st, "fadd"),
    R(0, 1, x87_fast_arith_st, "fmul"),
    R(0, 2, x87_op_reg, "fcom"),
    R(0, 3, x87_op_reg, "fcomp"),
    R(0, 4, x87_fast_arith_st, "fsub"),
    R(0, 5, x87_fast_arith_st, "fsubr"),
    R(0, 6, x87_fast_arith_st, "fdiv"),
    R(0, 7, x87_fast_arith_st, "fdivr"),
    /* D9 */
    M(1, 0, x87_fast_fld_m, "fld"),
    M(1, 2, x87_fast_fst_m, "fst"),
    M(1, 3, x87_fast_fst_m, "fstp"),
    M(1, 4, op_fldenv, "fldenv"),
    M(1, 5, op_fldcw, "fldcw"),
    M(1, 6, op_fnstenv, "fnstenv"),
    M(1, 7, op_fnstcw, "fnstcw"),
    R(1, 0, x87_fast_fld_st, "fld"),
    R(1, 1, x87_fast_fxch, "fxch"),
    R(1, 2, x87_op_reg, "fnop"),
    R(1, 3, x87_fast_fst_st, "fstp1"),
    R(1, 4, x87_fast_fchs_fabs, "fchs/fabs/ftst/fxam"),
    R(1, 5, x87_fast_const, "fld1/fldl2t/fldl2e/fldpi/fldlg2/fldln2/fldz"),
    R(1, 6, x87_op_reg, "f2xm1/fyl2x/fptan/fpatan/fxtract/fprem1/fdecstp/fincstp"),
    R(1, 7, x87_op_reg, "fprem/fyl2xp1/fsqrt/fsincos/frndint/fscale/fsin/fcos"),
    /* DA: m32int arithmetic, FCMOVcc, FUCOMPP */
    M(2, 0, x87_op_mem, "fiadd"),
    M(2, 1, x87_op_mem, "fimul"),
    M(2, 2, x87_op_mem, "ficom"),
    M(2, 3, x87_op_mem, "ficomp"),
    M(2, 4, x87_op_mem, "fisub"),
    M(2, 5, x87_op_mem, "fisubr"),
    M(2, 6, x87_op_mem, "fidiv"),
    M(2, 7, x87_op_mem, "fidivr"),
    R(2, 0, x87_op_reg_eflags, "fcmovb"),
    R(2, 1, x87_op_reg_eflags, "fcmove"),
    R(2, 2, x87_op_reg_eflags, "fcmovbe"),
    R(2, 3, x87_op_reg_eflags, "fcmovu"),
    R(2, 5, x87_op_reg, "fucompp"),
    /* DB */
    M(3, 0, x87_fast_fild, "fild"),
    M(3, 1, x87_op_mem, "fisttp"),
    M(3, 2, x87_op_mem, "fist"),
    M(3, 3, x87_fast_fist, "fistp"),
    M(3, 5, x87_fast_fld_m, "fld"),
    M(3, 7, x87_fast_fst_m, "fstp"),
    R(3, 0, x87_op_reg_eflags, "fcmovnb"),
    R(3, 1, x87_op_reg_eflags, "fcmovne"),
    R(3, 2, x87_op_reg_eflags, "fcmovnbe"),
    R(3, 3, x87_op_reg_eflags, "fcmovnu"),
    R(3, 4, op_db_e0, "fneni/fndisi/fnclex/fninit/fnsetpm"),
    R(3, 5, x87_fast_fcomi, "fucomi"),
    R(3, 6, x87_fast_fcomi, "fcomi"),
    /* DC: m64fp arithmetic, ST(i),ST(0) arithmetic */
    M(4, 0, x87_fast_arith_m, "fadd"),
    M(4, 1, x87_fast_arith_m, "fmul"),
    M(4, 2, x87_op_mem, "fcom"),
    M(4, 3, x87_op_mem, "fcomp"),
    M(4, 4, x87_fast_arith_m, "fsub"),
    M(4, 5, x87_fast_arith_m, "fsubr"),
    M(4, 6, x87_fast_arith_m, "fdiv"),
    M(4, 7, x87_fast_arith_m, "fdivr"),
    R(4, 0, x87_fast_arith_st, "fadd"),
    R(4, 1, x87_fast_arith_st, "fmul"),
    R(4, 2, x87_op_reg, "fcom2"),
    R(4, 3, x87_op_reg, "fcomp3"),
    R(4, 4, x87_fast_arith_st, "fsubr"),
    R(4, 5, x87_fast_arith_st, "fsub"),
    R(4, 6, x87_fast_arith_st, "fdivr"),
    R(4, 7, x87_fast_arith_st, "fdiv"),
    /* DD */
    M(5, 0, x87_fast_fld_m, "fld"),
    M(5, 1, x87_op_mem, "fisttp"),
    M(5, 2, x87_fast_fst_m, "fst"),
    M(5, 3, x87_fast_fst_m, "fstp"),
    M(5, 4, op_frstor, "frstor"),
    M(5, 6, op_fnsave, "fnsave"),
    M(5, 7, op_fnstsw_m, "fnstsw"),
    R(5, 0, x87_op_reg, "ffree"),
    R(5, 1, x87_fast_fxch, "fxch4"),
    R(5, 2, x87_fast_fst_st, "fst"),
    R(5, 3, x87_fast_fst_st, "fstp"),
    R(5, 4, x87_op_reg, "fucom"),
    R(5, 5, x87_op_reg, "fucomp"),
    /* DE: m16int arithmetic, popping arithmetic, FCOMPP */
    M(6, 0, x87_op_mem, "fiadd"),
    M(6, 1, x87_op_mem, "fimul"),
    M(6, 2, x87_op_mem, "ficom"),
    M(6, 3, x87_op_mem, "ficomp"),
    M(6, 4, x87_op_mem, "fisub"),
    M(6, 5, x87_op_mem, "fisubr"),
    M(6, 6, x87_op_mem, "fidiv"),
    M(6, 7, x87_op_mem, "fidivr"),
    R(6, 0, x87_fast_arith_st, "faddp"),
    R(6, 1, x87_fast_arith_st, "fmulp"),
    R(6, 2, x87_op_reg, "fcomp5"),
    R(6, 3, x87_op_reg, "fcompp"),
    R(6, 4, x87_fast_arith_st, "fsubrp"),
    R(6, 5, x87_fast_arith_st, "fsubp"),
    R(6, 6, x87_fast_arith_st, "fdivrp"),
    R(6, 7, x87_fast_arith_st, "fdivp"),
    /* DF */
    M(7, 0, x87_fast_fild, "fild"),
    M(7, 1, x87_op_mem, "fisttp"),
    M(7, 2, x87_op_mem, "fist"),
    M(7, 3, x87_fast_fist, "fistp"),
    M(7, 4, x87_op_mem, "fbld"),
    M(7, 5, x87_fast_fild, "fild"),
    M(7, 6, x87_op_mem, "fbstp"),
    M(7, 7, x87_fast_fist, "fistp"),
    R(7, 0, x87_op_reg, "ffreep"),
    R(7, 1, x87_fast_fxch, "fxch7"),
    R(7, 2, x87_fast_fst_st, "fstp8"),
    R(7, 3, x87_fast_fst_st, "fstp9"),
    R(7, 4, op_fnstsw_ax, "fnstsw"),
    R(7, 5, x87_fast_fcomi, "fucomip"),
    R(7, 6, x87_fast_fcomi, "fcomip"),
    {P, 0x9b, A, -1, X86_MOD_ANY, op_fwait, "fwait"},
    {X86_MAP_0F, 0xae, X86_PFX_NONE, 0, MM, op_fxsave, "fxsave"},
    {X86_MAP_0F, 0xae, X86_PFX_NONE, 1, MM, op_fxrstor, "fxrstor"},
    {0, 0, 0, 0, 0, NULL, NULL},
};
