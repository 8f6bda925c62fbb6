/*
 * expat-workload.c - a long-running libexpat user for tests/real/expat.bats.
 *
 *   expat-workload --serve REQ_FIFO RESP_FIFO   parse and check documents
 *                                                forever; answer requests
 *   expat-workload --probe NAME                  run one probe, print it
 *
 * The service loop parses a fixed set of documents (many attributes,
 * internal entities, deep nesting, a well-formedness error, chunked input
 * through XML_GetBuffer/XML_ParseBuffer, a parse suspended and resumed from
 * a handler) and checks every result against what the document must give.
 * Between batches it reads request lines from REQ_FIFO without blocking:
 * "status" or a probe name.  A probe runs in this process, so against
 * whatever code a live patch has put in place; its answer is one line
 * written to RESP_FIFO.
 *
 * Compiled against the OLD build's expat.h: error codes added by a fix
 * (XML_ERROR_NOT_STARTED) are used by number.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <expat.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "workload-service.h"

/* Added by CVE-2024-50602's fix (expat 2.6.4); not in the OLD expat.h. */
enum { ERROR_NOT_STARTED = XML_ERROR_AMPLIFICATION_LIMIT_BREACH + 1 };

static unsigned long documents, failures;

static void fail(const char *doc, const char *fmt, ...)
{
    va_list ap;
    failures++;
    fprintf(stderr, "document %lu (%s): ", documents, doc);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* What the handlers saw in one document. */
struct seen {
    XML_Parser parser;
    int elements, attributes, depth, max_depth;
    long attr_sum; /* sum of the numbers in a<N>="v<N>" */
    char text[256];
    size_t text_len;
    int suspend_at_text; /* suspend the parser at the first character data */
};

static void on_start(void *data, const XML_Char *name, const XML_Char **atts)
{
    struct seen *s = data;
    (void)name;
    s->elements++;
    if (++s->depth > s->max_depth)
        s->max_depth = s->depth;
    for (int i = 0; atts[i]; i += 2) {
        s->attributes++;
        if (atts[i][0] == 'a' && atts[i + 1][0] == 'v' && strcmp(atts[i] + 1, atts[i + 1] + 1) == 0)
            s->attr_sum += atol(atts[i] + 1);
    }
}

static void on_end(void *data, const XML_Char *name)
{
    struct seen *s = data;
    (void)name;
    s->depth--;
}

static void on_text(void *data, const XML_Char *text, int len)
{
    struct seen *s = data;
    if (s->text_len + (size_t)len < sizeof s->text) {
        memcpy(s->text + s->text_len, text, (size_t)len);
        s->text_len += (size_t)len;
        s->text[s->text_len] = '\0';
    }
    if (s->suspend_at_text) {
        s->suspend_at_text = 0;
        if (XML_StopParser(s->parser, XML_TRUE) != XML_STATUS_OK)
            fail("suspend", "XML_StopParser while parsing: %s",
                 XML_ErrorString(XML_GetErrorCode(s->parser)));
    }
}

static XML_Parser new_parser(struct seen *s)
{
    memset(s, 0, sizeof *s);
    XML_Parser p = XML_ParserCreate(NULL);
    if (!p) {
        fputs("XML_ParserCreate failed\n", stderr);
        exit(1);
    }
    s->parser = p;
    XML_SetUserData(p, s);
    XML_SetElementHandler(p, on_start, on_end);
    XML_SetCharacterDataHandler(p, on_text);
    return p;
}

/* Documents built once at start. */
static char *doc_attrs, *doc_deep, *doc_chunked;
enum { N_ATTRS = 300, DEPTH = 2000 };

static char *build(size_t cap, void (*fill)(char *, size_t))
{
    char *buf = malloc(cap);
    if (!buf)
        exit(1);
    fill(buf, cap);
    return buf;
}

static void fill_attrs(char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "<r");
    for (int i = 0; i < N_ATTRS; i++)
        n += (size_t)snprintf(buf + n, cap - n, " a%d=\"v%d\"", i, i);
    snprintf(buf + n, cap - n, "/>");
}

static void fill_deep(char *buf, size_t cap)
{
    size_t n = 0;
    for (int i = 0; i < DEPTH; i++)
        n += (size_t)snprintf(buf + n, cap - n, "<d>");
    n += (size_t)snprintf(buf + n, cap - n, "x");
    for (int i = 0; i < DEPTH; i++)
        n += (size_t)snprintf(buf + n, cap - n, "</d>");
}

static void fill_chunked(char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "<list>");
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(buf + n, cap - n, "<item a%d='v%d'>t</item>", i, i);
    snprintf(buf + n, cap - n, "</list>");
}

static void check_attrs(void)
{
    struct seen s;
    XML_Parser p = new_parser(&s);
    if (XML_Parse(p, doc_attrs, (int)strlen(doc_attrs), XML_TRUE) != XML_STATUS_OK)
        fail("attrs", "%s", XML_ErrorString(XML_GetErrorCode(p)));
    else if (s.attributes != N_ATTRS || s.attr_sum != (long)N_ATTRS * (N_ATTRS - 1) / 2)
        fail("attrs", "%d attributes, sum %ld", s.attributes, s.attr_sum);
    XML_ParserFree(p);
}

static void check_entities(void)
{
    static const char doc[] = "<!DOCTYPE r [\n"
                              "  <!ENTITY e 'hello'>\n"
                              "  <!ENTITY f '&e; &e;'>\n"
                              "  <!ENTITY g '<b x=\"1\">&f;</b>'>\n"
                              "]>\n"
                              "<r>&g;&amp;&#65;&#x42;&lt;</r>";
    struct seen s;
    XML_Parser p = new_parser(&s);
    if (XML_Parse(p, doc, (int)strlen(doc), XML_TRUE) != XML_STATUS_OK)
        fail("entities", "%s", XML_ErrorString(XML_GetErrorCode(p)));
    else if (strcmp(s.text, "hello hello&AB<") != 0 || s.elements != 2 || s.attributes != 1)
        fail("entities", "text '%s', %d elements, %d attributes", s.text, s.elements, s.attributes);
    XML_ParserFree(p);
}

static void check_deep(void)
{
    struct seen s;
    XML_Parser p = new_parser(&s);
    if (XML_Parse(p, doc_deep, (int)strlen(doc_deep), XML_TRUE) != XML_STATUS_OK)
        fail("deep", "%s", XML_ErrorString(XML_GetErrorCode(p)));
    else if (s.max_depth != DEPTH || s.elements != DEPTH || s.depth != 0 ||
             strcmp(s.text, "x") != 0)
        fail("deep", "depth %d, %d elements", s.max_depth, s.elements);
    XML_ParserFree(p);
}

static void check_malformed(void)
{
    static const char doc[] = "<a><b>text</a>";
    struct seen s;
    XML_Parser p = new_parser(&s);
    if (XML_Parse(p, doc, (int)strlen(doc), XML_TRUE) != XML_STATUS_ERROR ||
        XML_GetErrorCode(p) != XML_ERROR_TAG_MISMATCH || XML_GetCurrentColumnNumber(p) != 12)
        fail("malformed", "error %d at column %lu", XML_GetErrorCode(p),
             XML_GetCurrentColumnNumber(p));
    XML_ParserFree(p);
}

/* Fed in 7-byte pieces through the parser's own buffer (XML_ParseBuffer). */
static void check_chunked(void)
{
    struct seen s;
    XML_Parser p = new_parser(&s);
    size_t len = strlen(doc_chunked);
    for (size_t off = 0; off < len; off += 7) {
        int n = (int)(len - off < 7 ? len - off : 7);
        void *buf = XML_GetBuffer(p, n);
        if (!buf) {
            fail("chunked", "XML_GetBuffer: %s", XML_ErrorString(XML_GetErrorCode(p)));
            break;
        }
        memcpy(buf, doc_chunked + off, (size_t)n);
        if (XML_ParseBuffer(p, n, off + (size_t)n >= len) != XML_STATUS_OK) {
            fail("chunked", "%s", XML_ErrorString(XML_GetErrorCode(p)));
            break;
        }
    }
    if (s.elements != 201 || s.attributes != 200 || s.attr_sum != 200L * 199 / 2)
        fail("chunked", "%d elements, %d attributes", s.elements, s.attributes);
    XML_ParserFree(p);
}

/* Suspended from a handler (XML_StopParser while parsing), then resumed. */
static void check_suspend(void)
{
    static const char doc[] = "<a><b>one</b><c/></a>";
    struct seen s;
    XML_Parser p = new_parser(&s);
    s.suspend_at_text = 1;
    enum XML_Status st = XML_Parse(p, doc, (int)strlen(doc), XML_TRUE);
    if (st != XML_STATUS_SUSPENDED || s.elements != 2)
        fail("suspend", "status %d after suspending, %d elements", st, s.elements);
    else if (XML_ResumeParser(p) != XML_STATUS_OK || s.elements != 3 || s.depth != 0)
        fail("suspend", "resume: %s, %d elements", XML_ErrorString(XML_GetErrorCode(p)),
             s.elements);
    XML_ParserFree(p);
}

static void batch(void)
{
    check_attrs();
    check_entities();
    check_deep();
    check_malformed();
    check_chunked();
    check_suspend();
    documents += 6;
}

/* ---- probes: reproducers of the CVEs, run in this process ---- */

static const char *str(const char *s)
{
    return s ? s : "(null)";
}

/* CVE-2024-45490: XML_ParseBuffer with a negative length.  Unfixed, it moves
 * the end of the buffer backwards; on an empty buffer that is harmless and
 * visible: the call succeeds.  Fixed: XML_ERROR_INVALID_ARGUMENT. */
static void probe_45490(FILE *out)
{
    XML_Parser p = XML_ParserCreate(NULL);
    if (!XML_GetBuffer(p, 64)) {
        fprintf(out, "XML_GetBuffer failed\n");
        XML_ParserFree(p);
        return;
    }
    enum XML_Status st = XML_ParseBuffer(p, -1, XML_FALSE);
    enum XML_Error e = XML_GetErrorCode(p);
    fprintf(out, "status=%d error=%d %s\n", st, e, str(XML_ErrorString(e)));
    XML_ParserFree(p);
}

/* CVE-2024-50602: XML_StopParser on a parser that has not started.  Unfixed,
 * it succeeds and marks the parser suspended, a state only a started parse
 * should reach (upstream's crash is in a following XML_ResumeParser; the
 * probe stops at the wrong state).  Fixed: XML_ERROR_NOT_STARTED, which
 * XML_ErrorString names only after the fix. */
static void probe_50602(FILE *out)
{
    XML_Parser p = XML_ParserCreate(NULL);
    enum XML_Status st = XML_StopParser(p, XML_TRUE);
    enum XML_Error e = XML_GetErrorCode(p);
    XML_ParsingStatus ps;
    XML_GetParsingStatus(p, &ps);
    fprintf(out, "status=%d error=%d parsing=%d string44=%s\n", st, e, ps.parsing,
            str(XML_ErrorString((enum XML_Error)ERROR_NOT_STARTED)));
    XML_ParserFree(p);
}

/* CVE-2024-8176: entities nested deep.  Unfixed, expat expands an entity
 * reference by recursion (processInternalEntity -> doContent -> ...), a few
 * hundred bytes of stack per level: deep enough, the stack overflows.
 * Fixed, it keeps a list of open entities and loops.  The parse runs in a
 * forked child (which has whatever code the parent has, live patch
 * included) on a thread with a small stack, so an overflow kills the child,
 * not the workload; the answer is how the child ended. */
enum { NEST_DEPTH = 20000, NEST_STACK = 1 << 20 };
static char *doc_nested;

static void fill_nested(char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "<!DOCTYPE r [\n<!ENTITY e0 'x'>\n");
    for (int i = 1; i <= NEST_DEPTH; i++)
        n += (size_t)snprintf(buf + n, cap - n, "<!ENTITY e%d '&e%d;'>\n", i, i - 1);
    snprintf(buf + n, cap - n, "]>\n<r>&e%d;</r>", NEST_DEPTH);
}

static void *parse_nested(void *arg)
{
    struct seen s;
    XML_Parser p = new_parser(&s);
    (void)arg;
    if (XML_Parse(p, doc_nested, (int)strlen(doc_nested), XML_TRUE) != XML_STATUS_OK)
        _exit(10 + (int)XML_GetErrorCode(p));
    _exit(strcmp(s.text, "x") == 0 && s.elements == 1 ? 0 : 9);
}

static void probe_8176(FILE *out)
{
    fflush(out);
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        pthread_attr_t attr;
        pthread_t t;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, NEST_STACK);
        if (pthread_create(&t, &attr, parse_nested, NULL) != 0)
            _exit(8);
        pthread_join(t, NULL);
        _exit(7);
    }
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid) {
        fprintf(out, "fork/wait failed: %s\n", strerror(errno));
        return;
    }
    fprintf(out, "depth=%d stack=%dKiB ", NEST_DEPTH, NEST_STACK >> 10);
    if (WIFSIGNALED(st))
        fprintf(out, "child killed by %s\n", strsignal(WTERMSIG(st)));
    else if (WEXITSTATUS(st) == 0)
        fprintf(out, "parsed text=x\n");
    else if (WEXITSTATUS(st) >= 10)
        fprintf(out, "error=%d\n", WEXITSTATUS(st) - 10);
    else
        fprintf(out, "child exit %d\n", WEXITSTATUS(st));
}

/* A parser kept between requests, fed one piece per request: an object
 * that exists across a live patch's apply or revert.  Its DTD declares
 * entities that the later pieces reference. */
static XML_Parser held;
static struct seen held_seen;

static void probe_held(const char *name, FILE *out)
{
    static const char *const pieces[] = {
        "<!DOCTYPE r [<!ENTITY f 'x'><!ENTITY e '[&f;]'>]><r>",
        "<a>&e;</a>",
        "<b>&e;</b></r>",
    };
    int i = strcmp(name, "hold-start") == 0 ? 0 : strcmp(name, "hold-more") == 0 ? 1 : 2;
    if ((i == 0) != (held == NULL)) {
        fprintf(out, "%s\n", held ? "a parser is held already" : "no parser held");
        return;
    }
    if (i == 0)
        held = new_parser(&held_seen);
    enum XML_Status st = XML_Parse(held, pieces[i], (int)strlen(pieces[i]), i == 2);
    fprintf(out, "status=%d elements=%d text=%s\n", st, held_seen.elements, held_seen.text);
    if (i == 2) {
        XML_ParserFree(held);
        held = NULL;
    }
}

static int probe(const char *name, FILE *out)
{
    if (strcmp(name, "cve-2024-45490") == 0)
        probe_45490(out);
    else if (strcmp(name, "cve-2024-50602") == 0)
        probe_50602(out);
    else if (strcmp(name, "cve-2024-8176") == 0)
        probe_8176(out);
    else if (strncmp(name, "hold-", 5) == 0)
        probe_held(name, out);
    else if (strcmp(name, "status") == 0)
        fprintf(out, "status %lu %lu\n", documents, failures);
    else if (strcmp(name, "version") == 0)
        fprintf(out, "%s\n", XML_ExpatVersion());
    else {
        fprintf(out, "unknown request '%s'\n", name);
        return 2;
    }
    return 0;
}

/* ---- service ---- */

/* Idle 3 ms between batches, as a service between requests: a process that
 * parses without pause has doContent (which every patch here replaces) on
 * its stack nearly always, and lpatch gives up after 20 tries. */
enum { IDLE_US = 3000 };

int main(int argc, char **argv)
{
    doc_attrs = build(16 * N_ATTRS + 16, fill_attrs);
    doc_deep = build(8 * DEPTH + 8, fill_deep);
    doc_chunked = build(32 * 200 + 32, fill_chunked);
    doc_nested = build(32 * (NEST_DEPTH + 2), fill_nested);
    if (argc == 4 && strcmp(argv[1], "--serve") == 0)
        return workload_serve(argv[2], argv[3], batch, probe, IDLE_US);
    if (argc == 3 && strcmp(argv[1], "--probe") == 0) {
        batch();
        if (failures)
            return 1;
        return probe(argv[2], stdout);
    }
    fprintf(stderr, "usage: expat-workload --serve REQ_FIFO RESP_FIFO | --probe NAME\n");
    return 2;
}
