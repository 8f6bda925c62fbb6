/* A pre-apply callback that crashes. */
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

static int boom(void)
{
    *(volatile int *)16 = 1;
    return 0;
}
LP_PRE_APPLY(boom);
