/* A pre-apply callback that vetoes. */
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

static int no(void)
{
    return lp_veto("not now: the test says no");
}
LP_PRE_APPLY(no);
