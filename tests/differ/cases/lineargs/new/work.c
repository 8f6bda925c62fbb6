#include <stdio.h>

void log_at(const char *file, int line, const char *msg);
#define LOG(msg) log_at(__FILE__, __LINE__, msg)
/* Two lines added above every function:
   their __LINE__ arguments all move down by two. */

__attribute__((noinline)) int hot(int x)
{
    if (x < 0)
        LOG("negative");
    LOG("hot");
    return x * 2 + 1;
}

__attribute__((noinline)) int direct(int x)
{
    log_at(__FILE__,
           __LINE__, "direct, __LINE__ on the call's second line");
    return x + 3;
}

__attribute__((noinline)) int moved_and_changed(int x)
{
    LOG("moved");
    return x - 2;
}

__attribute__((noinline)) int literal(int x)
{
    log_at("literal", 40, "a constant that is its own line here");
    return x + 5;
}

/* Inlined: the call it makes carries the line it was called from. */
static inline __attribute__((always_inline)) void account(int line)
{
    log_at("account", line, "through an inlined function");
}

__attribute__((noinline)) int via_inline(int x)
{
    account(__LINE__);
    return x + 7;
}

void lp_probe(void)
{
    printf("%d %d %d %d %d\n", hot(3), direct(4), moved_and_changed(5), literal(6), via_inline(7));
}
