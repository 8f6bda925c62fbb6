/* proto.c - parse one request line, run it, format the reply. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"

static size_t reply_value(char *reply, size_t size, const char *val, size_t len)
{
    int head = snprintf(reply, size, "VALUE ");
    if (len > size - head - 2)
        len = size - head - 2;
    memcpy(reply + head, val, len);
    reply[head + len] = '\n';
    return head + len + 1;
}

/* Next space-separated word of *line, NULL if none. */
static char *word(char **line)
{
    char *w = *line;
    while (*w == ' ')
        w++;
    if (!*w)
        return NULL;
    char *end = w + strcspn(w, " ");
    if (*end)
        *end++ = '\0';
    *line = end;
    return w;
}

static int number(const char *s, size_t *out)
{
    char *end;
    if (!s || !*s)
        return -1;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || v > 1u << 20)
        return -1;
    *out = v;
    return 0;
}

size_t kv_handle(char *line, char *reply, size_t size)
{
    char val[KV_VAL_MAX];
    size_t len, off, n;
    char *cmd = word(&line);
    char *key = word(&line);

    if (!cmd)
        return snprintf(reply, size, "ERR empty request\n");
    if (!strcmp(cmd, "PING"))
        return snprintf(reply, size, "PONG\n");
    if (!key)
        return snprintf(reply, size, "ERR %s needs a key\n", cmd);
    /* v3: a longer key would be cut by the store and collide with another */
    if (strlen(key) >= KV_KEY_MAX)
        return snprintf(reply, size, "ERR key too long\n");
    if (!strcmp(cmd, "SET")) {
        char *v = word(&line);
        if (!v)
            return snprintf(reply, size, "ERR SET needs a value\n");
        switch (kv_set(key, v, strlen(v))) {
        case 0:
            return snprintf(reply, size, "OK\n");
        case -2:
            return snprintf(reply, size, "ERR value too long\n");
        default:
            return snprintf(reply, size, "ERR store full\n");
        }
    }
    if (!strcmp(cmd, "GET") || !strcmp(cmd, "LEN")) {
        if (kv_get(key, val, &len) < 0)
            return snprintf(reply, size, "NOT_FOUND\n");
        if (cmd[0] == 'L')
            return snprintf(reply, size, "LEN %zu\n", len);
        return reply_value(reply, size, val, len);
    }
    if (!strcmp(cmd, "GETRANGE")) {
        if (number(word(&line), &off) < 0 || number(word(&line), &n) < 0)
            return snprintf(reply, size, "ERR GETRANGE needs key offset count\n");
        switch (kv_range(key, off, n, val, &len)) {
        case 0:
            return reply_value(reply, size, val, len);
        case -2:
            return snprintf(reply, size, "ERR range out of bounds\n");
        default:
            return snprintf(reply, size, "NOT_FOUND\n");
        }
    }
    return snprintf(reply, size, "ERR unknown command %.20s\n", cmd);
}
