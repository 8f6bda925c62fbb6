/*
 * emulate.c - a held thread's next instruction, done on its saved registers.
 *
 * Only instructions whose whole effect is on general registers, flags and
 * reads of memory are done (every thread of the process is held, so a read
 * sees what the thread would have seen).  Arithmetic is done by this CPU
 * on the same values, so results and flags, the architecturally undefined
 * ones included, are the ones the thread would have got:
 *
 *   nop forms, endbr64        mov, movzx, movsx, movsxd, lea, cmov, setcc     pop, leave
 *   add or and sub xor cmp test shl shr sar imul neg not inc dec
 *   jmp, jcc                  ret, rep ret, ret $imm16
 *
 * Operands are 32 or 64 bits (8 for moves, compares, tests, setcc and
 * movzx/movsx sources); memory may only be read.  Anything else (stores,
 * push, call, system calls, segment or size prefixes, SIMD, 16-bit
 * operands, 8-bit arithmetic) is left to a single-step.
 *
 * The decoder is this file's own, not Zydis (which lpdiff's compare.c
 * uses to read arbitrary code).  Measured on this 2-core VM, 10-instruction
 * epilogue (bench/emulate.bench.sh, `make bench`; 5 runs of 500000 rounds,
 * shared machine): emulate.c decode + execute 101-172 ns/insn (median 108),
 * ZydisDecoderDecodeFull decode only 173-222 ns/insn (median 211).  Zydis
 * would cost more than the whole of this step before anything is executed,
 * would still need the execute half below, and buys nothing for a subset
 * this small (about 40 opcodes; anything else is single-stepped).  What
 * guards the decoder is the differential test against the CPU
 * (tests/unit/test_applier_emulate.c).
 *
 * step() decodes prefixes, REX and the opcode and hands the instruction to
 * its class: class_nop, class_stack, class_branch, class_move, class_alu,
 * class_shift, class_0f (two-byte opcodes).
 */
#include "emulate.h"
#include "lp_entry.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

int lpa_emu_allowed(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int ok = 1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "x86_Thread_features:", 20) == 0 && strstr(line + 20, "shstk"))
            ok = 0;
    fclose(f);
    return ok;
}

/* ---- target memory ----------------------------------------------------- */

static int load(struct lpa_emu *e, uint64_t addr, int size, uint64_t *v)
{
    uint8_t b[8] = {0};
    if (lpa_pages_read(&e->mem, addr, b, (size_t)size) != 0)
        return -1;
    uint64_t x = 0;
    memcpy(&x, b, (size_t)size); /* little-endian */
    *v = x;
    return 0;
}

/* ---- registers and flags ----------------------------------------------- */

enum { F_CF = 1 << 0, F_PF = 1 << 2, F_AF = 1 << 4, F_ZF = 1 << 6, F_SF = 1 << 7, F_OF = 1 << 11 };
#define F_ARITH (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)

/* The register numbered as in ModRM and REX (rax 0 .. r15 15). */
static unsigned long long *gpr(struct user_regs_struct *r, unsigned n)
{
    unsigned long long *v[16] = {&r->rax, &r->rcx, &r->rdx, &r->rbx, &r->rsp, &r->rbp,
                                 &r->rsi, &r->rdi, &r->r8,  &r->r9,  &r->r10, &r->r11,
                                 &r->r12, &r->r13, &r->r14, &r->r15};
    return v[n & 15];
}

static uint64_t mask(int size)
{
    return size == 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

/* Read a register operand of size bytes; without REX, byte registers 4-7
 * are ah, ch, dh, bh. */
static uint64_t get(struct user_regs_struct *r, unsigned n, int size, int rex)
{
    if (size == 1 && !rex && n >= 4 && n < 8)
        return (*gpr(r, n - 4) >> 8) & 0xff;
    return *gpr(r, n) & mask(size);
}

/* Write a 32- or 64-bit register: a 32-bit write clears the upper half. */
static void put(struct user_regs_struct *r, unsigned n, int size, uint64_t v)
{
    *gpr(r, n) = v & mask(size);
}

/* Write a byte register: the rest of the register keeps its value. */
static void put8(struct user_regs_struct *r, unsigned n, int rex, uint64_t v)
{
    if (!rex && n >= 4 && n < 8)
        *gpr(r, n - 4) = (*gpr(r, n - 4) & ~0xff00ull) | (v & 0xff) << 8;
    else
        *gpr(r, n) = (*gpr(r, n) & ~0xffull) | (v & 0xff);
}

static uint64_t sext(uint64_t v, int size)
{
    int sh = 64 - size * 8;
    return size == 8 ? v : (uint64_t)((int64_t)(v << sh) >> sh);
}

/* jcc / cmovcc condition cc (0-15) on flags f. */
static int cond(uint64_t f, unsigned cc)
{
    int cf = f & F_CF ? 1 : 0, zf = f & F_ZF ? 1 : 0, sf = f & F_SF ? 1 : 0, of = f & F_OF ? 1 : 0,
        pf = f & F_PF ? 1 : 0, t = 0;
    switch (cc >> 1) {
    case 0:
        t = of;
        break;
    case 1:
        t = cf;
        break;
    case 2:
        t = zf;
        break;
    case 3:
        t = cf | zf;
        break;
    case 4:
        t = sf;
        break;
    case 5:
        t = pf;
        break;
    case 6:
        t = sf != of;
        break;
    default:
        t = zf | (sf != of);
        break;
    }
    return cc & 1 ? !t : t;
}

/* ---- arithmetic, done by this CPU --------------------------------------- */

enum alu {
    A_ADD,
    A_OR,
    A_AND,
    A_SUB,
    A_XOR,
    A_CMP,
    A_TEST,
    A_SHL,
    A_SHR,
    A_SAR,
    A_IMUL,
    A_NEG,
    A_NOT,
    A_INC,
    A_DEC
};

/* pushfq must not land in this function's red zone. */
#define FLAGS_OUT "\n\tlea -128(%%rsp), %%rsp\n\tpushfq\n\tpopq %1\n\tlea 128(%%rsp), %%rsp"
#define BIN(I)    __asm__(I " %2, %0" FLAGS_OUT : "+r"(x), "=r"(f) : "r"(y) : "cc")
#define SHIFT(I)  __asm__(I " %%cl, %0" FLAGS_OUT : "+r"(x), "=r"(f) : "c"(c) : "cc")
#define UN(I)     __asm__(I " %0" FLAGS_OUT : "+r"(x), "=r"(f) : : "cc")

#define HOST_ALU(NAME, T)                                                                          \
    static uint64_t NAME(enum alu op, uint64_t a, uint64_t b, uint64_t *flags)                     \
    {                                                                                              \
        T x = (T)a, y = (T)b;                                                                      \
        uint8_t c = (uint8_t)b;                                                                    \
        uint64_t f = 0;                                                                            \
        (void)y;                                                                                   \
        (void)c;                                                                                   \
        switch (op) {                                                                              \
        case A_ADD:                                                                                \
            BIN("add");                                                                            \
            break;                                                                                 \
        case A_OR:                                                                                 \
            BIN("or");                                                                             \
            break;                                                                                 \
        case A_AND:                                                                                \
            BIN("and");                                                                            \
            break;                                                                                 \
        case A_SUB:                                                                                \
            BIN("sub");                                                                            \
            break;                                                                                 \
        case A_XOR:                                                                                \
            BIN("xor");                                                                            \
            break;                                                                                 \
        case A_CMP:                                                                                \
            BIN("cmp");                                                                            \
            break;                                                                                 \
        case A_TEST:                                                                               \
            BIN("test");                                                                           \
            break;                                                                                 \
        case A_SHL:                                                                                \
            SHIFT("shl");                                                                          \
            break;                                                                                 \
        case A_SHR:                                                                                \
            SHIFT("shr");                                                                          \
            break;                                                                                 \
        case A_SAR:                                                                                \
            SHIFT("sar");                                                                          \
            break;                                                                                 \
        case A_NEG:                                                                                \
            UN("neg");                                                                             \
            break;                                                                                 \
        case A_NOT:                                                                                \
            UN("not");                                                                             \
            break;                                                                                 \
        case A_INC:                                                                                \
            UN("inc");                                                                             \
            break;                                                                                 \
        case A_DEC:                                                                                \
            UN("dec");                                                                             \
            break;                                                                                 \
        case A_IMUL:                                                                               \
            HOST_IMUL;                                                                             \
            break;                                                                                 \
        }                                                                                          \
        *flags = f;                                                                                \
        return (uint64_t)x;                                                                        \
    }

#define HOST_IMUL f = 0 /* no 8-bit two-operand imul; never asked for */
HOST_ALU(alu8, uint8_t)
#undef HOST_IMUL
#define HOST_IMUL BIN("imul")
HOST_ALU(alu32, uint32_t)
HOST_ALU(alu64, uint64_t)

/* Which flags each operation writes (the rest keep their values). */
static uint64_t written(enum alu op)
{
    switch (op) {
    case A_NOT:
        return 0;
    case A_INC:
    case A_DEC:
        return F_ARITH & ~F_CF;
    default:
        return F_ARITH;
    }
}

/* a op b at size bytes: the result, and the flags merged into *eflags. */
static uint64_t alu(enum alu op, uint64_t a, uint64_t b, int size, unsigned long long *eflags)
{
    uint64_t f, v = size == 1   ? alu8(op, a, b, &f)
                    : size == 4 ? alu32(op, a, b, &f)
                                : alu64(op, a, b, &f);
    uint64_t w = written(op);
    *eflags = (*eflags & ~w) | (f & w);
    return v;
}

/* ---- decoding ----------------------------------------------------------- */

struct insn {
    const uint8_t *p; /* the bytes, n of them readable */
    size_t n;
    int rex;
    size_t len; /* decoded so far */
    /* ModRM */
    int mod, reg, rm;
    int base, index, scale, riprel; /* memory operand; base/index -1: none */
    int64_t disp;
};

/* ModRM (and SIB, displacement) at p[len]; len moves past them. */
static int modrm(struct insn *d)
{
    if (d->len >= d->n)
        return -1;
    uint8_t m = d->p[d->len++];
    d->mod = m >> 6;
    d->reg = ((m >> 3) & 7) | (d->rex & 4 ? 8 : 0);
    d->rm = (m & 7) | (d->rex & 1 ? 8 : 0);
    d->base = d->index = -1;
    d->scale = 1;
    d->riprel = 0;
    d->disp = 0;
    if (d->mod == 3)
        return 0;
    int dsize = d->mod == 1 ? 1 : d->mod == 2 ? 4 : 0;
    if ((m & 7) == 4) { /* SIB */
        if (d->len >= d->n)
            return -1;
        uint8_t s = d->p[d->len++];
        int idx = ((s >> 3) & 7) | (d->rex & 2 ? 8 : 0);
        d->index = idx == 4 ? -1 : idx;
        d->scale = 1 << (s >> 6);
        d->base = (s & 7) | (d->rex & 1 ? 8 : 0);
        if ((s & 7) == 5 && d->mod == 0) {
            d->base = -1;
            dsize = 4;
        }
    } else if ((m & 7) == 5 && d->mod == 0) {
        d->riprel = 1;
        dsize = 4;
    } else {
        d->base = d->rm;
    }
    if (d->len + (size_t)dsize > d->n)
        return -1;
    if (dsize == 1)
        d->disp = (int8_t)d->p[d->len];
    else if (dsize == 4) {
        int32_t v;
        memcpy(&v, d->p + d->len, 4);
        d->disp = v;
    }
    d->len += (size_t)dsize;
    return 0;
}

static int imm(struct insn *d, int size, int64_t *v)
{
    if (d->len + (size_t)size > d->n)
        return -1;
    if (size == 1)
        *v = (int8_t)d->p[d->len];
    else if (size == 2) {
        int16_t x;
        memcpy(&x, d->p + d->len, 2);
        *v = x;
    } else if (size == 4) {
        int32_t x;
        memcpy(&x, d->p + d->len, 4);
        *v = x;
    } else {
        memcpy(v, d->p + d->len, 8);
    }
    d->len += (size_t)size;
    return 0;
}

/* The memory operand's address; next: the address after the instruction. */
static uint64_t ea(const struct insn *d, struct user_regs_struct *r, uint64_t next)
{
    if (d->riprel)
        return next + (uint64_t)d->disp;
    uint64_t a = (uint64_t)d->disp;
    if (d->base >= 0)
        a += *gpr(r, (unsigned)d->base);
    if (d->index >= 0)
        a += *gpr(r, (unsigned)d->index) * (uint64_t)d->scale;
    return a;
}

/* The r/m operand's value (a register, or memory read). */
static int rm_value(struct lpa_emu *e, const struct insn *d, struct user_regs_struct *r,
                    uint64_t next, int size, uint64_t *v)
{
    if (d->mod == 3) {
        *v = get(r, (unsigned)d->rm, size, d->rex);
        return 0;
    }
    return load(e, ea(d, r, next), size, v);
}

static int pop(struct lpa_emu *e, struct user_regs_struct *r, uint64_t *v)
{
    if (load(e, r->rsp, 8, v) != 0)
        return -1;
    r->rsp += 8;
    return 0;
}

/* The ALU operation of opcode group 1 (/0 add .. /7 cmp); adc and sbb are
 * not done (they read CF: fine, but rare enough not to carry). */
static int group1(int sub, enum alu *op)
{
    static const int map[8] = {A_ADD, A_OR, -1, -1, A_AND, A_SUB, A_XOR, A_CMP};
    if (map[sub] < 0)
        return -1;
    *op = (enum alu)map[sub];
    return 0;
}

/* ---- one instruction ----------------------------------------------------- */

/* What a class helper says about the instruction: done on *r, not done
 * here (single-step it), or not of its class (try the next class). */
enum { DONE = 0, NOT_DONE = -1, OTHER = 1 };

/* The IP after the instruction decoded so far; done. */
static int finish(struct user_regs_struct *r, const struct insn *d)
{
    r->rip += d->len;
    return DONE;
}

/* Nop forms: 90, 66 90, endbr64, [66|2e]* 0f 1f /0.  Leaves d->len past
 * any 66/2e prefixes when it is not one of them. */
static int class_nop(struct insn *d, struct user_regs_struct *r)
{
    const uint8_t *b = d->p;
    size_t n = d->n;
    if (b[0] == LP_NOP1 || (n >= LP_ENTRY_LEN && lp_entry_is_nop(b))) {
        r->rip += b[0] == LP_NOP1 ? 1 : LP_ENTRY_LEN;
        return DONE;
    }
    if (n >= LP_ENDBR64_LEN && lp_is_endbr64(b)) {
        r->rip += LP_ENDBR64_LEN;
        return DONE;
    }
    while (d->len < n && (b[d->len] == 0x66 || b[d->len] == 0x2e))
        d->len++;
    if (d->len + 2 <= n && b[d->len] == 0x0f && b[d->len + 1] == 0x1f) {
        d->len += 2;
        if (modrm(d) != 0 || (d->reg & 7) != 0)
            return NOT_DONE;
        return finish(r, d);
    }
    return OTHER;
}

/* pop r64, ret, ret $imm16, leave: the stack is read, never written. */
static int class_stack(struct lpa_emu *e, struct insn *d, struct user_regs_struct *r, uint8_t o)
{
    uint64_t v;
    int64_t im;
    if (o >= 0x58 && o <= 0x5f) { /* pop r64 */
        unsigned reg = (o - 0x58u) | (d->rex & 1 ? 8 : 0);
        if (reg == 4 || pop(e, r, &v) != 0)
            return NOT_DONE;
        *gpr(r, reg) = v;
        return finish(r, d);
    }
    switch (o) {
    case 0xc3: /* ret */
    case 0xc2: /* ret $imm16 */
        if (o == 0xc2 && imm(d, 2, &im) != 0)
            return NOT_DONE;
        if (pop(e, r, &v) != 0)
            return NOT_DONE;
        if (o == 0xc2)
            r->rsp += (uint16_t)im;
        r->rip = v;
        return DONE;
    case 0xc9: /* leave */
        r->rsp = r->rbp;
        if (pop(e, r, &v) != 0)
            return NOT_DONE;
        r->rbp = v;
        return finish(r, d);
    default:
        return OTHER;
    }
}

/* jmp and jcc, rel8 and rel32 (two-byte: o is the byte after 0f). */
static int class_branch(struct insn *d, struct user_regs_struct *r, uint8_t o, int two_byte)
{
    int64_t im;
    int rel = 0, cc = -1;
    if (!two_byte && o >= 0x70 && o <= 0x7f)
        rel = 1, cc = o & 15;
    else if (two_byte && o >= 0x80 && o <= 0x8f)
        rel = 4, cc = o & 15;
    else if (!two_byte && (o == LP_JMP_REL8_OP || o == LP_JMP_REL32_OP))
        rel = o == LP_JMP_REL8_OP ? 1 : 4;
    else
        return OTHER;
    if (imm(d, rel, &im) != 0)
        return NOT_DONE;
    uint64_t next = r->rip + d->len;
    r->rip = cc < 0 || cond(r->eflags, (unsigned)cc) ? next + (uint64_t)im : next;
    return DONE;
}

/* Moves into registers: mov (imm, r, r/m; stores only register to
 * register), lea, movsxd. */
static int class_move(struct lpa_emu *e, struct insn *d, struct user_regs_struct *r, uint8_t o,
                      int size)
{
    uint64_t v;
    int64_t im;
    if (o >= 0xb8 && o <= 0xbf) { /* mov $imm, r */
        unsigned reg = (o - 0xb8u) | (d->rex & 1 ? 8 : 0);
        if (imm(d, size, &im) != 0)
            return NOT_DONE;
        put(r, reg, size, (uint64_t)im);
        return finish(r, d);
    }
    switch (o) {
    case 0x8d: /* lea */
        if (modrm(d) != 0 || d->mod == 3)
            return NOT_DONE;
        put(r, (unsigned)d->reg, size, ea(d, r, r->rip + d->len));
        return finish(r, d);
    case 0x89: /* mov r, r/m: registers only */
        if (modrm(d) != 0 || d->mod != 3)
            return NOT_DONE;
        put(r, (unsigned)d->rm, size, get(r, (unsigned)d->reg, size, d->rex));
        return finish(r, d);
    case 0x88: /* mov r8, r8 */
    case 0x8a: /* mov r/m8, r8 */
        if (modrm(d) != 0 || (o == 0x88 && d->mod != 3))
            return NOT_DONE;
        if (o == 0x88)
            v = get(r, (unsigned)d->reg, 1, d->rex);
        else if (rm_value(e, d, r, r->rip + d->len, 1, &v) != 0)
            return NOT_DONE;
        put8(r, (unsigned)(o == 0x88 ? d->rm : d->reg), d->rex, v);
        return finish(r, d);
    case 0x8b: /* mov r/m, r */
        if (modrm(d) != 0 || rm_value(e, d, r, r->rip + d->len, size, &v) != 0)
            return NOT_DONE;
        put(r, (unsigned)d->reg, size, v);
        return finish(r, d);
    case 0x63: /* movsxd r/m32, r64 */
        if (size != 8 || modrm(d) != 0 || rm_value(e, d, r, r->rip + d->len, 4, &v) != 0)
            return NOT_DONE;
        put(r, (unsigned)d->reg, 8, sext(v, 4));
        return finish(r, d);
    case 0xc7: /* mov $imm32, r */
        if (modrm(d) != 0 || d->mod != 3 || (d->reg & 7) != 0 || imm(d, 4, &im) != 0)
            return NOT_DONE;
        put(r, (unsigned)d->rm, size, (uint64_t)im);
        return finish(r, d);
    default:
        return OTHER;
    }
}

/* Arithmetic and logic with a register or an immediate: a write to memory
 * is not done, so memory operands only for compares and tests. */
static int class_alu(struct lpa_emu *e, struct insn *d, struct user_regs_struct *r, uint8_t o,
                     int size)
{
    uint64_t v, w;
    int64_t im;
    enum alu op = A_ADD;
    switch (o) {
    /* r/m op= r */
    case 0x01:
    case 0x09:
    case 0x21:
    case 0x29:
    case 0x31:
    case 0x39:
    case 0x85: /* test */
        if (modrm(d) != 0 || (d->mod != 3 && o != 0x39 && o != 0x85))
            return NOT_DONE;
        op = A_TEST;
        if (o != 0x85)
            group1((o >> 3) & 7, &op);
        if (rm_value(e, d, r, r->rip + d->len, size, &v) != 0)
            return NOT_DONE;
        w = alu(op, v, get(r, (unsigned)d->reg, size, d->rex), size, &r->eflags);
        if (op != A_CMP && op != A_TEST)
            put(r, (unsigned)d->rm, size, w);
        return finish(r, d);
    /* r op= r/m */
    case 0x03:
    case 0x0b:
    case 0x23:
    case 0x2b:
    case 0x33:
    case 0x3b:
        if (modrm(d) != 0)
            return NOT_DONE;
        group1((o >> 3) & 7, &op);
        if (rm_value(e, d, r, r->rip + d->len, size, &v) != 0)
            return NOT_DONE;
        w = alu(op, get(r, (unsigned)d->reg, size, d->rex), v, size, &r->eflags);
        if (op != A_CMP)
            put(r, (unsigned)d->reg, size, w);
        return finish(r, d);
    /* Byte compares and tests (they write no register). */
    case 0x38:
    case 0x3a:
    case 0x84:
        if (modrm(d) != 0 || rm_value(e, d, r, r->rip + d->len, 1, &v) != 0)
            return NOT_DONE;
        w = get(r, (unsigned)d->reg, 1, d->rex);
        alu(o == 0x84 ? A_TEST : A_CMP, o == 0x3a ? w : v, o == 0x3a ? v : w, 1, &r->eflags);
        return finish(r, d);
    case 0x80: /* cmp $imm8, r/m8 */
    case 0xf6: /* test $imm8, r/m8 */
        if (modrm(d) != 0 || (d->reg & 7) != (o == 0x80 ? 7 : 0) || imm(d, 1, &im) != 0 ||
            rm_value(e, d, r, r->rip + d->len, 1, &v) != 0)
            return NOT_DONE;
        alu(o == 0x80 ? A_CMP : A_TEST, v, (uint64_t)im, 1, &r->eflags);
        return finish(r, d);
    case 0x3c: /* cmp $imm8, %al */
    case 0xa8: /* test $imm8, %al */
        if (imm(d, 1, &im) != 0)
            return NOT_DONE;
        alu(o == 0x3c ? A_CMP : A_TEST, r->rax & 0xff, (uint64_t)im, 1, &r->eflags);
        return finish(r, d);
    /* $imm32, %eax/%rax */
    case 0x05:
    case 0x0d:
    case 0x25:
    case 0x2d:
    case 0x35:
    case 0x3d:
    case 0xa9:
        if (imm(d, 4, &im) != 0)
            return NOT_DONE;
        if (o == 0xa9)
            op = A_TEST;
        else
            group1((o >> 3) & 7, &op);
        w = alu(op, get(r, 0, size, d->rex), (uint64_t)im, size, &r->eflags);
        if (op != A_CMP && op != A_TEST)
            put(r, 0, size, w);
        return finish(r, d);
    case 0x81: /* group 1, $imm32 */
    case 0x83: /* group 1, $imm8 */
        if (modrm(d) != 0 || group1(d->reg & 7, &op) != 0 || imm(d, o == 0x83 ? 1 : 4, &im) != 0 ||
            (d->mod != 3 && op != A_CMP) || rm_value(e, d, r, r->rip + d->len, size, &v) != 0)
            return NOT_DONE;
        w = alu(op, v, (uint64_t)im, size, &r->eflags);
        if (op != A_CMP)
            put(r, (unsigned)d->rm, size, w);
        return finish(r, d);
    case 0xf7: /* test $imm32; not; neg */
        if (modrm(d) != 0)
            return NOT_DONE;
        if ((d->reg & 7) == 0) {
            if (imm(d, 4, &im) != 0 || rm_value(e, d, r, r->rip + d->len, size, &v) != 0)
                return NOT_DONE;
            alu(A_TEST, v, (uint64_t)im, size, &r->eflags);
            return finish(r, d);
        }
        if (d->mod != 3 || ((d->reg & 7) != 2 && (d->reg & 7) != 3))
            return NOT_DONE;
        v = get(r, (unsigned)d->rm, size, d->rex);
        put(r, (unsigned)d->rm, size,
            alu((d->reg & 7) == 2 ? A_NOT : A_NEG, v, 0, size, &r->eflags));
        return finish(r, d);
    case 0xff: /* inc, dec (registers) */
        if (modrm(d) != 0 || d->mod != 3 || (d->reg & 7) > 1)
            return NOT_DONE;
        v = get(r, (unsigned)d->rm, size, d->rex);
        put(r, (unsigned)d->rm, size, alu((d->reg & 7) ? A_DEC : A_INC, v, 0, size, &r->eflags));
        return finish(r, d);
    default:
        return OTHER;
    }
}

/* shl, shr, sar of a register: by $imm8 (c1), 1 (d1) or %cl (d3). */
static int class_shift(struct insn *d, struct user_regs_struct *r, uint8_t o, int size)
{
    int64_t im = 1;
    enum alu op;
    if (o != 0xc1 && o != 0xd1 && o != 0xd3)
        return OTHER;
    if (modrm(d) != 0 || d->mod != 3)
        return NOT_DONE;
    switch (d->reg & 7) {
    case 4:
        op = A_SHL;
        break;
    case 5:
        op = A_SHR;
        break;
    case 7:
        op = A_SAR;
        break;
    default:
        return NOT_DONE;
    }
    if (o == 0xc1 && imm(d, 1, &im) != 0)
        return NOT_DONE;
    if (o == 0xd3)
        im = (int64_t)(r->rcx & 0xff);
    /* A count of 0 changes no flag: not worth the special case. */
    if (((uint64_t)im & (size == 8 ? 63 : 31)) == 0)
        return NOT_DONE;
    uint64_t v = get(r, (unsigned)d->rm, size, d->rex);
    put(r, (unsigned)d->rm, size, alu(op, v, (uint64_t)im, size, &r->eflags));
    return finish(r, d);
}

/* Two-byte opcodes after jcc rel32: setcc, cmovcc, movzx/movsx, imul. */
static int class_0f(struct lpa_emu *e, struct insn *d, struct user_regs_struct *r, uint8_t o,
                    int size)
{
    uint64_t v;
    if (modrm(d) != 0)
        return NOT_DONE;
    uint64_t next = r->rip + d->len;
    if (o >= 0x90 && o <= 0x9f) { /* setcc r8 */
        if (d->mod != 3)
            return NOT_DONE;
        put8(r, (unsigned)d->rm, d->rex, (uint64_t)cond(r->eflags, o & 15u));
        return finish(r, d);
    }
    if (o >= 0x40 && o <= 0x4f) { /* cmovcc: reads its source either way */
        if (rm_value(e, d, r, next, size, &v) != 0)
            return NOT_DONE;
        put(r, (unsigned)d->reg, size,
            cond(r->eflags, o & 15u) ? v : get(r, (unsigned)d->reg, size, d->rex));
        return finish(r, d);
    }
    switch (o) {
    case 0xb6: /* movzx r/m8 */
    case 0xb7: /* movzx r/m16 */
    case 0xbe: /* movsx r/m8 */
    case 0xbf: /* movsx r/m16 */
    {
        int from = o & 1 ? 2 : 1;
        if (rm_value(e, d, r, next, from, &v) != 0)
            return NOT_DONE;
        put(r, (unsigned)d->reg, size, o >= 0xbe ? sext(v, from) : v);
        return finish(r, d);
    }
    case 0xaf: /* imul r/m, r */
        if (rm_value(e, d, r, next, size, &v) != 0)
            return NOT_DONE;
        put(r, (unsigned)d->reg, size,
            alu(A_IMUL, get(r, (unsigned)d->reg, size, d->rex), v, size, &r->eflags));
        return finish(r, d);
    default:
        return NOT_DONE;
    }
}

/* Decode prefixes, REX and the opcode, then hand the instruction to its
 * class. */
static int step(struct lpa_emu *e, struct user_regs_struct *r)
{
    uint8_t b[16] = {0};
    size_t n = lpa_pages_peek(&e->mem, r->rip, b, sizeof b);
    struct insn d = {.p = b, .n = n};
    if (n == 0)
        return NOT_DONE;
    int rc = class_nop(&d, r);
    if (rc != OTHER)
        return rc;
    if (d.len)
        return NOT_DONE; /* operand-size or segment prefix: not done here */
    if (n >= 2 && b[0] == 0xf3 && b[1] == 0xc3) { /* rep ret */
        uint64_t v;
        if (pop(e, r, &v) != 0)
            return NOT_DONE;
        r->rip = v;
        return DONE;
    }
    if ((b[0] & 0xf0) == 0x40)
        d.rex = b[d.len++];
    if (d.len >= n)
        return NOT_DONE;
    int size = d.rex & 8 ? 8 : 4;
    uint8_t o = b[d.len++];
    if (o != 0x0f) {
        if ((rc = class_stack(e, &d, r, o)) != OTHER || (rc = class_branch(&d, r, o, 0)) != OTHER ||
            (rc = class_move(e, &d, r, o, size)) != OTHER ||
            (rc = class_alu(e, &d, r, o, size)) != OTHER)
            return rc;
        rc = class_shift(&d, r, o, size);
        return rc == OTHER ? NOT_DONE : rc;
    }
    if (d.len >= n)
        return NOT_DONE;
    o = b[d.len++];
    if ((rc = class_branch(&d, r, o, 1)) != OTHER)
        return rc;
    return class_0f(e, &d, r, o, size);
}

int lpa_emu_step(struct lpa_emu *e, struct user_regs_struct *regs)
{
    if (!e->mem.n)
        lpa_pages_init(&e->mem, e->memfd, 4, e->tag, e->page);
    struct user_regs_struct r = *regs;
    if (step(e, &r) != 0)
        return 0;
    *regs = r;
    return 1;
}
