/* libconv.c - unit conversions, shipped as libconv.so. */
#include "conv.h"

int celsius_to_fahrenheit(int celsius)
{
    /* BUG: 9 / 5 is integer division, so this multiplies by 1 */
    return celsius * (9 / 5) + 32;
}

const char *conv_version(void)
{
    return "libconv 1";
}
