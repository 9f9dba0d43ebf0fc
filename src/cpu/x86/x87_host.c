/* The x87 family's exact path: an x87 instruction runs as itself on the
 * host FPU, with the guest's whole x87 state loaded around it.
 *
 * For every x87 opcode (D8-DF) and ModRM form there is a stub of 8 bytes
 * of host code, generated below by the assembler:
 *
 *     frstor (%rdi)      load the guest state (FNSAVE image)
 *     <the instruction>  memory forms operate on (%rsi)
 *     fnsave (%rdi)      store the state back (and FNINIT the host FPU)
 *     jmp *%rcx          back to the caller
 *
 * 72 per opcode: the eight memory forms /0../7 on (%rsi), then the 64
 * register forms C0..FF. FNSAVE does not wait, so an unmasked exception
 * the instruction raises is only recorded (ES set, no result written, as
 * on hardware) and never reaches the host as SIGFPE; the caller delivers
 * #MF at the guest's next waiting instruction. Before the stub runs, the
 * guest's pending exceptions have been delivered (x87_wait), so FRSTOR
 * never loads one. The host's FCW is put back afterwards; its x87 stack
 * is empty between C statements (the ABI), so nothing else needs saving.
 * FCOMI and FCMOVcc take the guest's arithmetic flags in and out through
 * POPFQ/PUSHFQ around the stub.
 *
 * The cost is about 300 host cycles an instruction, mostly FRSTOR and
 * FNSAVE; x87_fast.c avoids it for the frequent simple cases.
 */
#include <string.h>

#include "cpu/x86/flags.h"
#include "cpu/x86/mem.h"
#include "cpu/x86/operand.h"
#include "cpu/x86/x87.h"

/* The GNU assembler's comparisons give -1 for true: masks. */
__asm__(".pushsection .text.xuni_x87_stubs, \"ax\", @progbits\n"
        ".balign 64\n"
        ".globl xuni_x87_stubs\n"
        ".hidden xuni_x87_stubs\n"
        "xuni_x87_stubs:\n"
        ".set xuni_x87_i, 0\n"
        ".rept 576\n"
        ".set xuni_x87_k, (xuni_x87_i % 72)\n"
        ".byte 0xdd, 0x27\n"
        ".byte (0xd8 + (xuni_x87_i / 72))\n"
        ".byte ((((xuni_x87_k << 3) | 6) & (xuni_x87_k < 8)) | ((0xb8 + xuni_x87_k) & "
        "(xuni_x87_k >= 8)))\n"
        ".byte 0xdd, 0x37\n"
        ".byte 0xff, 0xe1\n"
        ".set xuni_x87_i, (xuni_x87_i + 1)\n"
        ".endr\n"
        ".popsection\n");

extern const uint8_t xuni_x87_stubs[] __attribute__((visibility("hidden")));

#define X87_STUB_SIZE 8

/* The FNSAVE/FRSTOR image in the 32-bit layout. */
struct x87_fsave {
    uint32_t fcw, fsw, ftw, fip;
    uint16_t fcs, fop;
    uint32_t fdp, fds;
    uint8_t st[8][10];
};
_Static_assert(sizeof(struct x87_fsave) == 108, "FNSAVE image layout");

static inline const uint8_t *x87_stub(unsigned opcode, unsigned modrm)
{
    unsigned k = modrm >= 0xc0 ? 8 + (modrm - 0xc0) : (modrm >> 3) & 7;
    return xuni_x87_stubs + ((opcode & 7) * 72 + k) * X87_STUB_SIZE;
}

#define X87_CLOBBERS "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)"

static void x87_host_run(const uint8_t *stub, struct x87_fsave *img, void *mem)
{
    uint16_t hcw;
    __asm__ volatile("fnstcw %[hcw]\n\t"
                     "lea 1f(%%rip), %%rcx\n\t"
                     "jmp *%[stub]\n"
                     "1:\n\t"
                     "fldcw %[hcw]"
                     : [hcw] "=m"(hcw)
                     : [stub] "r"(stub), "D"(img), "S"(mem)
                     : "rcx", "memory", X87_CLOBBERS);
}

/* The same with the arithmetic flags in and out. The stack pointer moves
 * below the red zone around PUSHFQ/POPFQ. */
static uint64_t x87_host_run_flags(const uint8_t *stub, struct x87_fsave *img, void *mem,
                                   uint64_t flags)
{
    uint16_t hcw;
    uint64_t f = (flags & X86_FLAGS_ARITH) | 0x202;
    __asm__ volatile("fnstcw %[hcw]\n\t"
                     "lea -128(%%rsp), %%rsp\n\t"
                     "push %[f]\n\t"
                     "popfq\n\t"
                     "lea 128(%%rsp), %%rsp\n\t"
                     "lea 1f(%%rip), %%rcx\n\t"
                     "jmp *%[stub]\n"
                     "1:\n\t"
                     "lea -128(%%rsp), %%rsp\n\t"
                     "pushfq\n\t"
                     "pop %[f]\n\t"
                     "lea 128(%%rsp), %%rsp\n\t"
                     "fldcw %[hcw]"
                     : [hcw] "=m"(hcw), [f] "+r"(f)
                     : [stub] "r"(stub), "D"(img), "S"(mem)
                     : "rcx", "memory", "cc", X87_CLOBBERS);
    return f;
}

uint16_t x87_full_tags(const struct x86_cpu *cpu)
{
    uint16_t t = 0;
    for (unsigned p = 0; p < 8; p++) {
        unsigned tag = ((cpu->fpu.ftw >> p) & 1) ? x87_classify(&cpu->fpu.st[p]) : X87_TAG_EMPTY;
        t |= (uint16_t)(tag << (2 * p));
    }
    return t;
}

void x87_raise_mf(struct x86_cpu *cpu)
{
    cpu->fpu.fsw |= X87_FSW_ES | X87_FSW_B;
    x86_raise(cpu, X86_EXC_MF, 0);
}

void x87_init_state(struct x86_cpu *cpu)
{
    cpu->fpu.fcw = X87_FCW_INIT;
    cpu->fpu.fsw = 0;
    cpu->fpu.top = 0;
    cpu->fpu.ftw = 0;
    cpu->fpu.fop = 0;
    cpu->fpu.fip = 0;
    cpu->fpu.fdp = 0;
}

/* The ModRM byte of a memory form is not in the decoded instruction; it is
 * read back from the instruction's bytes (the first byte D8-DF: no prefix
 * is one). Register forms rebuild it from reg and rm. */
unsigned x87_fop_of(struct x86_cpu *cpu, const struct x86_insn *in)
{
    if (!(in->flags & X86_I_MEM))
        return (in->opcode & 7u) << 8 | 0xc0 | (in->reg & 7u) << 3 | (in->rm & 7u);
    uint64_t start = cpu->rip - in->len + cpu->seg[X86_CS].base;
    const uint8_t *b = x86_mem_ptr(cpu, start, in->len, 0);
    for (unsigned i = 0; i + 1 < in->len; i++)
        if ((b[i] & 0xf8) == 0xd8)
            return (b[i] & 7u) << 8 | b[i + 1];
    return (in->opcode & 7u) << 8 | (in->reg & 7u) << 3;
}

static void x87_to_image(const struct x86_cpu *cpu, struct x87_fsave *img)
{
    memset(img, 0, 28);
    img->fcw = cpu->fpu.fcw;
    img->fsw = x87_fsw(cpu);
    img->ftw = x87_full_tags(cpu);
    for (unsigned i = 0; i < 8; i++)
        memcpy(img->st[i], &cpu->fpu.st[(cpu->fpu.top + i) & 7], 10);
}

static void x87_from_image(struct x86_cpu *cpu, const struct x87_fsave *img)
{
    x87_set_fsw(cpu, img->fsw);
    cpu->fpu.ftw = x87_abridge(img->ftw);
    for (unsigned i = 0; i < 8; i++)
        memcpy(&cpu->fpu.st[(cpu->fpu.top + i) & 7], img->st[i], 10);
}

void x87_host_exec(struct x86_cpu *cpu, unsigned opcode, unsigned modrm, void *mem, bool eflags)
{
    struct x87_fsave img;
    const uint8_t *stub = x87_stub(opcode, modrm);
    x87_to_image(cpu, &img);
    if (eflags)
        x86_flags_set(cpu, x87_host_run_flags(stub, &img, mem, x86_flags_eval(cpu)));
    else
        x87_host_run(stub, &img, mem);
    x87_from_image(cpu, &img);
}

const struct x87_mem_form x87_mem_forms[8][8] = {
#define L(n)                                                                                       \
    {                                                                                              \
        n, X87_M_LOAD                                                                              \
    }
#define S(n)                                                                                       \
    {                                                                                              \
        n, X87_M_STORE                                                                             \
    }
#define N                                                                                          \
    {                                                                                              \
        0, X87_M_NONE                                                                              \
    }
    /* D8: FADD FMUL FCOM FCOMP FSUB FSUBR FDIV FDIVR m32fp */
    {L(4), L(4), L(4), L(4), L(4), L(4), L(4), L(4)},
    /* D9: FLD m32fp, -, FST, FSTP; FLDENV FLDCW FNSTENV FNSTCW are control */
    {L(4), N, S(4), S(4), N, N, N, N},
    /* DA: the same with m32int */
    {L(4), L(4), L(4), L(4), L(4), L(4), L(4), L(4)},
    /* DB: FILD FISTTP FIST FISTP m32int, -, FLD m80fp, -, FSTP m80fp */
    {L(4), S(4), S(4), S(4), N, L(10), N, S(10)},
    /* DC: m64fp arithmetic */
    {L(8), L(8), L(8), L(8), L(8), L(8), L(8), L(8)},
    /* DD: FLD FISTTP FST FSTP m64; FRSTOR, -, FNSAVE, FNSTSW are control */
    {L(8), S(8), S(8), S(8), N, N, N, N},
    /* DE: m16int arithmetic */
    {L(2), L(2), L(2), L(2), L(2), L(2), L(2), L(2)},
    /* DF: FILD FISTTP FIST FISTP m16int, FBLD m80bcd, FILD m64int, FBSTP
     * m80bcd, FISTP m64int */
    {L(2), S(2), S(2), S(2), L(10), L(8), S(10), S(8)},
#undef L
#undef S
#undef N
};

/* A memory form: the operand is loaded (or the store checked) before
 * anything changes; a store the instruction suppressed (an unmasked
 * invalid, denormal, zero-divide, overflow or underflow exception; not
 * precision) leaves memory alone. The store lands before the registers
 * change, so a fault on it leaves the state as it was. */
void x87_op_mem(struct x86_cpu *cpu, const struct x86_insn *in)
{
    const struct x87_mem_form *f = &x87_mem_forms[in->opcode & 7][in->reg & 7];
    x87_wait(cpu);
    unsigned fop = x87_fop_of(cpu, in);
    uint64_t lin = x86_ea(cpu, in);
    uint8_t buf[16] = {0};
    uint8_t *p = x87_probe(cpu, lin, f->size, f->kind == X87_M_STORE, X87_PROBE_OPERAND);
    void *dst = NULL;
    if (f->kind == X87_M_LOAD)
        memcpy(buf, p, f->size);
    else
        dst = p;

    struct x87_fsave img;
    x87_to_image(cpu, &img);
    x87_host_run(x87_stub(in->opcode, fop & 0xff), &img, buf);
    if (dst && !(img.fsw & ~cpu->fpu.fcw & (X87_EXC & ~X87_FSW_PE)))
        memcpy(dst, buf, f->size);
    x87_from_image(cpu, &img);
    x87_note_insn(cpu, in, fop);
    x87_note_data(cpu, in, lin);
}

void x87_op_reg(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x87_wait(cpu);
    unsigned fop = x87_fop_of(cpu, in);
    x87_host_exec(cpu, in->opcode, fop & 0xff, NULL, false);
    x87_note_insn(cpu, in, fop);
}

/* FCOMI FUCOMI FCOMIP FUCOMIP FCMOVcc. */
void x87_op_reg_eflags(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x87_wait(cpu);
    unsigned fop = x87_fop_of(cpu, in);
    x87_host_exec(cpu, in->opcode, fop & 0xff, NULL, true);
    x87_note_insn(cpu, in, fop);
}
