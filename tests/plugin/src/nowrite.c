/* Tables in writable storage: which of them the plugin proves are never
 * written (LPMETA_NOWRITE).  Names say what the code does with each. */
#include <string.h>

extern void ext(void *);

static char *read_only_loop[] = {"a", "b", 0};
static char *read_indexed[] = {"a", "b", 0};
static int never_written_int = 5;
static char *to_static_fn[] = {"a", "b", 0};
static char *stored_through[] = {"a", "b", 0};
static char *memcpy_target[] = {"a", "b", 0};
static char *in_initializer[] = {"a", "b", 0};
static char **holder = in_initializer;
static char *in_local_struct[] = {"a", "b", 0};
static char *returned[] = {"a", "b", 0};
static char *as_integer[] = {"a", "b", 0};
static char *assigned[] = {"a", "b", 0};
static int counter;
char *public_table[] = {"a", 0};

__attribute__((noinline)) static int len(char **q)
{
    int n = 0;
    while (q[n])
        n++;
    return n;
}

int count_loop(void)
{
    int n = 0;
    for (char **p = read_only_loop; *p; p++)
        n++;
    return n;
}

int first(int i) { return read_indexed[i][0] + never_written_int + len(to_static_fn); }
void store(char *x) { char **p = stored_through; p[1] = x; }
void copy(char **x) { memcpy(memcpy_target, x, sizeof(char *)); }
int via_holder(void) { return holder[0][0]; }
struct box { char **p; };
int boxed(void) { struct box b = {in_local_struct}; ext(&b); return b.p[0][0]; }
char **give(void) { return returned; }
unsigned long number(void) { return (unsigned long)as_integer; }
void set(char *x) { assigned[0] = x; }
int tick(void) { return ++counter + public_table[0][0]; }

#ifdef WITH_ASM
/* An asm statement may name any symbol: no proof for the unit at all. */
void barrier(void) { __asm__ volatile("" ::: "memory"); }
#endif
