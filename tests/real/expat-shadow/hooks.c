/*
 * hooks.c - the hook file that makes Debian's CVE-2024-8176 fix for expat
 * 2.5.0 (level 8 of tests/real/expat.bats) a live patch.
 *
 * The fix adds members to two structs whose objects exist in a running
 * process: ENTITY gains hasMore, XML_ParserStruct gains four list heads and
 * m_reenter.  cve-2024-8176-shadow.patch, applied on Debian's level-8
 * source (the t8-shadow tree), moves them after the old members (hasMore
 * into ENTITY's padding, the parser's five grouped as m_extra at the end)
 * and reaches them only through shadow variables (parserExtra(),
 * entityHasMore(), entitySetHasMore() in xmlparse.c).  This file declares
 * the two layout changes so handled, and frees every shadow at revert: the
 * old code never looks at them.  The ids are those of xmlparse.c.
 */
#include "livepatch-hooks.h"

#define LP_PARSER_EXTRA_ID    0x81760001UL
#define LP_ENTITY_HAS_MORE_ID 0x81760002UL

LP_SHADOW_MEMBER(ENTITY, hasMore);
LP_SHADOW_MEMBER(struct XML_ParserStruct, m_extra);

static void free_shadows(void)
{
    lp_shadow_free_all(LP_PARSER_EXTRA_ID, NULL);
    lp_shadow_free_all(LP_ENTITY_HAS_MORE_ID, NULL);
}
LP_POST_REVERT(free_shadows);
