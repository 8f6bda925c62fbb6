/*
 * build.h - one build tree (OLD or NEW) loaded by build.c into the model
 * of model.h, and the lookups over it that the stages share.
 */
#ifndef DIFFER_BUILD_H
#define DIFFER_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* Load a build: module + objects linked into it. 0 or -1 with err. */
int build_load(struct side *s, const char *dir, const char *module, char *err, size_t errlen);
void build_free(struct side *s);
/* Add the relocatable object at `path` to side s as one more unit (no
 * module: the hook side).  0 or -1 with err. */
int build_load_extra(struct side *s, const char *path, char *err, size_t errlen);
/* Plugin record of the linked module's function at `addr`, or NULL. */
const struct lpm_func *build_mfunc_at(const struct side *s, uint64_t addr);
/* The OLD module symbol for a unit-local name, NULL if none; *ambiguous set
 * when several candidates exist. */
const struct elfobj_sym *build_local_sym(const struct side *s, const struct unit *u,
                                         const char *name, const char *key, int *ambiguous);

/* Section helpers for an object. */
int build_sec_is_text(const struct elfobj_sec *s);
int build_sec_is_rodata(const struct elfobj_sec *s); /* read-only data incl. .data.rel.ro */
int build_sec_is_tls(const struct elfobj_sec *s);
/* The named symbol of unit u whose extent covers offset `off` of section
 * `sec` (or starts there); SIZE_MAX if none. */
size_t build_unit_sym_at(const struct unit *u, size_t sec, uint64_t off);
/* The anonymous object at offset `off` of section `sec` of unit u: one the
 * plugin recorded there, else (read-only data only) the bytes from `off` to
 * the next boundary.  0 if there is none (writable data nobody recorded,
 * text, or no bytes). */
int build_unit_anon_at(const struct unit *u, size_t sec, uint64_t off, struct anon_obj *out);

#endif /* DIFFER_BUILD_H */
