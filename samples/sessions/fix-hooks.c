/*
 * fix-hooks.c - the hook file of the v1 -> v2 live patch
 * (make livepatch OLD=v1 NEW=v2 uses it: LIVEPATCH_HOOKS in ../Makefile).
 *
 * v2 adds `errors` to struct session.  The patched code keeps it in a
 * shadow variable (session.c: errors_of), which this file declares; after a
 * revert the old code never looks at the shadows again, so they are all
 * freed.
 */
#include "livepatch-hooks.h"
#include "session.h"

LP_SHADOW_MEMBER(struct session, errors);

static void free_error_counts(void)
{
    lp_shadow_free_all(SESSION_ERRORS_ID, NULL);
}
LP_POST_REVERT(free_error_counts);
