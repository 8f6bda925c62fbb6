/*
 * lpcli.h - what the two commands, lpdiff and lpatch, share in what they
 * print for scripts: JSON strings.
 *
 * Both tools print names that come from outside (paths, symbols, a
 * process's comm) and need not be UTF-8.  JSON is written by jansson; this
 * module turns any byte string into a valid JSON string, keeping UTF-8 as
 * it is and replacing each byte that is not part of a valid sequence by
 * U+FFFD.  Defined once here, so both tools follow one rule.
 */
#ifndef LPCLI_H
#define LPCLI_H

#include <jansson.h>
#include <stdio.h>

/* A new JSON string for the bytes of s (NUL-terminated); NULL only when out
 * of memory. */
json_t *lpcli_json_bytes(const char *s);

/* s as a JSON string literal, quotes included, on f; 0, or -1 on a write or
 * memory error. */
int lpcli_json_print(FILE *f, const char *s);

#endif /* LPCLI_H */
