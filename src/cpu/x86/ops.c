/* The dispatch table: which op function runs a decoded encoding.
 *
 * Every instruction family (alu.c, shift.c, ...) defines a table of struct
 * x86_op_entry (insn.h) naming (map, opcode, mandatory prefix, ModRM.reg,
 * mod) and its op function. At first use the tables of X86_FAMILIES are
 * merged into one array, grouped by (map, opcode) and, within an opcode,
 * ordered most specific first: an exact prefix before X86_PFX_ANY, then an
 * exact reg before -1, then an exact mod before X86_MOD_ANY. A lookup walks
 * the few entries of its opcode and takes the first match; no match gives
 * entry 0, whose function raises #UD.
 *
 * Everything is static storage; the build runs once (pthread_once), and
 * lookups afterwards only read.
 */
#include <pthread.h>
#include <string.h>

#include "cpu/x86/decode_tables.h"
#include "util/log.h"

#define OPS_MAX 4096

void x86_op_ud(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    (void)insn;
    x86_raise_ud(cpu);
}

static const struct x86_op_entry ops_ud_entry = {.fn = x86_op_ud, .name = "(bad)", .reg = -1};

/* x86_ops_by_index[0] is the #UD entry; sorted[] holds entry indices
 * grouped by (map, opcode), first[]/count[] locate each opcode's run in it;
 * x86_ops_direct[] short-cuts opcodes with one op for every form. */
const struct x86_op_entry *x86_ops_by_index[OPS_MAX];
uint16_t x86_ops_direct[X86_NMAPS][256];
int x86_ops_ready;

static struct {
    uint16_t sorted[OPS_MAX];
    uint16_t first[X86_NMAPS][256];
    uint8_t count[X86_NMAPS][256];
    unsigned nentries;
} ops;

static pthread_once_t ops_once = PTHREAD_ONCE_INIT;

static unsigned ops_specificity(const struct x86_op_entry *e)
{
    return (e->prefix != X86_PFX_ANY) * 4 + (e->reg >= 0) * 2 + (e->mod != X86_MOD_ANY);
}

static bool ops_same_key(const struct x86_op_entry *a, const struct x86_op_entry *b)
{
    return a->map == b->map && a->opcode == b->opcode && a->prefix == b->prefix &&
           a->reg == b->reg && a->mod == b->mod;
}

static bool ops_entry_ok(const struct x86_op_entry *e)
{
    return e->map < X86_NMAPS && e->prefix <= X86_PFX_LEGACY && e->reg >= -1 && e->reg <= 7 &&
           e->mod <= X86_MOD_REG;
}

static void ops_build(const struct x86_op_entry *const *tables, unsigned ntables)
{
    static uint16_t per_slot[X86_NMAPS][256];

    memset(&ops, 0, sizeof(ops));
    memset(per_slot, 0, sizeof(per_slot));
    memset(x86_ops_by_index, 0, sizeof(x86_ops_by_index));
    x86_ops_by_index[0] = &ops_ud_entry;
    ops.nentries = 1;

    /* Collect, counting entries per opcode. */
    for (unsigned t = 0; t < ntables; t++) {
        if (!tables[t])
            continue;
        for (const struct x86_op_entry *e = tables[t]; e->fn; e++) {
            if (!ops_entry_ok(e)) {
                log_error("x86: bad op entry %s (map %u opcode %#x)", e->name ? e->name : "?",
                          e->map, e->opcode);
                continue;
            }
            if (ops.nentries == OPS_MAX || per_slot[e->map][e->opcode] == 255) {
                log_error("x86: too many op entries, %s dropped", e->name ? e->name : "?");
                continue;
            }
            x86_ops_by_index[ops.nentries++] = e;
            per_slot[e->map][e->opcode]++;
        }
    }

    /* Place each opcode's run, then fill it most specific first (stable:
     * among equal keys the first registered wins, later ones are
     * reported). */
    unsigned pos = 0;
    for (unsigned m = 0; m < X86_NMAPS; m++) {
        for (unsigned o = 0; o < 256; o++) {
            ops.first[m][o] = (uint16_t)pos;
            pos += per_slot[m][o];
        }
    }
    for (int spec = 7; spec >= 0; spec--) {
        for (unsigned k = 1; k < ops.nentries; k++) {
            const struct x86_op_entry *e = x86_ops_by_index[k];
            if (ops_specificity(e) != (unsigned)spec)
                continue;
            unsigned start = ops.first[e->map][e->opcode], c = ops.count[e->map][e->opcode];
            for (unsigned j = 0; j < c; j++) {
                if (ops_same_key(x86_ops_by_index[ops.sorted[start + j]], e))
                    log_warn("x86: op %s registered twice for map %u opcode %#x; first kept",
                             e->name ? e->name : "?", e->map, e->opcode);
            }
            ops.sorted[start + c] = (uint16_t)k;
            ops.count[e->map][e->opcode] = (uint8_t)(c + 1);
        }
    }

    /* The first entry of a run is the most specific: if even it matches
     * every form, so does the whole run, and the first wins. */
    for (unsigned m = 0; m < X86_NMAPS; m++) {
        for (unsigned o = 0; o < 256; o++) {
            unsigned k = ops.count[m][o] ? ops.sorted[ops.first[m][o]] : 0;
            x86_ops_direct[m][o] =
                k && ops_specificity(x86_ops_by_index[k]) ? X86_OPS_WALK : (uint16_t)k;
        }
    }
}

static void ops_init_families(void)
{
#define X86_FAMILY_TABLE(name) x86_ops_##name,
    static const struct x86_op_entry *const families[] = {X86_FAMILIES(X86_FAMILY_TABLE)};
#undef X86_FAMILY_TABLE
    ops_build(families, sizeof(families) / sizeof(families[0]));
    __atomic_store_n(&x86_ops_ready, 1, __ATOMIC_RELEASE);
}

void x86_ops_init(void)
{
    pthread_once(&ops_once, ops_init_families);
}

void x86_ops_rebuild(const struct x86_op_entry *const *tables, unsigned ntables)
{
    x86_ops_ensure();
    ops_build(tables, ntables);
}

static inline bool ops_match(const struct x86_op_entry *e, unsigned prefix, unsigned reg,
                             int is_mem)
{
    return (e->prefix == X86_PFX_ANY || e->prefix == prefix) &&
           (e->reg < 0 || (unsigned)e->reg == reg) &&
           (e->mod == X86_MOD_ANY || e->mod == (is_mem ? X86_MOD_MEM : X86_MOD_REG));
}

/* reg is ModRM.reg (0-7), or 8 for an instruction without ModRM (then only
 * entries with reg -1 and mod X86_MOD_ANY match). Never returns NULL: no
 * match is entry 0, whose function raises #UD. */
const struct x86_op_entry *x86_ops_lookup(unsigned map, unsigned opcode, unsigned prefix,
                                          unsigned reg, int is_mem, uint16_t *index)
{
    x86_ops_ensure();
    if (map < X86_NMAPS && opcode < 256) {
        unsigned start = ops.first[map][opcode], c = ops.count[map][opcode];
        for (unsigned j = 0; j < c; j++) {
            unsigned k = ops.sorted[start + j];
            const struct x86_op_entry *e = x86_ops_by_index[k];
            if (reg > 7 && e->mod != X86_MOD_ANY)
                continue;
            if (ops_match(e, prefix, reg, is_mem)) {
                *index = (uint16_t)k;
                return e;
            }
        }
    }
    *index = 0;
    return &ops_ud_entry;
}

const struct x86_op_entry *x86_ops_entry(uint16_t index)
{
    x86_ops_ensure();
    return index < ops.nentries ? x86_ops_by_index[index] : NULL;
}
