/* A post-apply callback that crashes: the patch must come out again. */
#include "livepatch-hooks.h"

struct conn {
    int id;
    int hits;
    int bonus;
};
LP_SHADOW_MEMBER(struct conn, bonus);

static void free_bonus(void)
{
    lp_shadow_free_all(1, NULL);
}
LP_POST_REVERT(free_bonus);

static void boom(void)
{
    *(volatile int *)16 = 1;
}
LP_POST_APPLY(boom);
