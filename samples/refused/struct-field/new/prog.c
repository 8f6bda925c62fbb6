/* struct-field (new): struct session gains a field, so every session the
 * running process already has is too small for the new code. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

struct session {
    int id;
    int hits;
    long last_seen;
};

struct session sessions[8];

void record_hit(int id)
{
    sessions[id % 8].id = id;
    sessions[id % 8].hits++;
    sessions[id % 8].last_seen = time(NULL);
}

int main(void)
{
    for (int i = 0;; i++) {
        record_hit(i);
        sleep(1);
    }
}
