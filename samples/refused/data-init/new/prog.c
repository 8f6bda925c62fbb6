/* data-init (new): only the initializer changes.  The running process
 * initialised max_retries long ago (and may have changed it since): a patch
 * cannot change its value, so the differ must refuse rather than ignore it. */
#include <stdio.h>
#include <unistd.h>

int max_retries = 5;

int should_retry(int attempt)
{
    return attempt < max_retries;
}

int main(void)
{
    for (int i = 0;; i++) {
        printf("%d\n", should_retry(i % 5));
        sleep(1);
    }
}
