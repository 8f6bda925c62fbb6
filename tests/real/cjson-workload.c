/*
 * cjson-workload.c - a long-running libcjson user for tests/real/cjson.bats.
 *
 *   cjson-workload --serve REQ_FIFO RESP_FIFO   parse, print and check
 *                                                documents forever; answer
 *                                                requests
 *   cjson-workload --probe NAME                  run one probe, print it
 *
 * The service loop parses a fixed set of documents (nested objects and
 * arrays, numbers, escaped strings, a syntax error), prints them back,
 * edits them through the API and checks every result.  Between batches it
 * reads request lines from REQ_FIFO without blocking: "status" or a probe
 * name.  A probe reproduces one of Debian's cJSON CVEs against whatever code
 * a live patch has put in place; its answer is one line on RESP_FIFO.  The
 * unfixed code of several CVEs dereferences NULL or reads past its buffer:
 * those probes run in a forked child (which inherits the patched code) and
 * report "crash SIGSEGV" instead of taking the service down.
 *
 * Built with libcjson_utils when CJSON_UTILS is defined (the upstream cmake
 * build has it; Debian's package does not).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "workload-service.h"

#include <cJSON.h>
#ifdef CJSON_UTILS
#include <cJSON_Utils.h>
#endif

static unsigned long documents, failures;

static void fail(const char *what)
{
    failures++;
    fprintf(stderr, "check failed: %s\n", what);
}

/* ---- the service's documents ---- */

static const char *const docs[] = {
    "{\"name\":\"livepatch\",\"tags\":[\"a\",\"b\\u00e9\",\"c\\n\"],\"n\":-12.5e3}",
    "[1,2,3,{\"deep\":[[[[[[[[[[true]]]]]]]]]]},null,false,\"x\"]",
    "{\"a\":{\"b\":{\"c\":{\"d\":[0.25,1e-7,123456789]}}}}",
};

static void check_roundtrip(const char *text)
{
    cJSON *doc = cJSON_Parse(text);
    if (!doc) {
        fail(text);
        return;
    }
    char *out = cJSON_PrintUnformatted(doc);
    cJSON *again = out ? cJSON_Parse(out) : NULL;
    if (!again || !cJSON_Compare(doc, again, 1))
        fail("print and parse again differs");
    free(out);
    cJSON_Delete(again);
    cJSON_Delete(doc);
}

static void check_edit(void)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "list");
    for (int i = 0; i < 20; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateNumber(i));
    /* At the head: Debian's CVE-2023-50471 fix refuses a new item (prev
     * NULL) anywhere else, a regression upstream fixed in 1.7.18. */
    cJSON_InsertItemInArray(arr, 0, cJSON_CreateString("first"));
    cJSON *s = cJSON_AddStringToObject(o, "s", "a longer string");
    if (!cJSON_SetValuestring(s, "short") || strcmp(s->valuestring, "short"))
        fail("cJSON_SetValuestring");
    if (cJSON_GetArraySize(arr) != 21 || strcmp(cJSON_GetArrayItem(arr, 0)->valuestring, "first"))
        fail("cJSON_InsertItemInArray");
    cJSON_Delete(o);
}

static void check_malformed(void)
{
    cJSON *bad = cJSON_Parse("{\"a\":[1,2,}");
    if (bad)
        fail("a syntax error was accepted");
    cJSON_Delete(bad);
}

static void batch(void)
{
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++)
        check_roundtrip(docs[i]);
    check_edit();
    check_malformed();
    documents += sizeof docs / sizeof docs[0] + 2;
}

/* ---- probes: reproducers of the CVEs ---- */

/* Run fn in a child; print what it printed, or how it died. */
static void in_child(FILE *out, void (*fn)(void))
{
    int pfd[2];
    if (pipe(pfd)) {
        fprintf(out, "pipe: %s\n", strerror(errno));
        return;
    }
    fflush(out);
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        dup2(pfd[1], 1);
        fn();
        fflush(stdout);
        _exit(0);
    }
    close(pfd[1]);
    char buf[200] = "";
    ssize_t n = pid > 0 ? read(pfd[0], buf, sizeof buf - 1) : -1;
    close(pfd[0]);
    buf[n > 0 ? n : 0] = '\0';
    int st = 0;
    if (pid > 0)
        waitpid(pid, &st, 0);
    if (pid < 0)
        fprintf(out, "fork: %s\n", strerror(errno));
    else if (WIFSIGNALED(st))
        fprintf(out, "crash SIG%s\n", sigabbrev_np(WTERMSIG(st)));
    else
        fprintf(out, "%s", n > 0 ? buf : "(nothing)\n");
}

/* CVE-2023-50471: cJSON_InsertItemInArray with a NULL item.  Unfixed, it
 * links NULL into the array: a NULL dereference.  Fixed: false. */
static void insert_null(void)
{
    cJSON *arr = cJSON_CreateArray();
    cJSON_AddItemToArray(arr, cJSON_CreateNumber(1));
    printf("returned %d\n", (int)cJSON_InsertItemInArray(arr, 0, NULL));
}

/* CVE-2023-50472: cJSON_SetValuestring on a NULL object. */
static void set_on_null(void)
{
    printf("returned %s\n", cJSON_SetValuestring(NULL, "x") ? "a string" : "NULL");
}

/* CVE-2024-31755: cJSON_SetValuestring with a NULL string. */
static void set_null_string(void)
{
    cJSON *s = cJSON_CreateString("abc");
    printf("returned %s\n", cJSON_SetValuestring(s, NULL) ? "a string" : "NULL");
}

/* CVE-2023-53154: an object whose text ends right after a comma, at the
 * end of a page followed by an inaccessible one.  Unfixed, parse_object
 * reads the byte after the buffer.  Fixed: a parse error. */
static void comma_at_end(void)
{
    static const char text[] = "{\"a\":1,";
    long page = sysconf(_SC_PAGESIZE);
    char *map =
        mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED || mprotect(map + page, (size_t)page, PROT_NONE)) {
        printf("mmap: %s\n", strerror(errno));
        return;
    }
    char *buf = map + page - (sizeof text - 1);
    memcpy(buf, text, sizeof text - 1);
    cJSON *doc = cJSON_ParseWithLength(buf, sizeof text - 1);
    printf("%s\n", doc ? "parsed" : "rejected");
    cJSON_Delete(doc);
}

/* CVE-2023-26819: a number of more than 63 characters.  Unfixed, it is cut
 * at 63 and the rest is a syntax error: a valid text is rejected.  Fixed:
 * parsed, with its value. */
static void probe_26819(FILE *out)
{
    char text[128] = "[1";
    for (int i = 0; i < 70; i++)
        strcat(text, "0");
    strcat(text, "]");
    cJSON *doc = cJSON_Parse(text);
    if (doc)
        fprintf(out, "parsed %.3g\n", cJSON_GetArrayItem(doc, 0)->valuedouble);
    else
        fprintf(out, "rejected\n");
    cJSON_Delete(doc);
}

#ifdef CJSON_UTILS
/* CVE-2025-57052: an array index with a non-digit, "/a/1A".  Unfixed, the
 * digit test looks at the first character only and "1A" is index 27.
 * Fixed: no such item. */
static void probe_57052(FILE *out)
{
    cJSON *root = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(root, "a");
    for (int i = 0; i < 30; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber(i));
    cJSON *got = cJSONUtils_GetPointer(root, "/a/1A");
    if (got)
        fprintf(out, "item %d\n", (int)got->valuedouble);
    else
        fprintf(out, "no item\n");
    cJSON_Delete(root);
}
#endif

static int probe(const char *name, FILE *out)
{
    if (strcmp(name, "cve-2023-50471") == 0)
        in_child(out, insert_null);
    else if (strcmp(name, "cve-2023-50472") == 0)
        in_child(out, set_on_null);
    else if (strcmp(name, "cve-2024-31755") == 0)
        in_child(out, set_null_string);
    else if (strcmp(name, "cve-2023-26819") == 0)
        probe_26819(out);
    else if (strcmp(name, "cve-2023-53154") == 0)
        in_child(out, comma_at_end);
#ifdef CJSON_UTILS
    else if (strcmp(name, "cve-2025-57052") == 0)
        probe_57052(out);
#endif
    else if (strcmp(name, "status") == 0)
        fprintf(out, "status %lu %lu\n", documents, failures);
    else if (strcmp(name, "version") == 0)
        fprintf(out, "%s\n", cJSON_Version());
    else {
        fprintf(out, "unknown request '%s'\n", name);
        return 2;
    }
    return 0;
}

/* ---- service ---- */

enum { IDLE_US = 2000 }; /* a service between requests */

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--serve") == 0)
        return workload_serve(argv[2], argv[3], batch, probe, IDLE_US);
    if (argc == 3 && strcmp(argv[1], "--probe") == 0) {
        batch();
        if (failures)
            return 1;
        return probe(argv[2], stdout);
    }
    fprintf(stderr, "usage: cjson-workload --serve REQ_FIFO RESP_FIFO | --probe NAME\n");
    return 2;
}
