/* cpudiff templates: SSE data movement: MOVUPS/UPD/APS/APD/DQA/DQU (loads
 * and stores; the aligned ones #GP on misaligned memory), MOVSS/MOVSD
 * (register merge vs memory zero-extension), MOVLPS/HPS/LPD/HPD,
 * MOVHLPS/MOVLHPS, MOVDDUP/MOVSLDUP/MOVSHDUP, UNPCK[LH]PS/PD, SHUFPS/PD,
 * the non-temporal stores and loads (MOVNTPS/PD/DQ/Q, MOVNTDQA, SSE4a
 * MOVNTSS/SD), LDDQU,
 * and MASKMOVQ/MASKMOVDQU (byte-masked stores to [RDI]). */
#include <string.h>

#include "gen.h"

#define XX  CD_FORM(CD_K_XMM, CD_K_XMM)
#define MMF CD_FORM(CD_K_MM, CD_K_MM)
#define XME CD_FORM(CD_K_XMM, CD_K_MEM)
#define MME CD_FORM(CD_K_MM, CD_K_MEM)

#define N   CD_P_NONE
#define P66 CD_P_66
#define F3  CD_P_F3
#define F2  CD_P_F2
#define A16 CD_T_A16
#define IB  CD_T_IB
#define REG CD_T_REG

#define F32 CD_T_VK(CD_V_F32, 0)
#define F64 CD_T_VK(CD_V_F64, 0)
#define MIX CD_T_VK(CD_V_MIX, 0)

#define S3  CD_FEAT_SSE3
#define S41 CD_FEAT_SSE41

#define SSE(name, op, pfx, form, msize, feat, fl)                                                  \
    {                                                                                              \
        name, cd_gen_sse, op, pfx, msize, form, feat, fl, 0, 0, 0                                  \
    }
/* A load (op) and its store (op + 1) in one prefix column. */
#define LDST(name, op, pfx, msize, fl)                                                             \
    SSE(name " load", op, pfx, XX, msize, 0, fl),                                                  \
        SSE(name " store", (op) + 1, pfx, XX, msize, 0, fl)

/* MASKMOVQ mm, mm / MASKMOVDQU xmm, xmm: stores the bytes of the first
 * operand whose mask byte (second operand) has its top bit set, to DS:RDI
 * (EDI with 67). The address is near the data area, sometimes straddling
 * its end: whether a store with an all-clear mask faults is
 * implementation-specific (the SDM allows either), so those masks keep at
 * least one byte set there. When it faults, AMD has already switched the
 * x87 to the MMX state (TOP 0, all tags valid): not compared then. */
static void gen_maskmov(struct cd_gen *g, const struct cd_tmpl *t)
{
    struct cd_rng *r = g->r;
    bool xmm = t->ext == P66;
    unsigned size = xmm ? 16 : 8;
    if (xmm)
        cd_prefix(g, 0x66);
    bool a32 = cd_chance(r, 1, 8);
    if (a32)
        cd_prefix(g, 0x67);
    cd_opcode(g, 0x1f7);
    g->e.has_modrm = true;
    g->e.mod = 3;
    unsigned d = cd_below(r, xmm ? 16 : 8), m = cd_below(r, xmm ? 16 : 8);
    g->e.reg = (uint8_t)(d & 7);
    g->e.rexr = (uint8_t)(d >> 3);
    g->e.rm = (uint8_t)(m & 7);
    g->e.rexb = (uint8_t)(m >> 3);
    uint64_t a = cd_pick_addr(g, size, 0);
    bool edge = a + size > CD_DATA_END || a < CD_DATA;
    uint8_t mask[16], data[16];
    for (unsigned i = 0; i < 16; i++) {
        unsigned k = cd_below(r, 4);
        mask[i] = (uint8_t)(k == 0 ? 0 : k == 1 ? 0xff : cd_rand(r));
    }
    if (cd_chance(r, 1, 8) && !edge)
        for (unsigned i = 0; i < 16; i++)
            mask[i] &= 0x7f; /* nothing stored */
    if (edge) {              /* a selected byte outside the area: the store faults */
        unsigned out[16], n = 0;
        for (unsigned i = 0; i < size; i++)
            if (a + i < CD_DATA || a + i >= CD_DATA_END)
                out[n++] = i;
        mask[out[cd_below(r, n)]] |= 0x80;
    }
    cd_fill(r, CD_V_MIX, data, 16);
    if (xmm) {
        cd_req_xmm(g, d, data);
        if (m != d)
            cd_req_xmm(g, m, mask);
        else
            g->reject = true;
    } else {
        uint64_t v, k;
        memcpy(&v, data, 8);
        memcpy(&k, mask, 8);
        cd_req_mm(g, d, v);
        if ((m & 7) != (d & 7))
            cd_req_mm(g, m, k);
        else
            g->reject = true;
    }
    g->fz_fpu = !xmm;
    uint64_t rdi = a32 ? (cd_rand(r) & ~0xffffffffULL) | a : a;
    cd_req_reg(g, R_RDI, rdi);
}

const struct cd_tmpl cd_tmpl_sse_move[] = {
    LDST("movups", 0x110, N, 16, F32),
    LDST("movupd", 0x110, P66, 16, F64),
    LDST("movss", 0x110, F3, 4, F32),
    LDST("movsd", 0x110, F2, 8, F64),
    SSE("movhlps", 0x112, N, XX, 0, 0, REG | F32),
    SSE("movlps load", 0x112, N, XME, 8, 0, F32),
    SSE("movlpd load", 0x112, P66, XME, 8, 0, F64),
    SSE("movddup", 0x112, F2, XX, 8, S3, F64),
    SSE("movsldup", 0x112, F3, XX, 16, S3, A16 | F32),
    SSE("movlps store", 0x113, N, XME, 8, 0, F32),
    SSE("movlpd store", 0x113, P66, XME, 8, 0, F64),
    SSE("unpcklps", 0x114, N, XX, 16, 0, A16 | F32),
    SSE("unpcklpd", 0x114, P66, XX, 16, 0, A16 | F64),
    SSE("unpckhps", 0x115, N, XX, 16, 0, A16 | F32),
    SSE("unpckhpd", 0x115, P66, XX, 16, 0, A16 | F64),
    SSE("movlhps", 0x116, N, XX, 0, 0, REG | F32),
    SSE("movhps load", 0x116, N, XME, 8, 0, F32),
    SSE("movhpd load", 0x116, P66, XME, 8, 0, F64),
    SSE("movshdup", 0x116, F3, XX, 16, S3, A16 | F32),
    SSE("movhps store", 0x117, N, XME, 8, 0, F32),
    SSE("movhpd store", 0x117, P66, XME, 8, 0, F64),
    LDST("movaps", 0x128, N, 16, A16 | F32),
    LDST("movapd", 0x128, P66, 16, A16 | F64),
    SSE("movntps", 0x12b, N, XME, 16, 0, A16 | F32),
    SSE("movntpd", 0x12b, P66, XME, 16, 0, A16 | F64),
    SSE("movdqa load", 0x16f, P66, XX, 16, 0, A16 | MIX),
    SSE("movdqu load", 0x16f, F3, XX, 16, 0, MIX),
    SSE("movdqa store", 0x17f, P66, XX, 16, 0, A16 | MIX),
    SSE("movdqu store", 0x17f, F3, XX, 16, 0, MIX),
    SSE("shufps", 0x1c6, N, XX, 16, 0, A16 | IB | F32),
    SSE("shufpd", 0x1c6, P66, XX, 16, 0, A16 | IB | F64),
    SSE("movntq", 0x1e7, N, MME, 8, 0, MIX),
    SSE("movntdq", 0x1e7, P66, XME, 16, 0, A16 | MIX),
    SSE("lddqu", 0x1f0, F2, XME, 16, S3, MIX),
    SSE("movntdqa", 0x22a, P66, XME, 16, S41, A16 | MIX),
    SSE("movntss", 0x12b, F3, XME, 4, CD_FEAT_SSE4A, F32), /* AMD SSE4a */
    SSE("movntsd", 0x12b, F2, XME, 8, CD_FEAT_SSE4A, F64),
    {"maskmovq", gen_maskmov, 0x1f7, N, 8, MMF, 0, 0, 0, 0, 0},
    {"maskmovdqu", gen_maskmov, 0x1f7, P66, 16, XX, 0, 0, 0, 0, 0},
    {0},
};
