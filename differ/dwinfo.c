/* dwinfo.c - see dwinfo.h.  Uses libdwarf's classic (2021) API. */
#include <assert.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dwarf.h>
#include <libdwarf.h>

#include "dwinfo.h"
#include "strmap.h"

struct loader {
    struct dwinfo *d;
    Dwarf_Debug dbg;
    char **files;       /* libdwarf's, freed after each CU */
    const char **bases; /* our copies of their basenames */
    Dwarf_Signed nfiles;
    int version;
    VEC(uint64_t) type_refs; /* per node: referenced offset, parallel to nodes */
    VEC(uint64_t) spec_refs;
};

static int64_t attr_int(Dwarf_Attribute a)
{
    Dwarf_Signed s;
    Dwarf_Unsigned u;
    Dwarf_Half form = 0;
    dwarf_whatform(a, &form, NULL);
    if (form == DW_FORM_sdata || form == DW_FORM_implicit_const) {
        if (dwarf_formsdata(a, &s, NULL) == DW_DLV_OK)
            return s;
    }
    if (dwarf_formudata(a, &u, NULL) == DW_DLV_OK)
        return (int64_t)u;
    if (dwarf_formsdata(a, &s, NULL) == DW_DLV_OK)
        return s;
    return -1;
}

static const char *file_name(struct loader *L, int64_t idx)
{
    int64_t i = L->version >= 5 ? idx : idx - 1;
    if (!L->bases || i < 0 || i >= L->nfiles)
        return "";
    return L->bases[i];
}

static void read_attrs(struct loader *L, Dwarf_Die die, struct dwinfo_node *n, uint64_t *type_ref,
                       uint64_t *spec_ref)
{
    Dwarf_Attribute *attrs;
    Dwarf_Signed na;
    int64_t legacy_bit_offset = -1; /* DWARF 2-4 DW_AT_bit_offset */
    if (dwarf_attrlist(die, &attrs, &na, NULL) != DW_DLV_OK)
        return;
    for (Dwarf_Signed i = 0; i < na; i++) {
        Dwarf_Half at;
        Dwarf_Off ref;
        char *s;
        Dwarf_Unsigned len;
        Dwarf_Ptr ptr;
        Dwarf_Bool flag;
        if (dwarf_whatattr(attrs[i], &at, NULL) != DW_DLV_OK)
            continue;
        switch (at) {
        case DW_AT_name:
            if (dwarf_formstring(attrs[i], &s, NULL) == DW_DLV_OK)
                n->name = s;
            break;
        case DW_AT_linkage_name:
        case DW_AT_MIPS_linkage_name:
            if (dwarf_formstring(attrs[i], &s, NULL) == DW_DLV_OK)
                n->linkage = s;
            break;
        case DW_AT_producer:
            if (dwarf_formstring(attrs[i], &s, NULL) == DW_DLV_OK)
                n->linkage = s; /* CU only: kept here, moved to dwinfo_cu */
            break;
        case DW_AT_byte_size:
            n->byte_size = attr_int(attrs[i]);
            break;
        case DW_AT_bit_size:
            n->bit_size = attr_int(attrs[i]);
            break;
        case DW_AT_data_bit_offset:
            n->bit_offset = attr_int(attrs[i]);
            break;
        case DW_AT_bit_offset:
            legacy_bit_offset = attr_int(attrs[i]);
            break;
        case DW_AT_data_member_location:
            n->member_off = attr_int(attrs[i]);
            break;
        case DW_AT_upper_bound:
            n->upper = attr_int(attrs[i]);
            break;
        case DW_AT_count:
            n->count = attr_int(attrs[i]);
            break;
        case DW_AT_const_value:
            n->value = attr_int(attrs[i]);
            n->has_value = 1;
            break;
        case DW_AT_decl_file:
            n->file = file_name(L, attr_int(attrs[i]));
            break;
        case DW_AT_decl_line:
            n->line = (uint32_t)attr_int(attrs[i]);
            break;
        case DW_AT_type:
            if (dwarf_global_formref(attrs[i], &ref, NULL) == DW_DLV_OK)
                *type_ref = ref;
            break;
        case DW_AT_specification:
        case DW_AT_abstract_origin:
            if (dwarf_global_formref(attrs[i], &ref, NULL) == DW_DLV_OK)
                *spec_ref = ref;
            break;
        case DW_AT_external:
            if (dwarf_formflag(attrs[i], &flag, NULL) == DW_DLV_OK)
                n->external = flag != 0;
            break;
        case DW_AT_declaration:
            n->declaration = 1;
            break;
        case DW_AT_location:
            n->has_location = 1;
            if (dwarf_formexprloc(attrs[i], &len, &ptr, NULL) == DW_DLV_OK && len > 0) {
                uint8_t last = ((uint8_t *)ptr)[len - 1];
                if (len == 9 && ((uint8_t *)ptr)[0] == DW_OP_addr)
                    memcpy(&n->addr, (uint8_t *)ptr + 1, 8);
                n->tls = last == DW_OP_form_tls_address || last == DW_OP_GNU_push_tls_address;
            }
            break;
        case DW_AT_low_pc: {
            Dwarf_Addr lo;
            if (dwarf_formaddr(attrs[i], &lo, NULL) == DW_DLV_OK)
                n->addr = lo;
        }
            /* fall through */
        case DW_AT_ranges:
            n->has_location = 1; /* a function with code */
            break;
        }
        dwarf_dealloc(L->dbg, attrs[i], DW_DLA_ATTR);
    }
    dwarf_dealloc(L->dbg, attrs, DW_DLA_LIST);
    /* DWARF 2-4 bit-field (gcc -gdwarf-4): the storage unit's byte offset
     * and size, and the field's bit offset from the unit's most
     * significant bit.  On little-endian x86-64 that is bit
     * 8 * (offset + size) - bit_offset - bit_size from the struct's start:
     * what DWARF 5 gives directly as DW_AT_data_bit_offset. */
    if (n->bit_offset < 0 && legacy_bit_offset >= 0 && n->bit_size >= 0 && n->byte_size >= 0) {
        n->bit_offset = 8 * (n->member_off > 0 ? n->member_off : 0) + 8 * n->byte_size -
                        legacy_bit_offset - n->bit_size;
        n->member_off = -1;
    }
}

/* An inlined call: its code ranges with its DW_AT_call_line into
 * d->inlines. */
static void read_inline(struct loader *L, Dwarf_Die die)
{
    Dwarf_Attribute a;
    uint32_t line = 0;
    if (dwarf_attr(die, DW_AT_call_line, &a, NULL) == DW_DLV_OK) {
        int64_t v = attr_int(a);
        line = v > 0 && v <= UINT32_MAX ? (uint32_t)v : 0;
        dwarf_dealloc(L->dbg, a, DW_DLA_ATTR);
    }
    if (!line)
        return;
    Dwarf_Addr lo, hi;
    Dwarf_Half form;
    enum Dwarf_Form_Class cls;
    if (dwarf_lowpc(die, &lo, NULL) == DW_DLV_OK &&
        dwarf_highpc_b(die, &hi, &form, &cls, NULL) == DW_DLV_OK) {
        struct dwinfo_inline in = {lo, cls == DW_FORM_CLASS_CONSTANT ? lo + hi : hi, line};
        if (in.hi > in.lo)
            VEC_PUSH(L->d->inlines, in);
        return;
    }
    if (L->version < 5 || dwarf_attr(die, DW_AT_ranges, &a, NULL) != DW_DLV_OK)
        return;
    Dwarf_Unsigned val = 0, n = 0, global;
    Dwarf_Off ref;
    Dwarf_Rnglists_Head head;
    int ok = dwarf_whatform(a, &form, NULL) == DW_DLV_OK;
    if (ok && form == DW_FORM_rnglistx)
        ok = dwarf_formudata(a, &val, NULL) == DW_DLV_OK;
    else if (ok && (ok = dwarf_global_formref(a, &ref, NULL) == DW_DLV_OK))
        val = ref;
    if (ok && dwarf_rnglists_get_rle_head(a, form, val, &head, &n, &global, NULL) == DW_DLV_OK) {
        for (Dwarf_Unsigned i = 0; i < n; i++) {
            unsigned len, code;
            Dwarf_Unsigned raw1, raw2, c1, c2;
            Dwarf_Bool unavailable = 0;
            if (dwarf_get_rnglists_entry_fields_a(head, i, &len, &code, &raw1, &raw2, &unavailable,
                                                  &c1, &c2, NULL) != DW_DLV_OK ||
                code == DW_RLE_end_of_list)
                break;
            if (unavailable || code == DW_RLE_base_address || code == DW_RLE_base_addressx ||
                c2 <= c1)
                continue;
            struct dwinfo_inline in = {c1, c2, line};
            VEC_PUSH(L->d->inlines, in);
        }
        dwarf_dealloc_rnglists_head(head);
    }
    dwarf_dealloc(L->dbg, a, DW_DLA_ATTR);
}

unsigned dwinfo_call_lines_at(const struct dwinfo *d, uint64_t addr, uint32_t *lines, unsigned max)
{
    uint64_t size[8];
    unsigned n = 0;
    if (max > 8)
        max = 8;
    for (size_t i = 0; i < d->inlines.n; i++) {
        const struct dwinfo_inline *in = &d->inlines.v[i];
        if (addr < in->lo || addr >= in->hi)
            continue;
        /* keep the max innermost (smallest) ranges, smallest first */
        uint64_t sz = in->hi - in->lo;
        unsigned k = n < max ? n++ : max;
        while (k > 0 && size[k - 1] > sz) {
            if (k < max) {
                size[k] = size[k - 1];
                lines[k] = lines[k - 1];
            }
            k--;
        }
        if (k < max) {
            size[k] = sz;
            lines[k] = in->call_line;
        }
    }
    return n;
}

static uint32_t walk(struct loader *L, Dwarf_Die die, uint32_t parent, uint32_t cu)
{
    struct dwinfo_node n = {.name = "",
                            .linkage = "",
                            .file = "",
                            .type = DWINFO_NONE,
                            .child = DWINFO_NONE,
                            .next = DWINFO_NONE,
                            .parent = parent,
                            .cu = cu};
    n.byte_size = n.bit_size = n.bit_offset = n.member_off = n.upper = n.count = n.value = -1;
    Dwarf_Half tag = 0;
    dwarf_tag(die, &tag, NULL);
    n.tag = tag;
    Dwarf_Off off = 0;
    dwarf_dieoffset(die, &off, NULL);
    n.off = off;
    uint64_t type_ref = UINT64_MAX, spec_ref = UINT64_MAX;
    read_attrs(L, die, &n, &type_ref, &spec_ref);
    if (tag == DW_TAG_inlined_subroutine)
        read_inline(L, die);
    uint32_t me = (uint32_t)L->d->nodes.n;
    VEC_PUSH(L->d->nodes, n);
    VEC_PUSH(L->type_refs, type_ref);
    VEC_PUSH(L->spec_refs, spec_ref);

    Dwarf_Die child = NULL, next;
    uint32_t prev = DWINFO_NONE;
    if (dwarf_child(die, &child, NULL) != DW_DLV_OK)
        return me;
    while (child) {
        uint32_t c = walk(L, child, me, cu);
        if (prev == DWINFO_NONE)
            L->d->nodes.v[me].child = c;
        else
            L->d->nodes.v[prev].next = c;
        prev = c;
        if (dwarf_siblingof_b(L->dbg, child, 1, &next, NULL) != DW_DLV_OK)
            next = NULL;
        dwarf_dealloc(L->dbg, child, DW_DLA_DIE);
        child = next;
    }
    return me;
}

static uint32_t node_at(const struct dwinfo *d, uint64_t off)
{
    size_t a = 0, b = d->nodes.n;
    while (a < b) {
        size_t m = (a + b) / 2;
        if (d->nodes.v[m].off < off)
            a = m + 1;
        else
            b = m;
    }
    return a < d->nodes.n && d->nodes.v[a].off == off ? (uint32_t)a : DWINFO_NONE;
}

static void resolve_refs(struct loader *L)
{
    struct dwinfo *d = L->d;
    assert(L->type_refs.n == d->nodes.n && L->spec_refs.n == d->nodes.n); /* one per node */
    for (size_t i = 0; i < d->nodes.n; i++)
        if (L->type_refs.v[i] != UINT64_MAX)
            d->nodes.v[i].type = node_at(d, L->type_refs.v[i]);
    /* A definition that refers to its declaration or abstract origin
     * inherits name, type and place from it. */
    for (size_t i = 0; i < d->nodes.n; i++) {
        if (L->spec_refs.v[i] == UINT64_MAX)
            continue;
        uint32_t s = node_at(d, L->spec_refs.v[i]);
        if (s == DWINFO_NONE)
            continue;
        struct dwinfo_node *n = &d->nodes.v[i], *o = &d->nodes.v[s];
        if (!*n->name)
            n->name = o->name;
        if (!*n->linkage)
            n->linkage = o->linkage;
        if (n->type == DWINFO_NONE)
            n->type = o->type;
        if (!*n->file) {
            n->file = o->file;
            n->line = o->line;
        }
        n->external |= o->external;
    }
}

/* Errors are reported by return codes; without a handler libdwarf aborts. */
/* Append the line table of one CU to d->rows. */
static void read_lines(struct dwinfo *d, Dwarf_Die cu_die)
{
    Dwarf_Unsigned version;
    Dwarf_Small count;
    Dwarf_Line_Context ctx;
    Dwarf_Line *lines;
    Dwarf_Signed n;
    if (dwarf_srclines_b(cu_die, &version, &count, &ctx, NULL) != DW_DLV_OK)
        return;
    if (dwarf_srclines_from_linecontext(ctx, &lines, &n, NULL) == DW_DLV_OK) {
        for (Dwarf_Signed i = 0; i < n; i++) {
            Dwarf_Addr a;
            Dwarf_Unsigned no = 0;
            Dwarf_Bool end = 0;
            if (dwarf_lineaddr(lines[i], &a, NULL) != DW_DLV_OK ||
                dwarf_lineendsequence(lines[i], &end, NULL) != DW_DLV_OK)
                continue;
            if (!end && dwarf_lineno(lines[i], &no, NULL) != DW_DLV_OK)
                continue;
            struct dwinfo_row r = {a, no > UINT32_MAX ? 0 : (uint32_t)no, end != 0,
                                   (uint32_t)(d->rows.n & 0x7fffffff)};
            VEC_PUSH(d->rows, r);
        }
    }
    dwarf_srclines_dealloc_b(ctx);
}

/* By address; at one address an end row first (the sequence before ends
 * where the next begins), then in table order (the last row wins). */
static int cmp_row(const void *a, const void *b)
{
    const struct dwinfo_row *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    if (x->end != y->end)
        return x->end ? -1 : 1;
    return x->ord < y->ord ? -1 : x->ord > y->ord;
}

uint32_t dwinfo_line_at(const struct dwinfo *d, uint64_t addr)
{
    size_t a = 0, b = d->rows.n;
    while (a < b) { /* first row above addr */
        size_t m = (a + b) / 2;
        if (d->rows.v[m].addr <= addr)
            a = m + 1;
        else
            b = m;
    }
    if (!a || d->rows.v[a - 1].end)
        return 0;
    return d->rows.v[a - 1].line;
}

static void ignore_error(Dwarf_Error e, Dwarf_Ptr arg)
{
    (void)e;
    (void)arg;
}

static int better(const struct dwinfo *d, uint32_t cand, uintptr_t old)
{
    return !old || (d->nodes.v[cand].has_location && !d->nodes.v[old - 1].has_location);
}

static void index_key(struct dwinfo *d, uint32_t node, const char *fn)
{
    const struct dwinfo_node *n = &d->nodes.v[node];
    const char *names[2] = {n->name, n->linkage};
    for (int k = 0; k < 2; k++) {
        if (!*names[k] || (k && !strcmp(names[0], names[1])))
            continue;
        char *key = xasprintf("%u:%u:%s%s%s", n->cu, n->tag, fn, *fn ? "::" : "", names[k]);
        uintptr_t old = (uintptr_t)strmap_get(&d->entities, key);
        if (better(d, node, old)) {
            strmap_set(&d->entities, key, (void *)(uintptr_t)(node + 1));
            if (!old) {
                VEC_PUSH(d->owned, key);
                continue;
            }
        }
        free(key);
    }
}

/* Variables of a function, lexical blocks included. */
static void index_scope(struct dwinfo *d, uint32_t scope, const char *fn)
{
    for (uint32_t c = d->nodes.v[scope].child; c != DWINFO_NONE; c = d->nodes.v[c].next) {
        if (d->nodes.v[c].tag == DW_TAG_variable)
            index_key(d, c, fn);
        else if (d->nodes.v[c].tag == DW_TAG_lexical_block)
            index_scope(d, c, fn);
    }
}

static void index_entities(struct dwinfo *d)
{
    for (size_t i = 0; i < d->cus.n; i++)
        for (uint32_t c = d->nodes.v[d->cus.v[i].root].child; c != DWINFO_NONE;
             c = d->nodes.v[c].next) {
            index_key(d, c, "");
            if (d->nodes.v[c].tag == DW_TAG_subprogram && *d->nodes.v[c].name)
                index_scope(d, c, d->nodes.v[c].name);
        }
}

struct dwinfo *dwinfo_load(int fd, const char *path, char *err, size_t errlen)
{
    struct loader L = {0};
    Dwarf_Error de = NULL;
    if (dwarf_init_b(fd, DW_DLC_READ, DW_GROUPNUMBER_ANY, ignore_error, NULL, &L.dbg, &de) !=
        DW_DLV_OK) {
        snprintf(err, errlen, "%s: no DWARF debug information (build with -g)", path);
        if (de)
            dwarf_dealloc(L.dbg, de, DW_DLA_ERROR);
        return NULL;
    }
    struct dwinfo *d = xcalloc(1, sizeof(*d));
    d->dbg = L.dbg;
    L.d = d;
    for (;;) {
        Dwarf_Unsigned next_cu;
        Dwarf_Half version = 0;
        Dwarf_Die cu_die = NULL;
        int rc = dwarf_next_cu_header_d(L.dbg, 1, NULL, &version, NULL, NULL, NULL, NULL, NULL,
                                        NULL, &next_cu, NULL, &de);
        if (rc != DW_DLV_OK)
            break;
        if (dwarf_siblingof_b(L.dbg, NULL, 1, &cu_die, &de) != DW_DLV_OK)
            continue;
        L.version = version;
        L.files = NULL;
        L.nfiles = 0;
        if (dwarf_srcfiles(cu_die, &L.files, &L.nfiles, NULL) != DW_DLV_OK)
            L.files = NULL;
        L.bases = L.files ? xcalloc((size_t)L.nfiles, sizeof(char *)) : NULL;
        for (Dwarf_Signed i = 0; L.files && i < L.nfiles; i++) {
            const char *b = strrchr(L.files[i], '/');
            char *copy = xstrdup(b ? b + 1 : L.files[i]);
            VEC_PUSH(d->owned, copy);
            L.bases[i] = copy;
        }
        read_lines(d, cu_die);
        uint32_t cu = (uint32_t)d->cus.n;
        uint32_t root = walk(&L, cu_die, DWINFO_NONE, cu);
        struct dwinfo_cu c = {d->nodes.v[root].name, d->nodes.v[root].linkage, root};
        d->nodes.v[root].linkage = "";
        VEC_PUSH(d->cus, c);
        if (L.files) {
            for (Dwarf_Signed i = 0; i < L.nfiles; i++)
                dwarf_dealloc(L.dbg, L.files[i], DW_DLA_STRING);
            dwarf_dealloc(L.dbg, L.files, DW_DLA_LIST);
        }
        free(L.bases);
        L.bases = NULL;
        dwarf_dealloc(L.dbg, cu_die, DW_DLA_DIE);
    }
    if (de)
        dwarf_dealloc(L.dbg, de, DW_DLA_ERROR);
    resolve_refs(&L);
    VEC_FREE(L.type_refs);
    VEC_FREE(L.spec_refs);
    if (!d->cus.n) { /* libdwarf accepts a file with only .eh_frame */
        snprintf(err, errlen, "%s: no DWARF debug information (build with -g)", path);
        dwinfo_free(d);
        return NULL;
    }
    if (d->rows.n)
        qsort(d->rows.v, d->rows.n, sizeof(d->rows.v[0]), cmp_row);
    index_entities(d);
    for (size_t i = 0; i < d->cus.n; i++) {
        const char *name = d->cus.v[i].name;
        strmap_put(&d->cu_by_name, name, (void *)(uintptr_t)(i + 1));
        const char *base = strrchr(name, '/');
        if (base)
            strmap_put(&d->cu_by_name, base + 1, (void *)(uintptr_t)(i + 1));
    }
    return d;
}

void dwinfo_free(struct dwinfo *d)
{
    if (!d)
        return;
    dwarf_finish((Dwarf_Debug)d->dbg, NULL);
    VEC_FREE(d->nodes);
    VEC_FREE(d->cus);
    VEC_FREE(d->rows);
    VEC_FREE(d->inlines);
    strmap_free(&d->cu_by_name);
    strmap_free(&d->entities);
    for (size_t i = 0; i < d->owned.n; i++)
        free(d->owned.v[i]);
    VEC_FREE(d->owned);
    free(d);
}

int dwinfo_cu_for(const struct dwinfo *d, const char *file)
{
    if (!d)
        return -1;
    uintptr_t v = (uintptr_t)strmap_get(&d->cu_by_name, file);
    if (!v) {
        const char *base = strrchr(file, '/');
        if (base)
            v = (uintptr_t)strmap_get(&d->cu_by_name, base + 1);
    }
    return v && strmap_count(&d->cu_by_name, file) <= 1 ? (int)v - 1 : -1;
}

uint32_t dwinfo_find(const struct dwinfo *d, int cu, uint16_t tag, const char *function,
                     const char *name)
{
    if (!d || cu < 0)
        return DWINFO_NONE;
    char key[1024];
    snprintf(key, sizeof(key), "%d:%u:%s%s%s", cu, tag, function, *function ? "::" : "", name);
    uintptr_t v = (uintptr_t)strmap_get(&d->entities, key);
    return v ? (uint32_t)(v - 1) : DWINFO_NONE;
}

uint64_t dwinfo_addr_of(const struct dwinfo *d, const char *cu_name, int is_var, const char *name)
{
    if (!d || strmap_count(&d->cu_by_name, cu_name) != 1)
        return 0;
    int cu = (int)(uintptr_t)strmap_get(&d->cu_by_name, cu_name) - 1;
    assert(cu >= 0 && (size_t)cu < d->cus.n); /* the map holds CU index + 1 */
    if (strcmp(d->cus.v[cu].name, cu_name))
        return 0; /* matched a basename, not the full path */
    uint32_t n = dwinfo_find(d, cu, is_var ? DW_TAG_variable : DW_TAG_subprogram, "", name);
    return n == DWINFO_NONE ? 0 : d->nodes.v[n].addr;
}

const char *dwinfo_where(const struct dwinfo *d, uint32_t i, char *buf, size_t len)
{
    buf[0] = 0;
    assert(!d || i == DWINFO_NONE || i < d->nodes.n);
    if (d && i != DWINFO_NONE && *d->nodes.v[i].file)
        snprintf(buf, len, "%s:%u", d->nodes.v[i].file, d->nodes.v[i].line);
    return buf;
}

/* The name a `typedef struct {...} NAME;` gives anonymous type t, or NULL:
 * the typedef sits beside the type, in the same scope. */
static const char *typedef_of(const struct dwinfo *d, uint32_t t)
{
    uint32_t p = d->nodes.v[t].parent;
    if (p == DWINFO_NONE)
        return NULL;
    for (uint32_t c = d->nodes.v[p].child; c != DWINFO_NONE; c = d->nodes.v[c].next)
        if (d->nodes.v[c].tag == DW_TAG_typedef && d->nodes.v[c].type == t && *d->nodes.v[c].name)
            return d->nodes.v[c].name;
    return NULL;
}

/* "struct NAME", or "NAME (anonymous struct)" after its typedef. */
static void tagged_name(const struct dwinfo *d, uint32_t t, const char *kind, char *buf, size_t len)
{
    const struct dwinfo_node *n = &d->nodes.v[t];
    const char *td = *n->name ? NULL : typedef_of(d, t);
    if (*n->name)
        snprintf(buf, len, "%s %s", kind, n->name);
    else if (td)
        snprintf(buf, len, "%s (anonymous %s)", td, kind);
    else
        snprintf(buf, len, "%s <anonymous>", kind);
}

const char *dwinfo_type_name(const struct dwinfo *d, uint32_t t, char *buf, size_t len)
{
    if (t == DWINFO_NONE) {
        snprintf(buf, len, "void");
        return buf;
    }
    const struct dwinfo_node *n = &d->nodes.v[t];
    char inner[256];
    switch (n->tag) {
    case DW_TAG_structure_type:
        tagged_name(d, t, "struct", buf, len);
        break;
    case DW_TAG_union_type:
        tagged_name(d, t, "union", buf, len);
        break;
    case DW_TAG_enumeration_type:
        tagged_name(d, t, "enum", buf, len);
        break;
    case DW_TAG_pointer_type:
        snprintf(buf, len, "%s *", dwinfo_type_name(d, n->type, inner, sizeof(inner)));
        break;
    case DW_TAG_const_type:
        snprintf(buf, len, "const %s", dwinfo_type_name(d, n->type, inner, sizeof(inner)));
        break;
    case DW_TAG_volatile_type:
        snprintf(buf, len, "volatile %s", dwinfo_type_name(d, n->type, inner, sizeof(inner)));
        break;
    case DW_TAG_array_type:
        snprintf(buf, len, "%s[]", dwinfo_type_name(d, n->type, inner, sizeof(inner)));
        break;
    case DW_TAG_subroutine_type:
        snprintf(buf, len, "%s (*)()", dwinfo_type_name(d, n->type, inner, sizeof(inner)));
        break;
    default:
        snprintf(buf, len, "%s", *n->name ? n->name : "<type>");
    }
    return buf;
}
