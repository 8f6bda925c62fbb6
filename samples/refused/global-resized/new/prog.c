/* global-resized (new): the buffer grows to 128 bytes; the running process
 * only has 64, so the new code would write past it. */
#include <string.h>
#include <unistd.h>

char history[128];

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
