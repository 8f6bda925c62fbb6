/* data-init (old): a writable global with an initial value. */
#include <stdio.h>
#include <unistd.h>

int max_retries = 3;

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
