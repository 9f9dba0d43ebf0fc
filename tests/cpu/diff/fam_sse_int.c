/* cpudiff templates: the MMX and SSE2/SSSE3/SSE4.1/SSE4.2 integer
 * instructions, each in its MMX (mm, mm/m64) and SSE (xmm, xmm/m128) form
 * where both exist: add/sub (wrapping and saturating), multiplies, compares,
 * pack/unpack, logic, shifts by register and immediate counts (counts past
 * the lane width included), averages, min/max, PSADBW, PMADDWD, PSHUF*,
 * PALIGNR, PSIGN/PABS, horizontal adds, PMOVSX/ZX, PBLENDVB/PBLENDW,
 * PTEST, PCMPEQQ/PCMPGTQ, PHMINPOSUW, MPSADBW, PINSRx/PEXTRx, PMOVMSKB
 * and the MOVD/MOVQ forms; AES-NI and PCLMULQDQ. MMX forms also check the x87 side effects (TOP
 * 0, all tags valid, exponent all-ones on writes) and #MF with an x87
 * exception pending. */
#include "gen.h"

#define MMF CD_FORM(CD_K_MM, CD_K_MM)
#define XX  CD_FORM(CD_K_XMM, CD_K_XMM)
#define MG  CD_FORM(CD_K_MM, CD_K_GPR)
#define XG  CD_FORM(CD_K_XMM, CD_K_GPR)
#define GM  CD_FORM(CD_K_GPR, CD_K_MM)
#define GX  CD_FORM(CD_K_GPR, CD_K_XMM)
#define MX  CD_FORM(CD_K_MM, CD_K_XMM)
#define XM  CD_FORM(CD_K_XMM, CD_K_MM)
#define NM  CD_FORM(CD_K_NONE, CD_K_MM)
#define NX  CD_FORM(CD_K_NONE, CD_K_XMM)

#define N   CD_P_NONE
#define P66 CD_P_66
#define F3  CD_P_F3
#define F2  CD_P_F2
#define A16 CD_T_A16
#define IB  CD_T_IB
#define REG CD_T_REG

#define I8   CD_T_VK(CD_V_I8, 0)
#define I16  CD_T_VK(CD_V_I16, 0)
#define I32  CD_T_VK(CD_V_I32, 0)
#define I64  CD_T_VK(CD_V_I64, 0)
#define MIX  CD_T_VK(CD_V_MIX, 0)
#define BITS CD_T_VK(CD_V_BITS, CD_V_MIX)
#define CNT  CD_T_VK(CD_V_COUNT, CD_V_MIX)

#define S3  CD_FEAT_SSSE3
#define S41 CD_FEAT_SSE41
#define S42 CD_FEAT_SSE42

#define SSE(name, op, pfx, form, msize, feat, fl)                                                  \
    {                                                                                              \
        name, cd_gen_sse, op, pfx, msize, form, feat, fl, 0, 0, 0                                  \
    }
/* The MMX form (NP, mm, mm/m64) and the SSE2 one (66, xmm, xmm/m128). */
#define BOTHF(name, op, feat, fl)                                                                  \
    SSE(name " mm", op, N, MMF, 8, feat, fl), SSE(name " xmm", op, P66, XX, 16, feat, A16 | (fl))
#define BOTH(name, op, fl) BOTHF(name, op, 0, fl)
/* PUNPCKL*: the MMX form reads 32 bits of memory. */
#define UNPCKL(name, op, fl)                                                                       \
    SSE(name " mm", op, N, MMF, 4, 0, fl), SSE(name " xmm", op, P66, XX, 16, 0, A16 | (fl))
#define X66(name, op, msize, feat, fl) SSE(name, op, P66, XX, msize, feat, fl)
/* Shift by immediate (0F 71/72/73 /n), register operand only. */
#define SHIMM(name, op, n, fl)                                                                     \
    SSE(name " mm,imm", op, N | CD_EXT(n), NM, 0, 0, REG | IB | (fl)),                             \
        SSE(name " xmm,imm", op, P66 | CD_EXT(n), NX, 0, 0, REG | IB | (fl))

const struct cd_tmpl cd_tmpl_sse_int[] = {
    UNPCKL("punpcklbw", 0x160, I8),
    UNPCKL("punpcklwd", 0x161, I16),
    UNPCKL("punpckldq", 0x162, I32),
    BOTH("packsswb", 0x163, I16),
    BOTH("pcmpgtb", 0x164, I8),
    BOTH("pcmpgtw", 0x165, I16),
    BOTH("pcmpgtd", 0x166, I32),
    BOTH("packuswb", 0x167, I16),
    BOTH("punpckhbw", 0x168, I8),
    BOTH("punpckhwd", 0x169, I16),
    BOTH("punpckhdq", 0x16a, I32),
    BOTH("packssdw", 0x16b, I32),
    X66("punpcklqdq", 0x16c, 16, 0, A16 | I64),
    X66("punpckhqdq", 0x16d, 16, 0, A16 | I64),
    BOTH("pcmpeqb", 0x174, I8),
    BOTH("pcmpeqw", 0x175, I16),
    BOTH("pcmpeqd", 0x176, I32),
    BOTH("psrlw", 0x1d1, CNT),
    BOTH("psrld", 0x1d2, CNT),
    BOTH("psrlq", 0x1d3, CNT),
    BOTH("paddq", 0x1d4, I64),
    BOTH("pmullw", 0x1d5, I16),
    BOTH("psubusb", 0x1d8, I8),
    BOTH("psubusw", 0x1d9, I16),
    BOTH("pminub", 0x1da, I8),
    BOTH("pand", 0x1db, MIX),
    BOTH("paddusb", 0x1dc, I8),
    BOTH("paddusw", 0x1dd, I16),
    BOTH("pmaxub", 0x1de, I8),
    BOTH("pandn", 0x1df, MIX),
    BOTH("pavgb", 0x1e0, I8),
    BOTH("psraw", 0x1e1, CNT),
    BOTH("psrad", 0x1e2, CNT),
    BOTH("pavgw", 0x1e3, I16),
    BOTH("pmulhuw", 0x1e4, I16),
    BOTH("pmulhw", 0x1e5, I16),
    BOTH("psubsb", 0x1e8, I8),
    BOTH("psubsw", 0x1e9, I16),
    BOTH("pminsw", 0x1ea, I16),
    BOTH("por", 0x1eb, MIX),
    BOTH("paddsb", 0x1ec, I8),
    BOTH("paddsw", 0x1ed, I16),
    BOTH("pmaxsw", 0x1ee, I16),
    BOTH("pxor", 0x1ef, MIX),
    BOTH("psllw", 0x1f1, CNT),
    BOTH("pslld", 0x1f2, CNT),
    BOTH("psllq", 0x1f3, CNT),
    BOTH("pmuludq", 0x1f4, I32),
    BOTH("pmaddwd", 0x1f5, I16),
    BOTH("psadbw", 0x1f6, I8),
    BOTH("psubb", 0x1f8, I8),
    BOTH("psubw", 0x1f9, I16),
    BOTH("psubd", 0x1fa, I32),
    BOTH("psubq", 0x1fb, I64),
    BOTH("paddb", 0x1fc, I8),
    BOTH("paddw", 0x1fd, I16),
    BOTH("paddd", 0x1fe, I32),
    SHIMM("psrlw", 0x171, 2, I16),
    SHIMM("psraw", 0x171, 4, I16),
    SHIMM("psllw", 0x171, 6, I16),
    SHIMM("psrld", 0x172, 2, I32),
    SHIMM("psrad", 0x172, 4, I32),
    SHIMM("pslld", 0x172, 6, I32),
    SHIMM("psrlq", 0x173, 2, I64),
    SHIMM("psllq", 0x173, 6, I64),
    SSE("psrldq xmm,imm", 0x173, P66 | CD_EXT(3), NX, 0, 0, REG | IB | I8),
    SSE("pslldq xmm,imm", 0x173, P66 | CD_EXT(7), NX, 0, 0, REG | IB | I8),
    SSE("pshufw", 0x170, N, MMF, 8, 0, IB | I16),
    SSE("pshufd", 0x170, P66, XX, 16, 0, A16 | IB | I32),
    SSE("pshufhw", 0x170, F3, XX, 16, 0, A16 | IB | I16),
    SSE("pshuflw", 0x170, F2, XX, 16, 0, A16 | IB | I16),
    SSE("pinsrw mm", 0x1c4, N, MG, 2, 0, IB | I16),
    SSE("pinsrw xmm", 0x1c4, P66, XG, 2, 0, IB | I16),
    SSE("pextrw mm", 0x1c5, N, GM, 0, 0, REG | IB | I16),
    SSE("pextrw xmm", 0x1c5, P66, GX, 0, 0, REG | IB | I16),
    SSE("pmovmskb mm", 0x1d7, N, GM, 0, 0, REG | I8),
    SSE("pmovmskb xmm", 0x1d7, P66, GX, 0, 0, REG | I8),
    /* MOVD/MOVQ */
    SSE("movd/q mm,r/m", 0x16e, N, MG, 0, 0, CD_T_W | I32),
    SSE("movd/q r/m,mm", 0x17e, N, MG, 0, 0, CD_T_W | I32),
    SSE("movd/q xmm,r/m", 0x16e, P66, XG, 0, 0, CD_T_W | I32),
    SSE("movd/q r/m,xmm", 0x17e, P66, XG, 0, 0, CD_T_W | I32),
    SSE("movq xmm,xmm/m64", 0x17e, F3, XX, 8, 0, I64),
    SSE("movq xmm/m64,xmm", 0x1d6, P66, XX, 8, 0, I64),
    SSE("movq mm,mm/m64", 0x16f, N, MMF, 8, 0, I64),
    SSE("movq mm/m64,mm", 0x17f, N, MMF, 8, 0, I64),
    SSE("movdq2q", 0x1d6, F2, MX, 0, 0, REG | I64),
    SSE("movq2dq", 0x1d6, F3, XM, 0, 0, REG | I64),
    /* SSSE3 */
    BOTHF("pshufb", 0x200, S3, BITS),
    BOTHF("phaddw", 0x201, S3, I16),
    BOTHF("phaddd", 0x202, S3, I32),
    BOTHF("phaddsw", 0x203, S3, I16),
    BOTHF("pmaddubsw", 0x204, S3, I8),
    BOTHF("phsubw", 0x205, S3, I16),
    BOTHF("phsubd", 0x206, S3, I32),
    BOTHF("phsubsw", 0x207, S3, I16),
    BOTHF("psignb", 0x208, S3, I8),
    BOTHF("psignw", 0x209, S3, I16),
    BOTHF("psignd", 0x20a, S3, I32),
    BOTHF("pmulhrsw", 0x20b, S3, I16),
    BOTHF("pabsb", 0x21c, S3, I8),
    BOTHF("pabsw", 0x21d, S3, I16),
    BOTHF("pabsd", 0x21e, S3, I32),
    BOTHF("palignr", 0x30f, S3, IB | I8),
    /* SSE4.1, SSE4.2 */
    X66("pblendvb", 0x210, 16, S41, A16 | I8),
    {"ptest", cd_gen_sse, 0x217, P66, 16, XX, S41, A16 | MIX, 0, F_ALL, 0},
    X66("pmovsxbw", 0x220, 8, S41, I8),
    X66("pmovsxbd", 0x221, 4, S41, I8),
    X66("pmovsxbq", 0x222, 2, S41, I8),
    X66("pmovsxwd", 0x223, 8, S41, I16),
    X66("pmovsxwq", 0x224, 4, S41, I16),
    X66("pmovsxdq", 0x225, 8, S41, I32),
    X66("pmuldq", 0x228, 16, S41, A16 | I32),
    X66("pcmpeqq", 0x229, 16, S41, A16 | I64),
    X66("packusdw", 0x22b, 16, S41, A16 | I32),
    X66("pmovzxbw", 0x230, 8, S41, I8),
    X66("pmovzxbd", 0x231, 4, S41, I8),
    X66("pmovzxbq", 0x232, 2, S41, I8),
    X66("pmovzxwd", 0x233, 8, S41, I16),
    X66("pmovzxwq", 0x234, 4, S41, I16),
    X66("pmovzxdq", 0x235, 8, S41, I32),
    X66("pcmpgtq", 0x237, 16, S42, A16 | I64),
    X66("pminsb", 0x238, 16, S41, A16 | I8),
    X66("pminsd", 0x239, 16, S41, A16 | I32),
    X66("pminuw", 0x23a, 16, S41, A16 | I16),
    X66("pminud", 0x23b, 16, S41, A16 | I32),
    X66("pmaxsb", 0x23c, 16, S41, A16 | I8),
    X66("pmaxsd", 0x23d, 16, S41, A16 | I32),
    X66("pmaxuw", 0x23e, 16, S41, A16 | I16),
    X66("pmaxud", 0x23f, 16, S41, A16 | I32),
    X66("pmulld", 0x240, 16, S41, A16 | I32),
    X66("phminposuw", 0x241, 16, S41, A16 | I16),
    X66("pblendw", 0x30e, 16, S41, A16 | IB | I16),
    X66("mpsadbw", 0x342, 16, S41, A16 | IB | I8),
    SSE("pextrb", 0x314, P66, XG, 1, S41, IB | I8),
    SSE("pextrw r/m", 0x315, P66, XG, 2, S41, IB | I16),
    SSE("pextrd/q", 0x316, P66, XG, 0, S41, CD_T_W | IB | I32),
    SSE("pinsrb", 0x320, P66, XG, 1, S41, IB | I8),
    SSE("pinsrd/q", 0x322, P66, XG, 0, S41, CD_T_W | IB | I32),
    X66("aesimc", 0x2db, 16, CD_FEAT_AES, A16 | BITS),
    X66("aesenc", 0x2dc, 16, CD_FEAT_AES, A16 | BITS),
    X66("aesenclast", 0x2dd, 16, CD_FEAT_AES, A16 | BITS),
    X66("aesdec", 0x2de, 16, CD_FEAT_AES, A16 | BITS),
    X66("aesdeclast", 0x2df, 16, CD_FEAT_AES, A16 | BITS),
    X66("aeskeygenassist", 0x3df, 16, CD_FEAT_AES, A16 | IB | BITS),
    X66("pclmulqdq", 0x344, 16, CD_FEAT_PCLMUL, A16 | IB | I64),
    {0},
};
