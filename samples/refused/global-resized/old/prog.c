/* global-resized (old): a 64-byte history buffer. */
#include <string.h>
#include <unistd.h>

char history[64];

void remember(const char *what)
{
    strncpy(history, what, sizeof history - 1);
}

int main(void)
{
    for (;;) {
        remember("tick");
        sleep(1);
    }
}
