/* conv.h - libconv: unit conversions used by thermo. */
#ifndef CONV_H
#define CONV_H

int celsius_to_fahrenheit(int celsius);
const char *conv_version(void);

#endif
