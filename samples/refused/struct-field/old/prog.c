/* struct-field (old): sessions keep a hit count. */
#include <stdio.h>
#include <unistd.h>

struct session {
    int id;
    int hits;
};

struct session sessions[8];

void record_hit(int id)
{
    sessions[id % 8].id = id;
    sessions[id % 8].hits++;
}

int main(void)
{
    for (int i = 0;; i++) {
        record_hit(i);
        sleep(1);
    }
}
