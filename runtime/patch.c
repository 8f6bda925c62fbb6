/* Placeholder: replaced by the runtime implementation (issue 5). */
#include "liblivepatch.h"
#include <stdio.h>
char *lp_hex(const uint8_t *bytes, size_t len, char *buf)
{
    for (size_t i = 0; i < len; i++)
        sprintf(buf + 2 * i, "%02x", bytes[i]);
    buf[2 * len] = 0;
    return buf;
}
