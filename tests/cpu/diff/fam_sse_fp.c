/* cpudiff templates: SSE/SSE2/SSE3/SSE4.1 floating point: the packed and
 * scalar arithmetic (add sub mul div min max sqrt rcp rsqrt), logic,
 * compares (CMPccPS/PD/SS/SD with every predicate, COMIS/UCOMIS), every
 * conversion, ADDSUB/HADD/HSUB, ROUND, DPPS/DPPD, BLEND*, INSERTPS and
 * EXTRACTPS, MOVMSKPS/PD, LDMXCSR/STMXCSR. Register and memory sources,
 * misaligned 16-byte operands (#GP), under random MXCSR (rounding, DAZ,
 * FTZ, masks: unmasked exceptions raise #XM and write nothing). */
#include "gen.h"

#define XX  CD_FORM(CD_K_XMM, CD_K_XMM)
#define XM  CD_FORM(CD_K_XMM, CD_K_MM)  /* xmm, mm/m64 */
#define MX  CD_FORM(CD_K_MM, CD_K_XMM)  /* mm, xmm/m */
#define XG  CD_FORM(CD_K_XMM, CD_K_GPR) /* xmm, r/m32/64 (or r/m32/64, xmm) */
#define GX  CD_FORM(CD_K_GPR, CD_K_XMM) /* r32/64, xmm/m */
#define EXM CD_FORM(CD_K_NONE, CD_K_MEM)

#define N   CD_P_NONE
#define P66 CD_P_66
#define F3  CD_P_F3
#define F2  CD_P_F2

#define F32 CD_T_VK(CD_V_F32, 0)
#define F64 CD_T_VK(CD_V_F64, 0)
#define I32 CD_T_VK(CD_V_I32, 0)
#define MIX CD_T_VK(CD_V_MIX, 0)
#define A16 CD_T_A16
#define IB  CD_T_IB

#define S3  CD_FEAT_SSE3
#define S41 CD_FEAT_SSE41

/* name, opcode, prefix, form, memory size, feature, flags */
#define SSE(name, op, pfx, form, msize, feat, fl)                                                  \
    {                                                                                              \
        name, cd_gen_sse, op, pfx, msize, form, feat, fl, 0, 0, 0                                  \
    }
/* Packed single, packed double, scalar single, scalar double. */
#define ARITH4(name, op)                                                                           \
    SSE(name "ps", op, N, XX, 16, 0, A16 | F32), SSE(name "pd", op, P66, XX, 16, 0, A16 | F64),    \
        SSE(name "ss", op, F3, XX, 4, 0, F32), SSE(name "sd", op, F2, XX, 8, 0, F64)
#define CMP4(op)                                                                                   \
    SSE("cmpps", op, N, XX, 16, 0, A16 | IB | F32),                                                \
        SSE("cmppd", op, P66, XX, 16, 0, A16 | IB | F64),                                          \
        SSE("cmpss", op, F3, XX, 4, 0, IB | F32), SSE("cmpsd", op, F2, XX, 8, 0, IB | F64)
/* COMISS/UCOMISS set ZF PF CF and clear OF SF AF. */
#define COMI(name, op, pfx, msize, vk)                                                             \
    {                                                                                              \
        name, cd_gen_sse, op, pfx, msize, XX, 0, vk, 0, F_ALL, 0                                   \
    }

const struct cd_tmpl cd_tmpl_sse_fp[] = {
    ARITH4("add", 0x158),
    ARITH4("mul", 0x159),
    ARITH4("sub", 0x15c),
    ARITH4("min", 0x15d),
    ARITH4("div", 0x15e),
    ARITH4("max", 0x15f),
    ARITH4("sqrt", 0x151),
    CMP4(0x1c2), /* predicates 0-7, and imm8 bits 3-7 that must be ignored */
    SSE("rsqrtps", 0x152, N, XX, 16, 0, A16 | F32),
    SSE("rsqrtss", 0x152, F3, XX, 4, 0, F32),
    SSE("rcpps", 0x153, N, XX, 16, 0, A16 | F32),
    SSE("rcpss", 0x153, F3, XX, 4, 0, F32),
    SSE("andps", 0x154, N, XX, 16, 0, A16 | MIX),
    SSE("andpd", 0x154, P66, XX, 16, 0, A16 | MIX),
    SSE("andnps", 0x155, N, XX, 16, 0, A16 | MIX),
    SSE("andnpd", 0x155, P66, XX, 16, 0, A16 | MIX),
    SSE("orps", 0x156, N, XX, 16, 0, A16 | MIX),
    SSE("orpd", 0x156, P66, XX, 16, 0, A16 | MIX),
    SSE("xorps", 0x157, N, XX, 16, 0, A16 | MIX),
    SSE("xorpd", 0x157, P66, XX, 16, 0, A16 | MIX),
    /* conversions */
    SSE("cvtps2pd", 0x15a, N, XX, 8, 0, F32),
    SSE("cvtpd2ps", 0x15a, P66, XX, 16, 0, A16 | F64),
    SSE("cvtss2sd", 0x15a, F3, XX, 4, 0, F32),
    SSE("cvtsd2ss", 0x15a, F2, XX, 8, 0, F64),
    SSE("cvtdq2ps", 0x15b, N, XX, 16, 0, A16 | I32),
    SSE("cvtps2dq", 0x15b, P66, XX, 16, 0, A16 | F32),
    SSE("cvttps2dq", 0x15b, F3, XX, 16, 0, A16 | F32),
    SSE("cvttpd2dq", 0x1e6, P66, XX, 16, 0, A16 | F64),
    SSE("cvtpd2dq", 0x1e6, F2, XX, 16, 0, A16 | F64),
    SSE("cvtdq2pd", 0x1e6, F3, XX, 8, 0, I32),
    SSE("cvtpi2ps", 0x12a, N, XM, 8, 0, CD_T_VK(CD_V_I32, CD_V_F32)),
    SSE("cvtpi2pd", 0x12a, P66, XM, 8, 0, I32),
    SSE("cvtsi2ss", 0x12a, F3, XG, 0, 0, CD_T_W | F32),
    SSE("cvtsi2sd", 0x12a, F2, XG, 0, 0, CD_T_W | F64),
    SSE("cvttps2pi", 0x12c, N, MX, 8, 0, F32),
    SSE("cvttpd2pi", 0x12c, P66, MX, 16, 0, A16 | F64),
    SSE("cvttss2si", 0x12c, F3, GX, 4, 0, CD_T_W | F32),
    SSE("cvttsd2si", 0x12c, F2, GX, 8, 0, CD_T_W | F64),
    SSE("cvtps2pi", 0x12d, N, MX, 8, 0, F32),
    SSE("cvtpd2pi", 0x12d, P66, MX, 16, 0, A16 | F64),
    SSE("cvtss2si", 0x12d, F3, GX, 4, 0, CD_T_W | F32),
    SSE("cvtsd2si", 0x12d, F2, GX, 8, 0, CD_T_W | F64),
    COMI("ucomiss", 0x12e, N, 4, F32),
    COMI("ucomisd", 0x12e, P66, 8, F64),
    COMI("comiss", 0x12f, N, 4, F32),
    COMI("comisd", 0x12f, P66, 8, F64),
    /* SSE3 */
    SSE("addsubpd", 0x1d0, P66, XX, 16, S3, A16 | F64),
    SSE("addsubps", 0x1d0, F2, XX, 16, S3, A16 | F32),
    SSE("haddpd", 0x17c, P66, XX, 16, S3, A16 | F64),
    SSE("haddps", 0x17c, F2, XX, 16, S3, A16 | F32),
    SSE("hsubpd", 0x17d, P66, XX, 16, S3, A16 | F64),
    SSE("hsubps", 0x17d, F2, XX, 16, S3, A16 | F32),
    /* SSE4.1 */
    SSE("roundps", 0x308, P66, XX, 16, S41, A16 | IB | F32),
    SSE("roundpd", 0x309, P66, XX, 16, S41, A16 | IB | F64),
    SSE("roundss", 0x30a, P66, XX, 4, S41, IB | F32),
    SSE("roundsd", 0x30b, P66, XX, 8, S41, IB | F64),
    SSE("blendps", 0x30c, P66, XX, 16, S41, A16 | IB | F32),
    SSE("blendpd", 0x30d, P66, XX, 16, S41, A16 | IB | F64),
    SSE("blendvps", 0x214, P66, XX, 16, S41, A16 | F32),
    SSE("blendvpd", 0x215, P66, XX, 16, S41, A16 | F64),
    SSE("dpps", 0x340, P66, XX, 16, S41, A16 | IB | F32),
    SSE("dppd", 0x341, P66, XX, 16, S41, A16 | IB | F64),
    SSE("insertps", 0x321, P66, XX, 4, S41, IB | F32),
    SSE("extractps", 0x317, P66, XG, 4, S41, IB | F32),
    /* MXCSR and sign masks */
    SSE("movmskps", 0x150, N, GX, 0, 0, CD_T_REG | F32),
    SSE("movmskpd", 0x150, P66, GX, 0, 0, CD_T_REG | F64),
    SSE("ldmxcsr", 0x1ae, N | CD_EXT(2), EXM, 4, 0, CD_T_VK(CD_V_MXCSR, 0)),
    SSE("stmxcsr", 0x1ae, N | CD_EXT(3), EXM, 4, 0, 0),
    {0},
};
