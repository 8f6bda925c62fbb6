/*
 * hooks.c - a patch's hook file (`lpdiff --hooks FILE`): compiled, loaded
 * with the in-target hook runtime (runtime/hooks/, installed as
 * livepatch-hooks.o) as the units of a third side, and read for what it
 * declares (runtime/livepatch-hooks.h): its callbacks (LP_HOOK_DECL_SECTION)
 * and the added struct members it handles with shadow variables
 * (LP_SHADOW_DECL_SECTION).
 *
 * What the hook side means for the other stages:
 *   - emit.c binds every undefined name of the patch's code that the hook
 *     side defines (lp_shadow_get, the author's helpers) to the hook side's
 *     copy, which travels in the patch; the hook code's own undefined names
 *     resolve like any NEW code's (the program's functions and globals);
 *   - emit.c writes the patch's hook table (lpatch_format.h) when the patch
 *     has a hook file or its code calls into the runtime;
 *   - typecheck.c does not refuse a member added to a struct when the hook
 *     file declares it handled, provided no other member moves.
 * A hook file is compiled with $LPDIFF_CC (default gcc), position
 * independent, with the directory of livepatch-hooks.h on the include path
 * and the author's --hooks-cflags; an object file (.o) is taken as it is.
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "differ.h"
#include "hooks.h"
#include "livepatch-hooks.h"

extern char **environ;

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The hook runtime object and the directory of livepatch-hooks.h: from
 * $LIVEPATCH_HOOKS_DIR (both in one directory), else beside lpdiff as
 * installed (PREFIX/lib/livepatch, PREFIX/include/livepatch) or as built
 * (build/lib, build/include/runtime; the sanitizer build one level down). */
static int find_kit(char **obj, char **inc, char *err, size_t errlen)
{
    const char *env = getenv("LIVEPATCH_HOOKS_DIR");
    if (env && *env) {
        *obj = xasprintf("%s/livepatch-hooks.o", env);
        *inc = xstrdup(env);
        char *h = xasprintf("%s/livepatch-hooks.h", env);
        int ok = is_file(*obj) && is_file(h);
        free(h);
        if (ok)
            return 0;
        snprintf(err, errlen,
                 "LIVEPATCH_HOOKS_DIR=%s: livepatch-hooks.o and livepatch-hooks.h not both there",
                 env);
        free(*obj);
        free(*inc);
        *obj = *inc = NULL;
        return -1;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) {
        snprintf(err, errlen, "cannot find lpdiff's own path: %s", strerror(errno));
        return -1;
    }
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    assert(slash); /* the kernel gives an absolute path */
    *slash = 0;
    static const char *const kits[][2] = {
        {"../lib/livepatch/livepatch-hooks.o", "../include/livepatch"},
        {"../lib/livepatch-hooks.o", "../include/runtime"},
        {"../../lib/livepatch-hooks.o", "../../include/runtime"},
    };
    for (size_t i = 0; i < sizeof(kits) / sizeof(kits[0]); i++) {
        char *o = xasprintf("%s/%s", exe, kits[i][0]);
        char *h = xasprintf("%s/%s/livepatch-hooks.h", exe, kits[i][1]);
        int ok = is_file(o) && is_file(h);
        free(h);
        if (ok) {
            *obj = o;
            *inc = xasprintf("%s/%s", exe, kits[i][1]);
            return 0;
        }
        free(o);
    }
    snprintf(err, errlen,
             "the hook runtime (livepatch-hooks.o) is not installed beside %s/lpdiff; "
             "set LIVEPATCH_HOOKS_DIR",
             exe);
    return -1;
}

/* Run argv; 0 if it exits 0.  Its output goes to our stderr. */
static int run_cmd(char **argv, char *err, size_t errlen)
{
    pid_t pid;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, 2, 1);
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc) {
        snprintf(err, errlen, "cannot run %s: %s", argv[0], strerror(rc));
        return -1;
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) {
            snprintf(err, errlen, "waiting for %s: %s", argv[0], strerror(errno));
            return -1;
        }
    if (!WIFEXITED(st) || WEXITSTATUS(st)) {
        snprintf(err, errlen, "%s failed (%s %d)", argv[0],
                 WIFEXITED(st) ? "exit status" : "signal",
                 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
        return -1;
    }
    return 0;
}

static int compile(struct hooks *h, const char *src, const char *inc, char **out, char *err,
                   size_t errlen)
{
    const char *tmp = getenv("TMPDIR");
    char *dir = xasprintf("%s/lpdiff-hooks.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        snprintf(err, errlen, "--hooks: cannot make a directory %s: %s", dir, strerror(errno));
        free(dir);
        return -1;
    }
    h->tmpdir = dir;
    *out = xasprintf("%s/hooks.o", dir);
    const char *cc = getenv("LPDIFF_CC");
    VEC(char *) argv = {0};
    VEC(char *) owned = {0};
    VEC_PUSH(argv, (char *)(cc && *cc ? cc : "gcc"));
    static const char *const fixed[] = {"-c",
                                        "-O2",
                                        "-g",
                                        "-fPIC",
                                        "-fno-stack-protector",
                                        "-fno-common",
                                        "-ffunction-sections",
                                        "-fdata-sections"};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        VEC_PUSH(argv, (char *)fixed[i]);
    char *iflag = xasprintf("-I%s", inc);
    VEC_PUSH(owned, iflag);
    VEC_PUSH(argv, iflag);
    if (h->cflags) { /* words separated by blanks, no quoting */
        char *copy = xstrdup(h->cflags);
        VEC_PUSH(owned, copy);
        for (char *w = strtok(copy, " \t\n"); w; w = strtok(NULL, " \t\n"))
            VEC_PUSH(argv, w);
    }
    VEC_PUSH(argv, (char *)src);
    VEC_PUSH(argv, (char *)"-o");
    VEC_PUSH(argv, *out);
    VEC_PUSH(argv, (char *)NULL);
    char cerr[512];
    int rc = run_cmd(argv.v, cerr, sizeof(cerr));
    if (rc)
        snprintf(err, errlen, "--hooks %s: compiling it: %s", src, cerr);
    for (size_t i = 0; i < owned.n; i++)
        free(owned.v[i]);
    VEC_FREE(owned);
    VEC_FREE(argv);
    return rc;
}

/* Callback declarations: 16-byte struct lp_hook_decl entries, fn by a
 * relocation at offset 8. */
static int read_decls(struct hooks *h, struct unit *u, char *err, size_t errlen)
{
    const struct elfobj_sec *s = elfobj_section_by_name(u->obj, LP_HOOK_DECL_SECTION);
    if (!s)
        return 0;
    if (!s->data || s->size % sizeof(struct lp_hook_decl)) {
        snprintf(err, errlen, "%s: %s: not a whole number of declarations", h->file,
                 LP_HOOK_DECL_SECTION);
        return -1;
    }
    size_t sec = (size_t)(s - u->obj->secs);
    for (uint64_t off = 0; off < s->size; off += sizeof(struct lp_hook_decl)) {
        struct lp_hook_decl d;
        memcpy(&d, s->data + off, sizeof(d));
        size_t n, first = elfobj_relas_in(s, off + 8, off + 16, &n);
        if (d.kind < LP_HOOK_PRE_APPLY || d.kind > LP_HOOK_POST_REVERT || n != 1 ||
            s->relas[first].type != R_X86_64_64 || s->relas[first].off != off + 8) {
            snprintf(err, errlen, "%s:%u: a callback declaration lpdiff cannot read", h->file,
                     d.line);
            return -1;
        }
        struct hooks_decl *prev = &h->decl[d.kind];
        if (prev->unit) {
            snprintf(err, errlen, "%s:%u: a second %s callback (the first is at line %u)", h->file,
                     d.line, hooks_kind_name(d.kind), prev->line);
            return -1;
        }
        prev->unit = u;
        prev->sec = sec;
        prev->rela = first;
        prev->line = d.line;
    }
    return 0;
}

static int read_members(struct hooks *h, struct unit *u, char *err, size_t errlen)
{
    const struct elfobj_sec *s = elfobj_section_by_name(u->obj, LP_SHADOW_DECL_SECTION);
    if (!s)
        return 0;
    if (!s->data || !s->size || s->data[s->size - 1]) {
        snprintf(err, errlen, "%s: %s: not NUL-terminated strings", h->file,
                 LP_SHADOW_DECL_SECTION);
        return -1;
    }
    for (uint64_t off = 0; off < s->size; off += strlen((const char *)s->data + off) + 1) {
        const char *str = (const char *)s->data + off;
        if (!*str)
            continue; /* alignment padding between strings */
        const char *dot = strrchr(str, '.');
        if (!dot || dot == str || !dot[1]) {
            snprintf(err, errlen, "%s: LP_SHADOW_MEMBER(%s): expected TYPE, MEMBER", h->file, str);
            return -1;
        }
        VEC_PUSH(h->members, xstrdup(str));
    }
    return 0;
}

const char *hooks_kind_name(unsigned kind)
{
    switch (kind) {
    case LP_HOOK_PRE_APPLY:
        return "LP_PRE_APPLY";
    case LP_HOOK_POST_APPLY:
        return "LP_POST_APPLY";
    case LP_HOOK_PRE_REVERT:
        return "LP_PRE_REVERT";
    case LP_HOOK_POST_REVERT:
        return "LP_POST_REVERT";
    }
    return "?";
}

int hooks_load(struct hooks *h, char *err, size_t errlen)
{
    char *obj = NULL, *inc = NULL, *hook_obj = NULL;
    h->side.label = "hooks";
    int rc = find_kit(&obj, &inc, err, errlen);
    if (!rc && h->file) {
        size_t n = strlen(h->file);
        if (n > 2 && !strcmp(h->file + n - 2, ".o"))
            hook_obj = xstrdup(h->file);
        else if (!is_file(h->file)) {
            snprintf(err, errlen, "--hooks %s: %s", h->file, strerror(errno ? errno : ENOENT));
            rc = -1;
        } else
            rc = compile(h, h->file, inc, &hook_obj, err, errlen);
    }
    if (!rc && hook_obj) {
        rc = build_load_extra(&h->side, hook_obj, err, errlen);
        if (!rc) {
            h->hook_unit = h->side.units.v[h->side.units.n - 1];
            rc = read_decls(h, h->hook_unit, err, errlen);
        }
        if (!rc)
            rc = read_members(h, h->hook_unit, err, errlen);
    }
    if (!rc)
        rc = build_load_extra(&h->side, obj, err, errlen);
    if (!rc)
        h->loaded = 1;
    free(hook_obj);
    free(obj);
    free(inc);
    return rc;
}

int hooks_handles(const struct hooks *h, const char *type, const char *type_tag, const char *member)
{
    for (size_t i = 0; i < h->members.n; i++) {
        const char *m = h->members.v[i];
        const char *dot = strrchr(m, '.');
        size_t tl = (size_t)(dot - m);
        if (strcmp(dot + 1, member))
            continue;
        /* "ENTITY (anonymous struct)": a typedef of an untagged struct is
         * named by the typedef. */
        const char *paren = strstr(type, " (anonymous ");
        size_t nl = paren ? (size_t)(paren - type) : strlen(type);
        if ((nl == tl && !strncmp(m, type, tl)) ||
            (*type_tag && strlen(type_tag) == tl && !strncmp(m, type_tag, tl)))
            return 1;
    }
    return 0;
}

void hooks_note(struct hooks *h, struct report *rep, const char *note)
{
    if (strmap_get(&h->noted, note))
        return;
    char *k = xstrdup(note);
    VEC_PUSH(h->side.owned, k);
    strmap_put(&h->noted, k, k);
    report_note(rep, "%s", note);
}

void hooks_free(struct hooks *h)
{
    strmap_free(&h->noted);
    build_free(&h->side);
    for (size_t i = 0; i < h->members.n; i++)
        free(h->members.v[i]);
    VEC_FREE(h->members);
    if (h->tmpdir) {
        char *o = xasprintf("%s/hooks.o", h->tmpdir);
        unlink(o);
        free(o);
        rmdir(h->tmpdir);
        free(h->tmpdir);
    }
}
