/*
 * build.c - load one build tree: the linked module, its symbol tables and
 * plugin records, and every object file under the tree that is linked into
 * the module (the units), with their functions and data objects.
 */
#include <assert.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build.h"
#include "dwinfo.h"
#include "strmap.h"

int build_sec_is_text(const struct elfobj_sec *s)
{
    return (s->sh.sh_flags & SHF_ALLOC) && (s->sh.sh_flags & SHF_EXECINSTR);
}

int build_sec_is_tls(const struct elfobj_sec *s)
{
    return (s->sh.sh_flags & SHF_TLS) != 0;
}

int build_sec_is_rodata(const struct elfobj_sec *s)
{
    if (!(s->sh.sh_flags & SHF_ALLOC) || build_sec_is_text(s) || build_sec_is_tls(s))
        return 0;
    /* RELRO data is constant once relocated: it may travel in the patch. */
    if (!strncmp(s->name, ".data.rel.ro", 12))
        return 1;
    return !(s->sh.sh_flags & SHF_WRITE);
}

static char *own(struct side *s, char *str)
{
    VEC_PUSH(s->owned, str);
    return str;
}

static int cmp_mfunc(const void *a, const void *b)
{
    const struct lpm_func *x = *(struct lpm_func *const *)a, *y = *(struct lpm_func *const *)b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

const struct lpm_func *build_mfunc_at(const struct side *s, uint64_t addr)
{
    size_t a = 0, b = s->mfuncs_by_addr.n;
    while (a < b) {
        size_t m = (a + b) / 2;
        if (s->mfuncs_by_addr.v[m]->addr < addr)
            a = m + 1;
        else
            b = m;
    }
    const struct lpm_func *best = NULL;
    for (; a < s->mfuncs_by_addr.n && s->mfuncs_by_addr.v[a]->addr == addr; a++)
        if (!best || (best->flags & LPMETA_F_COLD))
            best = s->mfuncs_by_addr.v[a];
    return best;
}

static void index_module(struct side *s)
{
    struct elfobj *m = s->mod;
    for (size_t i = 1; i < m->nsyms; i++) {
        struct elfobj_sym *y = &m->syms[i];
        if (y->shndx == SHN_UNDEF || !*y->name || y->type == STT_FILE || y->type == STT_SECTION)
            continue;
        if (y->bind != STB_LOCAL) {
            strmap_put(&s->global_syms, y->name, y);
            /* "stdout@GLIBC_2.2.5": a copy-relocated library variable
             * whose live copy is this module's. */
            const char *at = strchr(y->name, '@');
            if (at && at != y->name)
                strmap_put(&s->global_syms, own(s, xstrndup(y->name, (size_t)(at - y->name))), y);
            continue;
        }
        strmap_put(&s->local_syms, own(s, xasprintf("%s@%s", y->name, y->file)), y);
        char *k = util_strip_gcc_suffix(y->name);
        strmap_put(&s->local_keys, own(s, xasprintf("%s@%s", k, y->file)), y);
        free(k);
    }
    for (size_t i = 1; i < m->ndsyms; i++)
        if (m->dsyms[i].shndx == SHN_UNDEF && *m->dsyms[i].name)
            strmap_put(&s->dyn_undef, m->dsyms[i].name, &m->dsyms[i]);
    for (size_t i = 0; i < s->mmeta->nstatics; i++) {
        struct lpm_static *st = &s->mmeta->statics[i];
        strmap_put(&s->statics,
                   own(s, xasprintf("%016" PRIx64 ":%s", st->unit_id, st->stable_name)), st);
    }
    for (size_t i = 0; i < s->mmeta->nfuncs; i++) {
        VEC_PUSH(s->mfuncs_by_addr, &s->mmeta->funcs[i]);
        strmap_put(&s->mfunc_names, s->mmeta->funcs[i].name, &s->mmeta->funcs[i]);
    }
    if (s->mfuncs_by_addr.n)
        qsort(s->mfuncs_by_addr.v, s->mfuncs_by_addr.n, sizeof(void *), cmp_mfunc);
}

const struct elfobj_sym *build_local_sym(const struct side *s, const struct unit *u,
                                         const char *name, const char *key, int *ambiguous)
{
    *ambiguous = 0;
    char buf[1024];
    /* Plugin: a function-scope static by its stable name. */
    if (u->unit_id && strstr(key, "::")) {
        snprintf(buf, sizeof(buf), "%016" PRIx64 ":%s", u->unit_id, key);
        const struct lpm_static *st = strmap_get(&s->statics, buf);
        if (!st)
            return NULL;
        for (size_t i = 1; i < s->mod->nsyms; i++)
            if (s->mod->syms[i].value == st->addr && s->mod->syms[i].bind == STB_LOCAL &&
                s->mod->syms[i].type == STT_OBJECT)
                return &s->mod->syms[i];
        return NULL;
    }
    snprintf(buf, sizeof(buf), "%s@%s", name, u->file);
    unsigned n = strmap_count(&s->local_syms, buf);
    if (n == 1)
        return strmap_get(&s->local_syms, buf);
    if (n > 1) {
        /* Plugin records tell same-named static functions apart by unit. */
        for (size_t i = 1; u->unit_id && i < s->mod->nsyms; i++) {
            const struct elfobj_sym *y = &s->mod->syms[i];
            if (y->bind != STB_LOCAL || strcmp(y->name, name) || strcmp(y->file, u->file))
                continue;
            const struct lpm_func *f = build_mfunc_at(s, y->value);
            if (f && f->unit_id == u->unit_id && !strcmp(f->name, name))
                return y;
        }
        /* DWARF knows each CU by its full source path and where its
         * statics live: net/util.c and disk/util.c are told apart. */
        const char *src = u->meta->nunits ? u->meta->units[0].source : "";
        uint64_t addr = *src ? dwinfo_addr_of(s->dw, src, 1, name) : 0;
        if (!addr && *src)
            addr = dwinfo_addr_of(s->dw, src, 0, name);
        for (size_t i = 1; addr && i < s->mod->nsyms; i++) {
            const struct elfobj_sym *y = &s->mod->syms[i];
            if (y->value == addr && y->bind == STB_LOCAL && !strcmp(y->name, name) &&
                !strcmp(y->file, u->file))
                return y;
        }
        *ambiguous = 1;
        return NULL;
    }
    snprintf(buf, sizeof(buf), "%s@%s", key, u->file);
    n = strmap_count(&s->local_keys, buf);
    if (n > 1)
        *ambiguous = 1;
    return n == 1 ? strmap_get(&s->local_keys, buf) : NULL;
}

static int cmp_symidx_ctx_value(const struct elfobj *f, size_t a, size_t b)
{
    uint64_t x = f->syms[a].value, y = f->syms[b].value;
    return x < y ? -1 : x > y;
}

static void sort_syms(const struct elfobj *f, size_t *v, size_t n)
{
    for (size_t i = 1; i < n; i++) /* insertion sort: sections hold few symbols */
        for (size_t j = i; j > 0 && cmp_symidx_ctx_value(f, v[j - 1], v[j]) > 0; j--) {
            size_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
}

size_t build_unit_sym_at(const struct unit *u, size_t sec, uint64_t off)
{
    if (sec >= u->obj->nsecs)
        return SIZE_MAX;
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < u->sec_nsyms[sec]; i++) {
        size_t k = u->sec_syms[sec][i];
        const struct elfobj_sym *y = &u->obj->syms[k];
        if (off >= y->value && (off < y->value + y->size || off == y->value))
            best = k;
    }
    return best;
}

static int cmp_mark(const void *a, const void *b)
{
    const struct anon_mark *x = a, *y = b;
    if (x->sec != y->sec)
        return x->sec < y->sec ? -1 : 1;
    if (x->off != y->off)
        return x->off < y->off ? -1 : 1;
    return x->size < y->size ? -1 : x->size > y->size;
}

/* First mark at or after (sec, off). */
static size_t mark_lower_bound(const struct anon_mark *v, size_t n, size_t sec, uint64_t off)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid].sec < sec || (v[mid].sec == sec && v[mid].off < off))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The plugin's anonymous objects of this unit, and the boundaries: every
 * symbol, every recorded object's start and end, every place a
 * section-relative relocation points to. */
static void add_anon_marks(struct unit *u)
{
    const struct elfobj *o = u->obj;
    VEC(struct anon_mark) anons = {0}, bounds = {0};
    for (size_t i = 0; i < u->meta->nanons; i++) {
        const struct lpm_anon *a = &u->meta->anons[i];
        if (!(a->flags & LPMETA_ANON_CONST) || !a->shndx || a->shndx >= o->nsecs ||
            a->addr > o->secs[a->shndx].size || a->size > o->secs[a->shndx].size - a->addr)
            continue; /* not a constant, or not in this object: nothing known */
        struct anon_mark m = {a->shndx, a->addr, a->size};
        VEC_PUSH(anons, m);
        struct anon_mark b0 = {a->shndx, a->addr, 0}, b1 = {a->shndx, a->addr + a->size, 0};
        VEC_PUSH(bounds, b0);
        VEC_PUSH(bounds, b1);
    }
    for (size_t i = 1; i < o->nsyms; i++) {
        const struct elfobj_sym *y = &o->syms[i];
        if (y->shndx == SHN_UNDEF || y->shndx >= o->nsecs || y->type == STT_SECTION ||
            y->type == STT_FILE)
            continue;
        struct anon_mark b = {y->shndx, y->value, 0}, e = {y->shndx, y->value + y->size, 0};
        VEC_PUSH(bounds, b);
        if (y->size)
            VEC_PUSH(bounds, e);
    }
    for (size_t s = 1; s < o->nsecs; s++)
        for (size_t i = 0; i < o->secs[s].nrelas; i++) {
            const struct elfobj_rela *r = &o->secs[s].relas[i];
            const struct elfobj_sym *y = &o->syms[r->sym];
            if (y->shndx == SHN_UNDEF || y->shndx >= o->nsecs)
                continue;
            int64_t t = (int64_t)y->value + r->addend + (elfobj_is_pcrel(r->type) ? 4 : 0);
            struct anon_mark b = {y->shndx, t < 0 ? 0 : (uint64_t)t, 0};
            VEC_PUSH(bounds, b);
        }
    if (anons.n)
        qsort(anons.v, anons.n, sizeof(*anons.v), cmp_mark);
    if (bounds.n)
        qsort(bounds.v, bounds.n, sizeof(*bounds.v), cmp_mark);
    u->anons = anons.v;
    u->nanons = anons.n;
    u->bounds = bounds.v;
    u->nbounds = bounds.n;
}

int build_unit_anon_at(const struct unit *u, size_t sec, uint64_t off, struct anon_obj *out)
{
    if (sec == 0 || sec >= u->obj->nsecs)
        return 0;
    const struct elfobj_sec *s = &u->obj->secs[sec];
    /* a recorded object starting at or shortly before off that covers it
     * (objects do not overlap: the nearest few are enough) */
    size_t k = mark_lower_bound(u->anons, u->nanons, sec, off + 1);
    for (int tries = 0; tries < 8 && k > 0 && u->anons[k - 1].sec == sec; tries++) {
        const struct anon_mark *m = &u->anons[--k];
        if (off >= m->off && off - m->off < m->size) {
            out->start = m->off;
            out->size = m->size;
            out->recorded = 1;
            return 1;
        }
    }
    if (build_sec_is_text(s) || !build_sec_is_rodata(s) || off >= s->size)
        return 0;
    size_t b = mark_lower_bound(u->bounds, u->nbounds, sec, off + 1);
    uint64_t end = b < u->nbounds && u->bounds[b].sec == sec ? u->bounds[b].off : s->size;
    if (end > s->size)
        end = s->size;
    out->start = off;
    out->size = end - off;
    out->recorded = 0;
    return out->size > 0;
}

static int is_named_sym(const struct elfobj_sym *y)
{
    return (y->type == STT_FUNC || y->type == STT_OBJECT || y->type == STT_TLS) &&
           y->shndx != SHN_UNDEF && y->shndx < SHN_LORESERVE && *y->name;
}

static void mark_ctors(struct unit *u)
{
    struct elfobj *o = u->obj;
    for (size_t i = 1; i < o->nsecs; i++) {
        const struct elfobj_sec *s = &o->secs[i];
        if (strncmp(s->name, ".init_array", 11) && strncmp(s->name, ".fini_array", 11) &&
            strncmp(s->name, ".ctors", 6) && strncmp(s->name, ".dtors", 6) &&
            strcmp(s->name, ".preinit_array"))
            continue;
        for (size_t r = 0; r < s->nrelas; r++) {
            const struct elfobj_sym *y = &o->syms[s->relas[r].sym];
            size_t k = s->relas[r].sym;
            if (y->type == STT_SECTION)
                k = build_unit_sym_at(u, y->shndx, (uint64_t)s->relas[r].addend);
            if (k != SIZE_MAX && u->fn_of_sym[k])
                u->fn_of_sym[k]->is_ctor = 1;
        }
    }
}

/* Without the plugin's stable names, a function-scope static "count.N" is
 * known by the one function that uses it: "fn::count" (N is renumbered by
 * unrelated edits, so matching "count.1" to "count.1" could swap state). */
static void name_statics_by_user(struct unit *u)
{
    struct elfobj *o = u->obj;
    const struct fn **user = xcalloc(u->vars.n ? u->vars.n : 1, sizeof(*user));
    for (size_t i = 0; i < u->fns.n; i++) {
        const struct fn *f = &u->fns.v[i];
        const struct fn *owner = f->is_cold && f->parent ? f->parent : f;
        const struct elfobj_sec *sec = &o->secs[f->sec];
        size_t n, k = elfobj_relas_in(sec, f->off, f->off + f->size, &n);
        for (size_t j = k; j < k + n; j++) {
            const struct elfobj_rela *r = &sec->relas[j];
            const struct elfobj_sym *y = &o->syms[r->sym];
            size_t t = r->sym;
            if (y->type == STT_SECTION) {
                int64_t off = (int64_t)y->value + r->addend + (elfobj_is_pcrel(r->type) ? 4 : 0);
                t = build_unit_sym_at(u, y->shndx, off < 0 ? 0 : (uint64_t)off);
            }
            struct var *v = t != SIZE_MAX ? u->var_of_sym[t] : NULL;
            if (!v)
                continue;
            size_t vi = (size_t)(v - u->vars.v);
            assert(vi < u->vars.n); /* var_of_sym points into u->vars */
            if (!user[vi])
                user[vi] = owner;
            else if (user[vi] != owner)
                user[vi] = (const struct fn *)u; /* several users: no owner */
        }
    }
    for (size_t i = 0; i < u->vars.n; i++) {
        struct var *v = &u->vars.v[i];
        if (!v->is_local || !strcmp(v->key, v->name) || !user[i] || user[i] == (const struct fn *)u)
            continue;
        char *key = xasprintf("%s::%s", user[i]->key, v->key);
        free(v->key);
        v->key = key;
    }
    free(user);
}

static void add_symbols(struct unit *u)
{
    struct elfobj *o = u->obj;
    u->sec_syms = xcalloc(o->nsecs, sizeof(*u->sec_syms));
    u->sec_nsyms = xcalloc(o->nsecs, sizeof(*u->sec_nsyms));
    u->fn_of_sym = xcalloc(o->nsyms ? o->nsyms : 1, sizeof(*u->fn_of_sym));
    u->var_of_sym = xcalloc(o->nsyms ? o->nsyms : 1, sizeof(*u->var_of_sym));
    struct strmap meta_fn = {0}, meta_static = {0};
    for (size_t k = 0; k < u->meta->nfuncs; k++)
        strmap_put(&meta_fn, u->meta->funcs[k].name, &u->meta->funcs[k]);
    for (size_t k = 0; k < u->meta->nstatics; k++)
        strmap_put(&meta_static, u->meta->statics[k].asm_name, &u->meta->statics[k]);
    for (size_t i = 1; i < o->nsyms; i++) {
        const struct elfobj_sym *y = &o->syms[i];
        if (!is_named_sym(y) || y->shndx >= o->nsecs)
            continue;
        const struct elfobj_sec *sec = &o->secs[y->shndx];
        if (!(sec->sh.sh_flags & SHF_ALLOC))
            continue;
        size_t n = u->sec_nsyms[y->shndx]++;
        u->sec_syms[y->shndx] = xrealloc(u->sec_syms[y->shndx], (n + 1) * sizeof(size_t));
        u->sec_syms[y->shndx][n] = i;
        if (y->type == STT_FUNC || build_sec_is_text(sec)) {
            struct fn f = {.name = y->name,
                           .key = util_strip_gcc_suffix(y->name),
                           .u = u,
                           .sym = i,
                           .sec = y->shndx,
                           .off = y->value,
                           .size = y->size};
            f.is_local = y->bind == STB_LOCAL;
            f.is_cold = strstr(y->name, ".cold") != NULL;
            f.meta = strmap_get(&meta_fn, y->name);
            if (f.meta && (f.meta->flags & (LPMETA_F_CTOR | LPMETA_F_DTOR)))
                f.is_ctor = 1;
            VEC_PUSH(u->fns, f);
        } else {
            struct var v = {.name = y->name,
                            .u = u,
                            .sym = i,
                            .sec = y->shndx,
                            .off = y->value,
                            .size = y->size};
            const struct lpm_static *st = strmap_get(&meta_static, y->name);
            v.key = st ? xstrdup(st->stable_name) : util_strip_gcc_suffix(y->name);
            v.stable = st != NULL;
            v.is_local = y->bind == STB_LOCAL;
            v.tls = y->type == STT_TLS || build_sec_is_tls(sec);
            v.writable = !build_sec_is_rodata(sec) && !v.tls;
            VEC_PUSH(u->vars, v);
        }
    }
    strmap_free(&meta_fn);
    strmap_free(&meta_static);
    for (size_t i = 1; i < o->nsecs; i++)
        sort_syms(o, u->sec_syms[i], u->sec_nsyms[i]);
    add_anon_marks(u);
    for (size_t i = 0; i < u->fns.n; i++) {
        struct fn *f = &u->fns.v[i];
        u->fn_of_sym[f->sym] = f;
        strmap_put(&u->fn_by_key, f->key, f);
    }
    for (size_t i = 0; i < u->vars.n; i++) {
        struct var *v = &u->vars.v[i];
        u->var_of_sym[v->sym] = v;
        strmap_put(&u->var_by_key, v->key, v);
    }
    for (size_t i = 0; i < u->fns.n; i++)
        strmap_put(&u->fn_by_name, u->fns.v[i].name, &u->fns.v[i]);
    for (size_t i = 0; i < u->fns.n; i++) { /* .cold parts belong to their parent */
        struct fn *f = &u->fns.v[i];
        if (!f->is_cold)
            continue;
        char *p = xstrdup(f->name);
        *strstr(p, ".cold") = 0;
        f->parent = strmap_get(&u->fn_by_name, p);
        free(p);
    }
    mark_ctors(u);
    if (!u->meta->nstatics) {
        name_statics_by_user(u);
        strmap_free(&u->var_by_key); /* keys changed */
        for (size_t i = 0; i < u->vars.n; i++)
            strmap_put(&u->var_by_key, u->vars.v[i].key, &u->vars.v[i]);
    }
}

/* ---- finding the objects of a tree ------------------------------------ */

static VEC(char *) found_objects;

static int collect_obj(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    size_t n = strlen(path);
    if (type == FTW_F && n > 2 && !strcmp(path + n - 2, ".o"))
        VEC_PUSH(found_objects, xstrdup(path));
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *first_file_sym(const struct elfobj *o)
{
    for (size_t i = 1; i < o->nsyms; i++)
        if (o->syms[i].type == STT_FILE)
            return o->syms[i].name;
    return "";
}

/* Is object `o` (records `m`) part of module s->mod? */
static int linked_into(struct side *s, const struct elfobj *o, const struct lpm_module *m,
                       const struct strmap *module_files)
{
    if (s->has_plugin && m->nunits) {
        for (size_t i = 0; i < s->mmeta->nunits; i++)
            if (s->mmeta->units[i].unit_id == m->units[0].unit_id)
                return 1;
        return 0;
    }
    if (!strmap_get(module_files, first_file_sym(o)))
        return 0;
    for (size_t i = 1; i < o->nsyms; i++) {
        /* A plugin-less twin of a unit the module has records for (a C++
         * or second build of the same source) is not what was linked. */
        const struct elfobj_sym *y = &o->syms[i];
        if (s->has_plugin && y->type == STT_FUNC && y->shndx != SHN_UNDEF &&
            strmap_get(&s->mfunc_names, y->name))
            return 0;
    }
    for (size_t i = 1; i < o->nsyms; i++) {
        const struct elfobj_sym *y = &o->syms[i];
        if (y->bind == STB_LOCAL || !is_named_sym(y) || y->shndx >= o->nsecs ||
            !(o->secs[y->shndx].sh.sh_flags & SHF_ALLOC))
            continue;
        const struct elfobj_sym *g = strmap_get(&s->global_syms, y->name);
        if (!g || (g->type == STT_FUNC) != (y->type == STT_FUNC))
            return 0;
    }
    return 1;
}

static struct unit *new_unit(struct side *s, char *path, struct elfobj *o, struct lpm_module *m)
{
    struct unit *u = xcalloc(1, sizeof(*u));
    u->side = s;
    u->obj_path = path;
    u->obj = o;
    u->meta = m;
    u->file = first_file_sym(o);
    u->gcc_version = u->options = "";
    if (m->nunits) {
        u->unit_id = m->units[0].unit_id;
        u->gcc_version = m->units[0].gcc_version;
        u->options = m->units[0].options;
        u->key = xasprintf("%016" PRIx64, u->unit_id);
    } else {
        u->key = xstrdup(u->file);
    }
    add_symbols(u);
    return u;
}

/* How well object u matches what the module records for its unit: same
 * codegen options (-fPIC or not), then functions with the same hash. */
static int link_score(const struct side *s, const struct unit *u)
{
    int score = 0;
    for (size_t i = 0; u->unit_id && i < s->mmeta->nunits; i++)
        if (s->mmeta->units[i].unit_id == u->unit_id &&
            !strcmp(s->mmeta->units[i].options, u->options))
            score += 1 << 20;
    for (size_t i = 0; i < u->fns.n; i++) {
        const struct lpm_func *m = strmap_get(&s->mfunc_names, u->fns.v[i].name);
        if (m && u->fns.v[i].meta && m->unit_id == u->unit_id &&
            !memcmp(m->hash, u->fns.v[i].meta->hash, 16))
            score++;
    }
    return score;
}

static void unit_free(struct unit *u);

/* Several objects of one unit (libtool's foo.o and .libs/foo.o): keep the
 * one the module was linked from, when the records tell it apart. */
static void drop_twins(struct side *s)
{
    char *drop = xcalloc(s->units.n, 1);
    for (size_t i = 0; i < s->units.n; i++)
        for (size_t j = 0; j < s->units.n; j++) {
            struct unit *u = s->units.v[i], *o = s->units.v[j];
            if (o != u && u->unit_id && !strcmp(o->key, u->key) && o->link_score > u->link_score)
                drop[i] = 1; /* equal scores stay: reported as AMBIGUOUS */
        }
    size_t k = 0;
    for (size_t i = 0; i < s->units.n; i++) {
        if (drop[i])
            unit_free(s->units.v[i]);
        else
            s->units.v[k++] = s->units.v[i];
    }
    s->units.n = k;
    free(drop);
}

/* Globals over all units, once the units are final. */
static void index_globals(struct side *s)
{
    for (size_t i = 0; i < s->units.n; i++) {
        struct unit *u = s->units.v[i];
        for (size_t k = 0; k < u->fns.n; k++)
            if (!u->fns.v[k].is_local)
                strmap_put(&s->global_fns, u->fns.v[k].name, &u->fns.v[k]);
        for (size_t k = 0; k < u->vars.n; k++)
            if (!u->vars.v[k].is_local)
                strmap_put(&s->global_vars, u->vars.v[k].name, &u->vars.v[k]);
    }
}

int build_load(struct side *s, const char *dir, const char *module, char *err, size_t errlen)
{
    s->dir = xstrdup(dir);
    s->module_path = xasprintf("%s/%s", dir, module);
    s->mod = elfobj_open(s->module_path, err, errlen);
    if (!s->mod)
        return -1;
    if (s->mod->eh.e_type != ET_EXEC && s->mod->eh.e_type != ET_DYN) {
        snprintf(err, errlen, "%s: not an executable or shared library", s->module_path);
        return -1;
    }
    if (!s->mod->nsyms) {
        snprintf(err, errlen, "%s: no .symtab (stripped?): cannot place symbols", s->module_path);
        return -1;
    }
    char merr[LPM_ERR_MAX];
    if (lpm_read_elf(s->mod->elf, s->module_path, &s->mmeta, merr)) {
        snprintf(err, errlen, "%s", merr);
        return -1;
    }
    s->has_plugin = s->mmeta->nunits > 0;
    index_module(s);

    struct strmap module_files = {0};
    for (size_t i = 1; i < s->mod->nsyms; i++)
        if (s->mod->syms[i].type == STT_FILE)
            strmap_put(&module_files, s->mod->syms[i].name, &s->mod->syms[i]);

    found_objects.n = 0;
    if (nftw(dir, collect_obj, 32, FTW_PHYS)) {
        snprintf(err, errlen, "%s: cannot scan directory", dir);
        strmap_free(&module_files);
        return -1;
    }
    if (found_objects.n)
        qsort(found_objects.v, found_objects.n, sizeof(char *), cmp_str);
    int rc = 0;
    for (size_t i = 0; i < found_objects.n; i++) {
        char *path = found_objects.v[i];
        struct elfobj *o = rc ? NULL : elfobj_open(path, err, errlen);
        struct lpm_module *m = NULL;
        if (!o || o->eh.e_type != ET_REL || lpm_read_elf(o->elf, path, &m, merr)) {
            if (o && o->eh.e_type != ET_REL)
                snprintf(err, errlen, "%s: not a relocatable object", path);
            else if (o)
                snprintf(err, errlen, "%s", merr);
            rc = -1;
            elfobj_close(o);
            free(path);
            continue;
        }
        if (!linked_into(s, o, m, &module_files)) {
            lpm_free(m);
            elfobj_close(o);
            free(path);
            continue;
        }
        struct unit *u = new_unit(s, path, o, m);
        u->link_score = link_score(s, u);
        VEC_PUSH(s->units, u);
    }
    drop_twins(s);
    index_globals(s);
    VEC_FREE(found_objects);
    strmap_free(&module_files);
    if (!rc && !s->units.n) {
        snprintf(err, errlen, "%s: no object file linked into %s found", dir, module);
        rc = -1;
    }
    return rc;
}

int build_load_extra(struct side *s, const char *path, char *err, size_t errlen)
{
    struct elfobj *o = elfobj_open(path, err, errlen);
    if (!o)
        return -1;
    char merr[LPM_ERR_MAX];
    struct lpm_module *m = NULL;
    if (o->eh.e_type != ET_REL || lpm_read_elf(o->elf, path, &m, merr)) {
        if (o->eh.e_type != ET_REL)
            snprintf(err, errlen, "%s: not a relocatable object", path);
        else
            snprintf(err, errlen, "%s", merr);
        elfobj_close(o);
        return -1;
    }
    struct unit *u = new_unit(s, xstrdup(path), o, m);
    VEC_PUSH(s->units, u);
    strmap_free(&s->global_fns);
    strmap_free(&s->global_vars);
    index_globals(s);
    return 0;
}

static void unit_free(struct unit *u)
{
    for (size_t i = 0; i < u->fns.n; i++)
        free(u->fns.v[i].key);
    for (size_t i = 0; i < u->vars.n; i++)
        free(u->vars.v[i].key);
    VEC_FREE(u->fns);
    VEC_FREE(u->vars);
    strmap_free(&u->fn_by_key);
    strmap_free(&u->fn_by_name);
    strmap_free(&u->var_by_key);
    for (size_t i = 0; u->sec_syms && i < u->obj->nsecs; i++)
        free(u->sec_syms[i]);
    free(u->sec_syms);
    free(u->sec_nsyms);
    free(u->anons);
    free(u->bounds);
    free(u->fn_of_sym);
    free(u->var_of_sym);
    lpm_free(u->meta);
    elfobj_close(u->obj);
    free(u->obj_path);
    free(u->key);
    free(u);
}

void build_free(struct side *s)
{
    for (size_t i = 0; i < s->units.n; i++)
        unit_free(s->units.v[i]);
    VEC_FREE(s->units);
    strmap_free(&s->global_syms);
    strmap_free(&s->local_syms);
    strmap_free(&s->local_keys);
    strmap_free(&s->dyn_undef);
    strmap_free(&s->statics);
    strmap_free(&s->global_fns);
    strmap_free(&s->mfunc_names);
    strmap_free(&s->global_vars);
    VEC_FREE(s->mfuncs_by_addr);
    for (size_t i = 0; i < s->owned.n; i++)
        free(s->owned.v[i]);
    VEC_FREE(s->owned);
    lpm_free(s->mmeta);
    elfobj_close(s->mod);
    free(s->dir);
    free(s->module_path);
}
