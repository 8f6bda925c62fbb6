/*
 * lp_entry.h - the patchable entry of a function, defined once.
 *
 * The GCC plugin lays every function out like this, lpdiff checks the old
 * build has it, liblivepatch encodes the redirect and lpatch writes it:
 *
 *   sym - LP_ENTRY_PAD:  LP_ENTRY_PAD bytes of LP_NOP1 (0x90)     the pad
 *   sym:                 [endbr64]  (f3 0f 1e fa, -fcf-protection)
 *   sym + entry_off:     66 90      the entry: one LP_ENTRY_LEN-byte NOP
 *
 * Redirecting writes a jump into the pad first (jmp rel32, LP_JMP_REL32_LEN
 * bytes, or jmp *0(%rip) + 8-byte address, LP_JMP_ABS_LEN bytes), then
 * switches the entry atomically to `eb XX`, a short jump back to the pad's
 * start.  Plain C11 and C++ (the plugin includes it): macros, static
 * asserts and small static inline helpers, nothing to link.
 */
#ifndef LP_ENTRY_H
#define LP_ENTRY_H

#include <stdint.h>

#ifdef __cplusplus
#define LP_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define LP_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* ---- Instruction bytes ---------------------------------------------------- */

#define LP_NOP1        0x90 /* one-byte nop: fills the pad */
#define LP_NOP2_0      0x66 /* 66 90: the two-byte nop of the entry */
#define LP_NOP2_1      0x90
#define LP_ENDBR64_LEN 4 /* f3 0f 1e fa */
#define LP_ENDBR64_0   0xf3
#define LP_ENDBR64_1   0x0f
#define LP_ENDBR64_2   0x1e
#define LP_ENDBR64_3   0xfa

#define LP_JMP_REL8_OP   0xeb /* eb XX: short jump, XX signed from the next insn */
#define LP_JMP_REL8_MIN  (-128)
#define LP_JMP_REL32_OP  0xe9 /* e9 XX XX XX XX */
#define LP_JMP_REL32_LEN 5
#define LP_JMP_RIP_OP0   0xff /* ff 25 disp32: jmp *disp32(%rip) */
#define LP_JMP_RIP_OP1   0x25
#define LP_JMP_RIP_LEN   6
/* jmp *0(%rip) followed by the 8-byte absolute target: reaches anywhere */
#define LP_JMP_ABS_ADDR_OFF LP_JMP_RIP_LEN
#define LP_JMP_ABS_LEN      (LP_JMP_RIP_LEN + 8)

/* ---- The layout ----------------------------------------------------------- */

#define LP_ENTRY_PAD 16 /* NOP bytes before the symbol */
#define LP_ENTRY_LEN 2  /* bytes of the entry instruction, switched atomically */
/* Offset of the entry from the symbol: 0, or LP_ENDBR64_LEN after endbr64. */
#define LP_ENTRY_OFF_MAX LP_ENDBR64_LEN
/* The smallest pad that can redirect to any address (the absolute jump). */
#define LP_ENTRY_PAD_MIN LP_JMP_ABS_LEN
/* -fpatchable-function-entry=LP_ENTRY_AREA,LP_ENTRY_PAD: GCC wants the
 * total as a decimal literal, so it is spelled out and checked below. */
#define LP_ENTRY_AREA               18
#define LP_ENTRY_XSTR_(x)           #x
#define LP_ENTRY_XSTR(x)            LP_ENTRY_XSTR_(x)
#define LP_PATCHABLE_FUNCTION_ENTRY LP_ENTRY_XSTR(LP_ENTRY_AREA) "," LP_ENTRY_XSTR(LP_ENTRY_PAD)

LP_STATIC_ASSERT(LP_ENTRY_AREA == LP_ENTRY_PAD + LP_ENTRY_LEN,
                 "-fpatchable-function-entry total is the pad plus the entry");
LP_STATIC_ASSERT(LP_JMP_REL32_LEN <= LP_JMP_ABS_LEN, "the absolute jump is the longest");
LP_STATIC_ASSERT(LP_JMP_ABS_LEN <= LP_ENTRY_PAD, "the absolute jump fits the pad");
LP_STATIC_ASSERT(LP_ENTRY_PAD_MIN <= LP_ENTRY_PAD, "the plugin's pad is large enough");
LP_STATIC_ASSERT(LP_ENTRY_PAD <= 255 && LP_ENTRY_OFF_MAX <= 255,
                 "pad and entry offset fit the uint8_t fields of lpmeta and lp_func");
LP_STATIC_ASSERT(-(LP_ENTRY_PAD + LP_ENTRY_OFF_MAX + LP_ENTRY_LEN) >= LP_JMP_REL8_MIN,
                 "the short jump at the entry reaches the pad's start, endbr64 or not");

/* ---- Helpers --------------------------------------------------------------- */

/* Is p (at least LP_ENTRY_LEN bytes) the entry NOP, 66 90? */
static inline int lp_entry_is_nop(const uint8_t *p)
{
    return p[0] == LP_NOP2_0 && p[1] == LP_NOP2_1;
}

/* Is p (at least LP_ENDBR64_LEN bytes) an endbr64? */
static inline int lp_is_endbr64(const uint8_t *p)
{
    return p[0] == LP_ENDBR64_0 && p[1] == LP_ENDBR64_1 && p[2] == LP_ENDBR64_2 &&
           p[3] == LP_ENDBR64_3;
}

/* The entry's offset from the symbol whose first bytes are sym. */
static inline unsigned lp_entry_offset(const uint8_t *sym)
{
    return lp_is_endbr64(sym) ? LP_ENDBR64_LEN : 0;
}

/* Displacement of the short jump at the entry (entry_off bytes after the
 * symbol) to the start of a pad of prepad bytes before the symbol. */
static inline long lp_entry_jump_disp(unsigned prepad, unsigned entry_off)
{
    return -(long)(prepad + entry_off + LP_ENTRY_LEN);
}

/* Can the entry's short jump reach the pad's start? */
static inline int lp_entry_jump_reaches(unsigned prepad, unsigned entry_off)
{
    return lp_entry_jump_disp(prepad, entry_off) >= LP_JMP_REL8_MIN;
}

/* The entry bytes: the NOP, and the short jump to the pad's start. */
static inline void lp_entry_nop(uint8_t out[LP_ENTRY_LEN])
{
    out[0] = LP_NOP2_0;
    out[1] = LP_NOP2_1;
}

static inline void lp_entry_jump(uint8_t out[LP_ENTRY_LEN], unsigned prepad, unsigned entry_off)
{
    out[0] = LP_JMP_REL8_OP;
    out[1] = (uint8_t)(int8_t)lp_entry_jump_disp(prepad, entry_off);
}

/* The pad jumps; out has room for LP_JMP_REL32_LEN or LP_JMP_ABS_LEN bytes. */
static inline void lp_pad_jump_rel32(uint8_t *out, int32_t rel)
{
    uint32_t u = (uint32_t)rel;
    out[0] = LP_JMP_REL32_OP;
    for (int i = 0; i < 4; i++)
        out[1 + i] = (uint8_t)(u >> (8 * i));
}

static inline void lp_pad_jump_abs(uint8_t *out, uint64_t addr)
{
    out[0] = LP_JMP_RIP_OP0;
    out[1] = LP_JMP_RIP_OP1;
    for (int i = 0; i < 4; i++)
        out[2 + i] = 0; /* disp32 0: the address follows */
    for (int i = 0; i < 8; i++)
        out[LP_JMP_ABS_ADDR_OFF + i] = (uint8_t)(addr >> (8 * i));
}

#endif /* LP_ENTRY_H */
