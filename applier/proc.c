/*
 * proc.c - reading a process through /proc: maps, threads, modules, memory.
 */
#include "proc.h"

#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE  4096ull
#define REACH ((1ull << 31) - (16ull << 20)) /* rel32 reach with slack */

/* A main thread gone with pthread_exit() is a zombie whose /proc entry
 * has no memory: read the process through a thread that lives. */
pid_t lpa_live_tid(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    int zombie = 0;
    if (f) {
        const char *p = fgets(buf, sizeof buf, f) ? strrchr(buf, ')') : NULL;
        zombie = p && p[1] && p[2] == 'Z';
        fclose(f);
    }
    if (!zombie)
        return pid;
    pid_t *tids, live = pid;
    size_t n;
    if (lpa_tids(pid, &tids, &n) != 0)
        return pid;
    for (size_t i = 0; i < n && live == pid; i++) {
        snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tids[i]);
        if (!(f = fopen(path, "re")))
            continue;
        const char *p = fgets(buf, sizeof buf, f) ? strrchr(buf, ')') : NULL;
        if (p && p[1] && p[2] != 'Z')
            live = tids[i];
        fclose(f);
    }
    free(tids);
    return live;
}

int lpa_maps_read(pid_t pid, struct lpa_maps *m, char *err)
{
    char path[64], line[4096 + 128];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)lpa_live_tid(pid));
    FILE *f = fopen(path, "re");
    if (!f) {
        lpa_err(err, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 0;
    m->v = NULL;
    m->n = 0;
    while (fgets(line, sizeof line, f)) {
        struct lpa_map mp = {0};
        unsigned long long s, e, off;
        int name_at = 0;
        if (sscanf(line, "%llx-%llx %4s %llx %*s %*s %n", &s, &e, mp.perms, &off, &name_at) < 4)
            continue;
        char *name = line + name_at;
        name[strcspn(name, "\n")] = 0;
        mp.start = s;
        mp.end = e;
        mp.offset = off;
        mp.path = strdup(name_at ? name : "");
        if (mp.path && m->n == cap) {
            struct lpa_map *v = realloc(m->v, (cap ? 2 * cap : 64) * sizeof *m->v);
            if (v) {
                m->v = v;
                cap = cap ? 2 * cap : 64;
            }
        }
        if (!mp.path || m->n == cap) {
            free(mp.path);
            fclose(f);
            lpa_maps_free(m);
            lpa_err(err, "%s: out of memory", path);
            return -1;
        }
        m->v[m->n++] = mp;
    }
    fclose(f);
    if (m->n == 0) {
        lpa_err(err, "%s: no mappings (process gone?)", path);
        return -1;
    }
    return 0;
}

void lpa_maps_free(struct lpa_maps *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->v[i].path);
    free(m->v);
    m->v = NULL;
    m->n = 0;
}

const struct lpa_map *lpa_maps_find(const struct lpa_maps *m, uint64_t addr)
{
    for (size_t i = 0; i < m->n; i++)
        if (addr >= m->v[i].start && addr < m->v[i].end)
            return &m->v[i];
    return NULL;
}

/* Room left above the heap for brk to grow into. */
#define HEAP_ROOM (1ull << 30)

/* The free span [*gs, *ge) between two mappings that may hold a patch:
 * never just below a stack (it grows down), and at least HEAP_ROOM above
 * the heap (brk grows up; below the libraries that is most of the address
 * space, so it cannot be left out).  0 if nothing of it is usable. */
static int usable_span(const struct lpa_map *below, const struct lpa_map *above, uint64_t *gs,
                       uint64_t *ge)
{
    if (above && strncmp(above->path, "[stack", 6) == 0)
        return 0;
    if (below && strcmp(below->path, "[heap]") == 0) {
        if (*ge - *gs <= HEAP_ROOM)
            return 0;
        *gs += HEAP_ROOM;
    }
    return *ge > *gs;
}

uint64_t lpa_maps_free_near(const struct lpa_maps *m, uint64_t lo, uint64_t hi, uint64_t size)
{
    uint64_t best = 0, best_dist = UINT64_MAX;
    for (size_t i = 0; i <= m->n; i++) {
        const struct lpa_map *below = i ? &m->v[i - 1] : NULL;
        const struct lpa_map *above = i < m->n ? &m->v[i] : NULL;
        uint64_t gs = below ? below->end : 0x10000;
        uint64_t ge = above ? above->start : 0x7ffffffff000ull;
        if (ge <= gs || !usable_span(below, above, &gs, &ge) || ge - gs < size + 2 * PAGE)
            continue;
        uint64_t cand, dist;
        if (ge <= lo) { /* below the module: take the top of the gap */
            cand = (ge - PAGE - size) & ~(PAGE - 1);
            if (hi - cand > REACH)
                continue;
            dist = lo - cand;
        } else if (gs >= hi) { /* above: take the bottom */
            cand = (gs + 2 * PAGE - 1) & ~(PAGE - 1);
            if (cand + size - lo > REACH)
                continue;
            dist = cand - hi;
        } else {
            continue; /* a gap inside the module's span (between its segments) */
        }
        if (dist < best_dist) {
            best = cand;
            best_dist = dist;
        }
    }
    return best;
}

int lpa_elf_identify(const char *path, struct lpa_module *mod, uint64_t *first_load_vaddr,
                     uint64_t *first_load_off, char *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        lpa_err(err, "%s: %s", path, strerror(errno));
        return -1;
    }
    elf_version(EV_CURRENT);
    Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    GElf_Ehdr eh;
    size_t nph = 0;
    int rc = -1, have_load = 0;
    if (!e || !gelf_getehdr(e, &eh) || elf_getphdrnum(e, &nph) != 0) {
        lpa_err(err, "%s: not an ELF file", path);
        goto out;
    }
    mod->is_exec = eh.e_type == ET_EXEC;
    mod->build_id_len = 0;
    mod->has_tls = 0;
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(e, (int)i, &ph))
            continue;
        if (ph.p_type == PT_LOAD && !have_load) {
            have_load = 1;
            *first_load_vaddr = ph.p_vaddr;
            *first_load_off = ph.p_offset;
        } else if (ph.p_type == PT_TLS) {
            mod->has_tls = 1;
            mod->tls_memsz = ph.p_memsz;
            mod->tls_align = ph.p_align ? ph.p_align : 1;
            mod->tls_vaddr = ph.p_vaddr;
        } else if (ph.p_type == PT_NOTE && !mod->build_id_len) {
            Elf_Data *d = elf_getdata_rawchunk(e, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_BYTE);
            if (d && d->d_buf)
                mod->build_id_len = (uint32_t)lp_notes_build_id(d->d_buf, d->d_size, mod->build_id);
        }
    }
    if (!have_load) {
        lpa_err(err, "%s: no PT_LOAD segment", path);
        goto out;
    }
    rc = 0;
out:
    if (e)
        elf_end(e);
    close(fd);
    return rc;
}

int lpa_modules(pid_t pid, const struct lpa_maps *m, struct lpa_module **out, size_t *n, char *err)
{
    char exe[4096] = "", link[64];
    pid_t live = lpa_live_tid(pid);
    snprintf(link, sizeof link, "/proc/%d/exe", (int)live);
    ssize_t l = readlink(link, exe, sizeof exe - 1);
    exe[l > 0 ? l : 0] = 0;

    *out = NULL;
    *n = 0;
    for (size_t i = 0; i < m->n; i++) {
        const struct lpa_map *mp = &m->v[i];
        if (mp->path[0] != '/' || strncmp(mp->path, "/memfd:", 7) == 0)
            continue;
        int seen = 0;
        for (size_t j = 0; j < *n && !seen; j++)
            if (strcmp((*out)[j].path, mp->path) == 0) {
                if (mp->end > (*out)[j].end)
                    (*out)[j].end = mp->end;
                seen = 1;
            }
        if (seen)
            continue;
        struct lpa_module mod = {0};
        snprintf(mod.path, sizeof mod.path, "%s", mp->path);
        snprintf(mod.open_path, sizeof mod.open_path, "/proc/%d/map_files/%llx-%llx", (int)live,
                 (unsigned long long)mp->start, (unsigned long long)mp->end);
        uint64_t lv = 0, lo = 0;
        char e2[512];
        if (lpa_elf_identify(mod.open_path, &mod, &lv, &lo, e2) != 0 &&
            lpa_elf_identify(mod.path, &mod, &lv, &lo, e2) != 0)
            continue; /* not ELF (a locale archive, a data file) */
        mod.base = mp->start;
        mod.end = mp->end;
        /* The lowest mapping maps file offset mp->offset, which belongs to the
         * first PT_LOAD (offset and vaddr congruent modulo the page size). */
        uint64_t link_addr = (lv & ~(PAGE - 1)) - (lo & ~(PAGE - 1)) + mp->offset;
        mod.load_bias = mp->start - link_addr;
        mod.is_main = exe[0] && strcmp(exe, mp->path) == 0;
        struct lpa_module *grown = realloc(*out, (*n + 1) * sizeof **out);
        if (!grown) {
            free(*out);
            *out = NULL;
            *n = 0;
            return lpa_err(err, "process %d: out of memory listing modules", (int)pid);
        }
        *out = grown;
        (*out)[(*n)++] = mod;
    }
    return 0;
}

int lpa_tids(pid_t pid, pid_t **tids, size_t *n)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    size_t cap = 16;
    pid_t *v = malloc(cap * sizeof *v);
    *tids = NULL;
    *n = 0;
    struct dirent *de;
    while (v && (de = readdir(d))) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        if (*n == cap) {
            pid_t *grown = realloc(v, (cap *= 2) * sizeof *v);
            if (!grown) {
                free(v);
                v = NULL;
                break;
            }
            v = grown;
        }
        v[(*n)++] = (pid_t)atoi(de->d_name);
    }
    closedir(d);
    if (!v) {
        *n = 0;
        errno = ENOMEM;
        return -1;
    }
    *tids = v;
    return 0;
}

int lpa_mem_open(pid_t pid, char *err)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", (int)lpa_live_tid(pid));
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        lpa_err(err, "%s: %s", path, strerror(errno));
    return fd;
}

int lpa_mem_read(int fd, uint64_t addr, void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t r = pread(fd, (char *)buf + done, len - done, (off_t)(addr + done));
        if (r <= 0) {
            if (r == 0)
                errno = EIO;
            return -1;
        }
        done += (size_t)r;
    }
    return 0;
}

int lpa_mem_write(int fd, uint64_t addr, const void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t r = pwrite(fd, (const char *)buf + done, len - done, (off_t)(addr + done));
        if (r <= 0) {
            if (r == 0)
                errno = EIO;
            return -1;
        }
        done += (size_t)r;
    }
    return 0;
}

void lpa_comm(pid_t pid, char *buf, size_t len)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
    FILE *f = fopen(path, "re");
    buf[0] = 0;
    if (f) {
        if (fgets(buf, (int)len, f))
            buf[strcspn(buf, "\n")] = 0;
        fclose(f);
    }
}

int lpa_err(char *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, 512, fmt, ap);
    va_end(ap);
    return -1;
}
