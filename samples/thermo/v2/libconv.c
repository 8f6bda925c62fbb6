/* libconv.c - unit conversions, shipped as libconv.so. */
#include "conv.h"

int celsius_to_fahrenheit(int celsius)
{
    /* v2: multiply first, then divide: integer 9 / 5 was 1 */
    return celsius * 9 / 5 + 32;
}

const char *conv_version(void)
{
    return "libconv 1";
}
