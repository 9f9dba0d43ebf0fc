/* A small emitter of ACPI Machine Language (ACPI 6.x, chapter 20) and of
 * resource descriptors (section 6.4), for the DSDT xuni writes by hand.
 *
 * struct aml appends to a caller's buffer; running out of room sets
 * overflow and drops further bytes, so a builder checks once at the end.
 * Objects that carry a PkgLength (Scope, Device, Method, Package) are
 * opened with a *_begin() call returning a mark and closed with
 * aml_end(mark), which inserts the PkgLength in its shortest encoding
 * once the contents are known. Names are given as ASL spells them: "_HID",
 * "PCI0", "\\_SB" (a leading backslash is the root); segments shorter than
 * four characters are padded with '_'.
 *
 * Resource templates are built in a struct aml of their own with the
 * aml_res_*() helpers, closed with aml_res_end(), and emitted as a Buffer
 * with aml_buffer().
 */
#ifndef XUNI_BOOT_AML_H
#define XUNI_BOOT_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml {
    uint8_t *buf;
    size_t cap, len;
    bool overflow;
};

void aml_init(struct aml *a, uint8_t *buf, size_t cap);
void aml_bytes(struct aml *a, const void *data, size_t n);
void aml_byte(struct aml *a, uint8_t b);

/* Data objects. */
void aml_int(struct aml *a, uint64_t v); /* ZeroOp, OneOp or the shortest prefix */
void aml_string(struct aml *a, const char *s);
void aml_eisaid(struct aml *a, const char *id); /* "PNP0A03" as a DWord */
void aml_buffer(struct aml *a, const uint8_t *data, size_t n);
void aml_name_string(struct aml *a, const char *name);

/* Name (name, <the object the caller emits next>). */
void aml_name(struct aml *a, const char *name);

/* Objects with a PkgLength. */
size_t aml_scope_begin(struct aml *a, const char *name);
size_t aml_device_begin(struct aml *a, const char *name);
size_t aml_method_begin(struct aml *a, const char *name, unsigned nargs);
size_t aml_package_begin(struct aml *a, uint8_t nelements);
void aml_end(struct aml *a, size_t mark);

/* Statements and terms for small methods. */
void aml_return(struct aml *a); /* ReturnOp: the operand follows */
void aml_arg(struct aml *a, unsigned n);

/* Resource descriptors. */
void aml_res_bus_range(struct aml *a, uint16_t min, uint16_t max);    /* WordBusNumber */
void aml_res_io_range(struct aml *a, uint16_t min, uint16_t max);     /* WordIO */
void aml_res_mem_range(struct aml *a, uint32_t min, uint32_t max);    /* DWordMemory */
void aml_res_io(struct aml *a, uint16_t base, uint8_t len);           /* IO (Decode16) */
void aml_res_mem32_fixed(struct aml *a, uint32_t base, uint32_t len); /* Memory32Fixed */
void aml_res_end(struct aml *a);                                      /* EndTag */

#endif
