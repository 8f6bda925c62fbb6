/*
 * list.c - `lpdiff --list` and `lpdiff --units`: print what the plugin
 * recorded, sorted so that two builds can be compared with diff(1).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lpdiff.h"
#include "lpmeta_read.h"

enum list_what { LIST_FUNCS, LIST_UNITS, LIST_LINKS, LIST_STATICS, LIST_NOWRITE, LIST_ANONS };

static const char usage[] =
    "usage: lpdiff --list [-v] [--links|--statics|--nowrite|--anons] FILE...\n"
    "       lpdiff --units FILE...\n"
    "\n"
    "Print the livepatch records of object files, ar archives of them, executables\n"
    "or shared libraries.\n"
    "  --list       one line per function: name<TAB>hash<TAB>flags, sorted by name;\n"
    "               flags are comma-separated words (patchable, excluded, local, cold,\n"
    "               clone, ctor, dtor, noreturn) or '-'\n"
    "  -v, --verbose  --list adds address, pad bytes, entry offset and origin columns\n"
    "  --links      --list prints inline/clone/cold links: type<TAB>from<TAB>to\n"
    "  --statics    --list prints function-scope statics: stable-name<TAB>asm-name\n"
    "  --nowrite    --list prints writable tables the plugin proved are never written\n"
    "               (carried in a patch like read-only data): asm-name\n"
    "  --anons      --list prints the anonymous constants functions refer to:\n"
    "               function<TAB>section-index<TAB>address<TAB>size (index 0: linked)\n"
    "  --units      one line per compilation unit: source<TAB>gcc-version<TAB>format<TAB>options\n"
    "\n"
    "Exit status: 0 records printed, 1 a file has no livepatch records (built without\n"
    "the plugin), 2 usage error or unreadable/corrupt file.\n";

struct row {
    char *line; /* sorted whole: name first, ties broken by the rest */
};

struct rows {
    struct row *v;
    size_t n, cap;
};

static int add_row(struct rows *r, char *line)
{
    if (r->n == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 256;
        struct row *p = realloc(r->v, ncap * sizeof(*p));
        if (!p)
            return -1;
        r->v = p;
        r->cap = ncap;
    }
    r->v[r->n].line = line;
    r->n++;
    return 0;
}

static int cmp_row(const void *a, const void *b)
{
    return strcmp(((const struct row *)a)->line, ((const struct row *)b)->line);
}

static void format_flags(uint32_t flags, char *buf, size_t len)
{
    static const char *const words[] = {"patchable", "excluded", "local", "cold",
                                        "clone",     "ctor",     "dtor",  "noreturn"};
    size_t used = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (!(flags & (1u << i)))
            continue;
        int n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", words[i]);
        if (n < 0 || (size_t)n >= len - used)
            break;
        used += (size_t)n;
    }
    if (!used)
        snprintf(buf, len, "-");
}

static const char *link_type_name(uint32_t type)
{
    switch (type) {
    case LPMETA_LINK_INLINE:
        return "inline";
    case LPMETA_LINK_CLONE:
        return "clone";
    case LPMETA_LINK_COLD:
        return "cold";
    default:
        return "unknown";
    }
}

static int collect(const struct lpm_module *m, enum list_what what, int verbose, struct rows *rows)
{
    char *line = NULL;
    switch (what) {
    case LIST_FUNCS:
        for (size_t i = 0; i < m->nfuncs; i++) {
            const struct lpm_func *f = &m->funcs[i];
            char hex[33], flags[128];
            for (int k = 0; k < 16; k++)
                sprintf(hex + 2 * k, "%02x", f->hash[k]);
            format_flags(f->flags, flags, sizeof(flags));
            int rc = verbose ? asprintf(&line, "%s\t%s\t%s\t0x%llx\t%u\t%u\t%s", f->name, hex,
                                        flags, (unsigned long long)f->addr, f->prepad, f->entry_off,
                                        *f->origin ? f->origin : "-")
                             : asprintf(&line, "%s\t%s\t%s", f->name, hex, flags);
            if (rc < 0 || add_row(rows, line))
                return -1;
        }
        break;
    case LIST_UNITS:
        for (size_t i = 0; i < m->nunits; i++) {
            const struct lpm_unit *u = &m->units[i];
            if (asprintf(&line, "%s\t%s\t%u\t%s", u->source, u->gcc_version, u->format_version,
                         u->options) < 0 ||
                add_row(rows, line))
                return -1;
        }
        break;
    case LIST_LINKS:
        for (size_t i = 0; i < m->nlinks; i++) {
            const struct lpm_link *l = &m->links[i];
            if (asprintf(&line, "%s\t%s\t%s", link_type_name(l->type), l->from, l->to) < 0 ||
                add_row(rows, line))
                return -1;
        }
        break;
    case LIST_STATICS:
        for (size_t i = 0; i < m->nstatics; i++) {
            const struct lpm_static *s = &m->statics[i];
            if (asprintf(&line, "%s\t%s", s->stable_name, s->asm_name) < 0 || add_row(rows, line))
                return -1;
        }
        break;
    case LIST_NOWRITE:
        for (size_t i = 0; i < m->nnowrites; i++)
            if (asprintf(&line, "%s", m->nowrites[i].asm_name) < 0 || add_row(rows, line))
                return -1;
        break;
    case LIST_ANONS:
        for (size_t i = 0; i < m->nanons; i++) {
            const struct lpm_anon *a = &m->anons[i];
            if (asprintf(&line, "%s\t%u\t0x%llx\t%llu", a->user, a->shndx,
                         (unsigned long long)a->addr, (unsigned long long)a->size) < 0 ||
                add_row(rows, line))
                return -1;
        }
        break;
    }
    return 0;
}

int list_main(int argc, char **argv)
{
    enum list_what what = strcmp(argv[0], "--units") ? LIST_FUNCS : LIST_UNITS;
    int verbose = 0;
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"verbose", no_argument, NULL, 'v'},
        {"links", no_argument, NULL, 'L'},
        {"statics", no_argument, NULL, 'S'},
        {"nowrite", no_argument, NULL, 'N'},
        {"anons", no_argument, NULL, 'A'},
        {"list", no_argument, NULL, 'l'},
        {"units", no_argument, NULL, 'u'},
        {NULL, 0, NULL, 0},
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(usage, stdout);
            return 0;
        case 'v':
            verbose = 1;
            break;
        case 'L':
            what = LIST_LINKS;
            break;
        case 'S':
            what = LIST_STATICS;
            break;
        case 'N':
            what = LIST_NOWRITE;
            break;
        case 'A':
            what = LIST_ANONS;
            break;
        case 'l':
            break;
        case 'u':
            what = LIST_UNITS;
            break;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "lpdiff: %s needs at least one FILE\n", argv[0]);
        fputs(usage, stderr);
        return 2;
    }

    struct rows rows = {0};
    int status = 0;
    for (int i = optind; i < argc; i++) {
        struct lpm_module *m;
        char err[LPM_ERR_MAX];
        if (lpm_read(argv[i], &m, err)) {
            fprintf(stderr, "lpdiff: %s\n", err);
            status = 2;
            continue;
        }
        if (!m->nfuncs && !m->nunits) {
            fprintf(stderr,
                    "lpdiff: %s: no livepatch records (not built with -fplugin=livepatch)\n",
                    argv[i]);
            if (!status)
                status = 1;
        } else if (collect(m, what, verbose, &rows)) {
            fprintf(stderr, "lpdiff: out of memory\n");
            status = 2;
        }
        lpm_free(m);
    }
    if (rows.n)
        qsort(rows.v, rows.n, sizeof(*rows.v), cmp_row);
    for (size_t i = 0; i < rows.n; i++) {
        puts(rows.v[i].line);
        free(rows.v[i].line);
    }
    free(rows.v);
    return status;
}
