/*
 * resolve.c - the symbols a patch's new code needs, resolved in one process
 * the way its own link map resolves them (GOT, then the dynamic linker's
 * link map in the target, a function-scope static by the plugin's stable
 * name), and the TLS facts of the bound module for relocation.
 */
#include "target.h"
#include "elfread.h"
#include "lpmeta_read.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

/* ---- Symbol resolution ------------------------------------------------ */

struct got_query {
    const char *name;
    uint64_t off;
    int found;
};

static int got_cb(void *ctx, unsigned type, uint64_t off, const char *sym, uint64_t v, int64_t a)
{
    struct got_query *q = ctx;
    (void)v;
    (void)a;
    if ((type == R_X86_64_JUMP_SLOT || type == R_X86_64_GLOB_DAT) && strcmp(sym, q->name) == 0) {
        q->off = off;
        q->found = type;
        return type == R_X86_64_GLOB_DAT; /* a GLOB_DAT slot is always bound */
    }
    return 0;
}

/* What the module's own GOT says the symbol is: exactly ld.so's answer,
 * including IFUNC selections.  A lazy PLT slot still points at a working
 * call target (the PLT stub), so it is a fallback only. */
static int resolve_by_got(struct lpa_target *t, const char *name, uint64_t *addr, int *lazy)
{
    struct got_query q = {.name = name};
    lpa_elf_each_rela(t->mod->open_path, got_cb, &q);
    if (!q.found)
        return -1;
    uint64_t v = 0;
    if (lpa_mem_read(t->memfd, q.off + t->mod->load_bias, &v, 8) != 0 || !v)
        return -1;
    *lazy = q.found == R_X86_64_JUMP_SLOT && v >= t->mod->base && v < t->mod->end;
    *addr = v;
    return 0;
}

static const struct lpa_module *module_by_path(struct lpa_target *t, const char *path)
{
    for (size_t i = 0; i < t->nmods; i++)
        if (strcmp(t->mods[i].path, path) == 0)
            return &t->mods[i];
    return NULL;
}

/* Walk r_debug's link map from the executable's DT_DEBUG: search order of
 * the dynamic linker, first definition wins. */
static int resolve_by_link_map(struct lpa_target *t, const char *name, uint64_t *addr, char *err)
{
    const struct lpa_module *exe = NULL;
    for (size_t i = 0; i < t->nmods && !exe; i++)
        if (t->mods[i].is_main)
            exe = &t->mods[i];
    if (!exe)
        return -1;
    int fd = open(exe->open_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    size_t nph = 0;
    uint64_t dyn = 0;
    if (e && elf_getphdrnum(e, &nph) == 0)
        for (size_t i = 0; i < nph; i++) {
            GElf_Phdr ph;
            if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_DYNAMIC)
                dyn = ph.p_vaddr + exe->load_bias;
        }
    if (e)
        elf_end(e);
    close(fd);
    if (!dyn)
        return -1; /* static executable: no link map */
    uint64_t rdebug = 0;
    for (int i = 0; i < 512; i++) {
        uint64_t d[2];
        if (lpa_mem_read(t->memfd, dyn + 16u * (unsigned)i, d, 16) != 0 || d[0] == DT_NULL)
            break;
        if (d[0] == DT_DEBUG)
            rdebug = d[1];
    }
    uint64_t lm = 0;
    if (!rdebug || lpa_mem_read(t->memfd, rdebug + 8, &lm, 8) != 0)
        return -1;
    for (int guard = 0; lm && guard < 4096; guard++) {
        uint64_t l[4]; /* l_addr, l_name, l_ld, l_next */
        char path[4096] = "";
        if (lpa_mem_read(t->memfd, lm, l, sizeof l) != 0)
            break;
        if (l[1])
            pread(t->memfd, path, sizeof path - 1, (off_t)l[1]);
        path[sizeof path - 1] = 0;
        /* l_name may spell the path another way (/lib vs /usr/lib): the
         * load bias identifies the mapping */
        const struct lpa_module *m = path[0] ? module_by_path(t, path) : exe;
        for (size_t i = 0; i < t->nmods && !m; i++)
            if (t->mods[i].load_bias == l[0])
                m = &t->mods[i];
        struct lpa_elf_sym s;
        if (m && lpa_elf_find_sym(m->open_path, name, 1, &s) == 0 && s.count) {
            if (s.type == STT_GNU_IFUNC) {
                lpa_err(err, "symbol %s is an IFUNC in %s and %s does not import it", name, m->path,
                        t->mod->path);
                return -2;
            }
            *addr = l[0] + s.value;
            return 0;
        }
        lm = l[3];
    }
    return -1;
}

/* A function-scope static of the running module by the plugin's stable
 * name ("fn::var") in unit unit_id, from its .livepatch.static records
 * (read once per bound module through lpmeta_read.h): a stacked patch was
 * made against another build, whose "var.N" numbering may differ.
 * 0 found; -1 not (err says why). */
static int find_static(struct lpa_target *t, uint64_t unit_id, const char *stable, uint64_t *addr,
                       char *err)
{
    const struct lpa_module *m = t->mod;
    if (lpa_target_records(t, err) != 0)
        return -1;
    const struct lpm_module *rec = t->records;
    for (size_t i = 0; i < rec->nstatics; i++) {
        const struct lpm_static *v = &rec->statics[i];
        /* addr 0 or -1: the linker dropped the variable */
        if (v->unit_id == unit_id && v->addr + 1 > 1 && strcmp(v->stable_name, stable) == 0) {
            *addr = v->addr + m->load_bias;
            return 0;
        }
    }
    return lpa_err(err,
                   rec->nfuncs ? "%s: stacked patch refers to the function-scope static %s, which "
                                 "the running build does not have (an earlier patch may have "
                                 "added it)"
                               : "%s: stacked patch refers to the function-scope static %s, and "
                                 "the running build has no livepatch records to find it by that "
                                 "name",
                   m->path, stable);
}

/* GCC names function-scope statics "var.N", N counted across the unit:
 * the same N may name another variable in another build. */
static int gcc_numbered_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name || !dot[1])
        return 0;
    for (const char *p = dot + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    return 1;
}

static int resolve_sym(struct lpa_target *t, const struct lp_patch *p, const struct lp_sym *s,
                       uint64_t *addr, char *err)
{
    const char *name = lp_patch_str(p, s->name);
    if (s->kind == LP_SYM_DYNAMIC) {
        int lazy = 0;
        uint64_t got = 0;
        int have_got = resolve_by_got(t, name, &got, &lazy) == 0;
        if (have_got && !lazy) {
            *addr = got;
            return 0;
        }
        int rc = resolve_by_link_map(t, name, addr, err);
        if (rc == 0)
            return 0;
        if (have_got) {
            *addr = got;
            return 0;
        }
        if (rc == -2)
            return -1;
        /* static executables: the symbol lives in the module itself */
        struct lpa_elf_sym fs;
        lpa_elf_find_sym(t->mod->open_path, name, 0, &fs);
        if (fs.count) {
            *addr = fs.value + t->mod->load_bias;
            return 0;
        }
        lpa_err(err, "process %d: cannot resolve dynamic symbol %s", (int)t->pid, name);
        return -1;
    }
    if (s->kind == LP_SYM_MODULE) { /* a stacked patch: by name in this build */

        struct lps_func *r = t->stacked ? lpa_newest_redirect(t, 0, name) : NULL;
        if (r) { /* the newest code of a function earlier patches replaced */
            *addr = r->sym_addr;
            return 0;
        }
        if (strstr(name, "::")) /* lpdiff's stable name for a function-scope static */
            return find_static(t, s->unit_id, name, addr, err) == 0 ? 0 : -1;
        struct lpa_elf_sym fs;
        lpa_elf_find_sym(t->mod->open_path, name, 0, &fs);
        if (fs.count == 1 && fs.type == STT_OBJECT && gcc_numbered_name(name)) {
            lpa_err(err,
                    "%s: stacked patch refers to the function-scope static %s, whose "
                    "number may name another variable in the running build; make one "
                    "patch from the deployed revision instead (make livepatch "
                    "OLD=<deployed> NEW=...)",
                    t->mod->path, name);
            return -1;
        }
        if (fs.count == 1) {
            *addr = fs.value + t->mod->load_bias;
            return 0;
        }
        lpa_err(err, "%s: symbol %s %s", t->mod->path, name,
                fs.count ? "is ambiguous" : "not found");
        return -1;
    }
    lpa_err(err, "symbol %s: kind %u cannot be resolved by name", name, s->kind);
    return -1;
}

int lpa_target_resolve(void *ctx, const struct lp_patch *p, const struct lp_sym *s, uint64_t *addr,
                       char *err)
{
    struct lpa_target *t = ctx;
    uint32_t nsyms = 0;
    const struct lp_sym *syms = lp_patch_syms(p, &nsyms);
    int cacheable = p == t->patch && t->resolved && s >= syms && s < syms + nsyms;
    size_t i = cacheable ? (size_t)(s - syms) : 0;
    if (cacheable && t->is_resolved[i]) {
        *addr = t->resolved[i];
        return 0;
    }
    int rc = resolve_sym(t, p, s, addr, err);
    if (rc == 0 && cacheable) {
        t->resolved[i] = *addr;
        t->is_resolved[i] = 1;
    }
    return rc;
}

/* ---- TLS -------------------------------------------------------------- */

struct tls_query {
    struct lpa_target *t;
    int have_tpoff, have_modid;
    int64_t tpoff;
    uint64_t modid;
};

static int tls_cb(void *ctx, unsigned type, uint64_t off, const char *sym, uint64_t v, int64_t a)
{
    struct tls_query *q = ctx;
    uint64_t mem = 0;
    (void)sym;
    if (type != R_X86_64_TPOFF64 && type != R_X86_64_DTPMOD64)
        return 0;
    if (lpa_mem_read(q->t->memfd, off + q->t->mod->load_bias, &mem, 8) != 0)
        return 0;
    if (type == R_X86_64_TPOFF64 && !q->have_tpoff) {
        q->tpoff = (int64_t)mem - (int64_t)v - a; /* value = block start + symbol + addend */
        q->have_tpoff = 1;
    } else if (type == R_X86_64_DTPMOD64 && !q->have_modid) {
        q->modid = mem;
        q->have_modid = 1;
    }
    return q->have_tpoff && q->have_modid;
}

void lpa_target_tls(struct lpa_target *t, struct lp_target *lt)
{
    struct lpa_module *m = t->mod;
    lt->has_static_tls = 0;
    lt->tls_tpoff = 0;
    lt->tls_modid = 0;
    if (!m->has_tls)
        return;
    if (m->is_main) { /* the executable's block sits right below the thread pointer */
        uint64_t a = m->tls_align, first = (0 - m->tls_vaddr) & (a - 1);
        lt->has_static_tls = 1;
        lt->tls_tpoff = -(int64_t)((m->tls_memsz + first + a - 1) & ~(a - 1));
        lt->tls_modid = 1;
        return;
    }
    struct tls_query q = {.t = t};
    lpa_elf_each_rela(m->open_path, tls_cb, &q);
    lt->has_static_tls = q.have_tpoff;
    lt->tls_tpoff = q.tpoff;
    lt->tls_modid = q.modid;
}
