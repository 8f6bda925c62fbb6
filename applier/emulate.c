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

static int step(struct lpa_emu *e, struct user_regs_struct *r)
{
    uint8_t b[16] = {0};
    size_t n = lpa_pages_peek(&e->mem, r->rip, b, sizeof b);
    struct insn d = {.p = b, .n = n};
    if (n == 0)
        return -1;
    uint64_t v, w;
    int64_t im;
    enum alu op = A_ADD;
    /* Nops: 90, 66 90, [66|2e]* 0f 1f /0, and endbr64. */
    if (b[0] == LP_NOP1 || (n >= LP_ENTRY_LEN && lp_entry_is_nop(b))) {
        r->rip += b[0] == LP_NOP1 ? 1 : LP_ENTRY_LEN;
        return 0;
    }
    if (n >= LP_ENDBR64_LEN && lp_is_endbr64(b)) {
        r->rip += LP_ENDBR64_LEN;
        return 0;
    }
    while (d.len < n && (b[d.len] == 0x66 || b[d.len] == 0x2e))
        d.len++;
    if (d.len + 2 <= n && b[d.len] == 0x0f && b[d.len + 1] == 0x1f) {
        d.len += 2;
        if (modrm(&d) != 0 || (d.reg & 7) != 0)
            return -1;
        r->rip += d.len;
        return 0;
    }
    if (d.len)
        return -1; /* operand-size or segment prefix: not done here */
    if (n >= 2 && b[0] == 0xf3 && b[1] == 0xc3) { /* rep ret */
        if (pop(e, r, &v) != 0)
            return -1;
        r->rip = v;
        return 0;
    }
    if ((b[0] & 0xf0) == 0x40)
        d.rex = b[d.len++];
    if (d.len >= n)
        return -1;
    int size = d.rex & 8 ? 8 : 4;
    uint8_t o = b[d.len++];
    uint64_t next;
#define NEXT() (next = r->rip + d.len)
#define DONE()                                                                                     \
    do {                                                                                           \
        r->rip = next;                                                                             \
        return 0;                                                                                  \
    } while (0)

    if (o >= 0x58 && o <= 0x5f) { /* pop r64 */
        unsigned reg = (o - 0x58u) | (d.rex & 1 ? 8 : 0);
        if (reg == 4 || pop(e, r, &v) != 0)
            return -1;
        *gpr(r, reg) = v;
        NEXT();
        DONE();
    }
    if (o >= 0xb8 && o <= 0xbf) { /* mov $imm, r */
        unsigned reg = (o - 0xb8u) | (d.rex & 1 ? 8 : 0);
        if (imm(&d, size, &im) != 0)
            return -1;
        put(r, reg, size, (uint64_t)im);
        NEXT();
        DONE();
    }
    if (o >= 0x70 && o <= 0x7f) { /* jcc rel8 */
        if (imm(&d, 1, &im) != 0)
            return -1;
        NEXT();
        r->rip = cond(r->eflags, o & 15u) ? next + (uint64_t)im : next;
        return 0;
    }
    switch (o) {
    case 0xc3: /* ret */
    case 0xc2: /* ret $imm16 */
        if (o == 0xc2 && imm(&d, 2, &im) != 0)
            return -1;
        if (pop(e, r, &v) != 0)
            return -1;
        if (o == 0xc2)
            r->rsp += (uint16_t)im;
        r->rip = v;
        return 0;
    case 0xc9: /* leave */
        r->rsp = r->rbp;
        if (pop(e, r, &v) != 0)
            return -1;
        r->rbp = v;
        NEXT();
        DONE();
    case LP_JMP_REL8_OP:  /* jmp rel8 */
    case LP_JMP_REL32_OP: /* jmp rel32 */
        if (imm(&d, o == LP_JMP_REL8_OP ? 1 : 4, &im) != 0)
            return -1;
        NEXT();
        r->rip = next + (uint64_t)im;
        return 0;
    case 0x8d: /* lea */
        if (modrm(&d) != 0 || d.mod == 3)
            return -1;
        NEXT();
        put(r, (unsigned)d.reg, size, ea(&d, r, next));
        DONE();
    case 0x89: /* mov r, r/m: registers only */
        if (modrm(&d) != 0 || d.mod != 3)
            return -1;
        NEXT();
        put(r, (unsigned)d.rm, size, get(r, (unsigned)d.reg, size, d.rex));
        DONE();
    case 0x88: /* mov r8, r8 */
    case 0x8a: /* mov r/m8, r8 */
        if (modrm(&d) != 0 || (o == 0x88 && d.mod != 3))
            return -1;
        NEXT();
        if (o == 0x88)
            v = get(r, (unsigned)d.reg, 1, d.rex);
        else if (rm_value(e, &d, r, next, 1, &v) != 0)
            return -1;
        put8(r, (unsigned)(o == 0x88 ? d.rm : d.reg), d.rex, v);
        DONE();
    case 0x8b: /* mov r/m, r */
        if (modrm(&d) != 0)
            return -1;
        NEXT();
        if (rm_value(e, &d, r, next, size, &v) != 0)
            return -1;
        put(r, (unsigned)d.reg, size, v);
        DONE();
    case 0x63: /* movsxd r/m32, r64 */
        if (size != 8 || modrm(&d) != 0)
            return -1;
        NEXT();
        if (rm_value(e, &d, r, next, 4, &v) != 0)
            return -1;
        put(r, (unsigned)d.reg, 8, sext(v, 4));
        DONE();
    case 0xc7: /* mov $imm32, r */
        if (modrm(&d) != 0 || d.mod != 3 || (d.reg & 7) != 0 || imm(&d, 4, &im) != 0)
            return -1;
        NEXT();
        put(r, (unsigned)d.rm, size, (uint64_t)im);
        DONE();
    /* ALU, r/m op= r: a write to memory is not done, so memory only for cmp. */
    case 0x01:
    case 0x09:
    case 0x21:
    case 0x29:
    case 0x31:
    case 0x39:
    case 0x85: /* test */
        if (modrm(&d) != 0 || (d.mod != 3 && o != 0x39 && o != 0x85))
            return -1;
        op = A_TEST;
        if (o != 0x85)
            group1((o >> 3) & 7, &op);
        NEXT();
        if (rm_value(e, &d, r, next, size, &v) != 0)
            return -1;
        w = alu(op, v, get(r, (unsigned)d.reg, size, d.rex), size, &r->eflags);
        if (op != A_CMP && op != A_TEST)
            put(r, (unsigned)d.rm, size, w);
        DONE();
    /* ALU, r op= r/m. */
    case 0x03:
    case 0x0b:
    case 0x23:
    case 0x2b:
    case 0x33:
    case 0x3b:
        if (modrm(&d) != 0)
            return -1;
        group1((o >> 3) & 7, &op);
        NEXT();
        if (rm_value(e, &d, r, next, size, &v) != 0)
            return -1;
        w = alu(op, get(r, (unsigned)d.reg, size, d.rex), v, size, &r->eflags);
        if (op != A_CMP)
            put(r, (unsigned)d.reg, size, w);
        DONE();
    /* Byte compares and tests (they write no register). */
    case 0x38:
    case 0x3a:
    case 0x84:
        if (modrm(&d) != 0)
            return -1;
        NEXT();
        if (rm_value(e, &d, r, next, 1, &v) != 0)
            return -1;
        w = get(r, (unsigned)d.reg, 1, d.rex);
        alu(o == 0x84 ? A_TEST : A_CMP, o == 0x3a ? w : v, o == 0x3a ? v : w, 1, &r->eflags);
        DONE();
    case 0x80: /* cmp $imm8, r/m8 */
    case 0xf6: /* test $imm8, r/m8 */
        if (modrm(&d) != 0 || (d.reg & 7) != (o == 0x80 ? 7 : 0) || imm(&d, 1, &im) != 0)
            return -1;
        NEXT();
        if (rm_value(e, &d, r, next, 1, &v) != 0)
            return -1;
        alu(o == 0x80 ? A_CMP : A_TEST, v, (uint64_t)im, 1, &r->eflags);
        DONE();
    case 0x3c: /* cmp $imm8, %al */
    case 0xa8: /* test $imm8, %al */
        if (imm(&d, 1, &im) != 0)
            return -1;
        NEXT();
        alu(o == 0x3c ? A_CMP : A_TEST, r->rax & 0xff, (uint64_t)im, 1, &r->eflags);
        DONE();
    /* ALU $imm32, %eax/%rax. */
    case 0x05:
    case 0x0d:
    case 0x25:
    case 0x2d:
    case 0x35:
    case 0x3d:
    case 0xa9:
        if (imm(&d, 4, &im) != 0)
            return -1;
        if (o == 0xa9)
            op = A_TEST;
        else
            group1((o >> 3) & 7, &op);
        NEXT();
        w = alu(op, get(r, 0, size, d.rex), (uint64_t)im, size, &r->eflags);
        if (op != A_CMP && op != A_TEST)
            put(r, 0, size, w);
        DONE();
    case 0x81: /* group 1, $imm32 */
    case 0x83: /* group 1, $imm8 */
        if (modrm(&d) != 0 || group1(d.reg & 7, &op) != 0 || imm(&d, o == 0x83 ? 1 : 4, &im) != 0 ||
            (d.mod != 3 && op != A_CMP))
            return -1;
        NEXT();
        if (rm_value(e, &d, r, next, size, &v) != 0)
            return -1;
        w = alu(op, v, (uint64_t)im, size, &r->eflags);
        if (op != A_CMP)
            put(r, (unsigned)d.rm, size, w);
        DONE();
    case 0xf7: /* test $imm32; not; neg */
        if (modrm(&d) != 0)
            return -1;
        if ((d.reg & 7) == 0) {
            if (imm(&d, 4, &im) != 0)
                return -1;
            NEXT();
            if (rm_value(e, &d, r, next, size, &v) != 0)
                return -1;
            alu(A_TEST, v, (uint64_t)im, size, &r->eflags);
            DONE();
        }
        if (d.mod != 3 || ((d.reg & 7) != 2 && (d.reg & 7) != 3))
            return -1;
        NEXT();
        v = get(r, (unsigned)d.rm, size, d.rex);
        put(r, (unsigned)d.rm, size, alu((d.reg & 7) == 2 ? A_NOT : A_NEG, v, 0, size, &r->eflags));
        DONE();
    case 0xff: /* inc, dec (registers) */
        if (modrm(&d) != 0 || d.mod != 3 || (d.reg & 7) > 1)
            return -1;
        NEXT();
        v = get(r, (unsigned)d.rm, size, d.rex);
        put(r, (unsigned)d.rm, size, alu((d.reg & 7) ? A_DEC : A_INC, v, 0, size, &r->eflags));
        DONE();
    case 0xc1: /* shl, shr, sar $imm8 */
    case 0xd1: /* ... by 1 */
    case 0xd3: /* ... by %cl */
        if (modrm(&d) != 0 || d.mod != 3)
            return -1;
        switch (d.reg & 7) {
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
            return -1;
        }
        im = 1;
        if (o == 0xc1 && imm(&d, 1, &im) != 0)
            return -1;
        if (o == 0xd3)
            im = (int64_t)(r->rcx & 0xff);
        /* A count of 0 changes no flag: not worth the special case. */
        if (((uint64_t)im & (size == 8 ? 63 : 31)) == 0)
            return -1;
        NEXT();
        v = get(r, (unsigned)d.rm, size, d.rex);
        put(r, (unsigned)d.rm, size, alu(op, v, (uint64_t)im, size, &r->eflags));
        DONE();
    case 0x0f:
        break;
    default:
        return -1;
    }
    /* Two-byte opcodes. */
    if (d.len >= n)
        return -1;
    o = b[d.len++];
    if (o >= 0x80 && o <= 0x8f) { /* jcc rel32 */
        if (imm(&d, 4, &im) != 0)
            return -1;
        NEXT();
        r->rip = cond(r->eflags, o & 15u) ? next + (uint64_t)im : next;
        return 0;
    }
    if (modrm(&d) != 0)
        return -1;
    NEXT();
    if (o >= 0x90 && o <= 0x9f) { /* setcc r8 */
        if (d.mod != 3)
            return -1;
        put8(r, (unsigned)d.rm, d.rex, (uint64_t)cond(r->eflags, o & 15u));
        DONE();
    }
    if (o >= 0x40 && o <= 0x4f) { /* cmovcc: reads its source either way */
        if (rm_value(e, &d, r, next, size, &v) != 0)
            return -1;
        put(r, (unsigned)d.reg, size,
            cond(r->eflags, o & 15u) ? v : get(r, (unsigned)d.reg, size, d.rex));
        DONE();
    }
    switch (o) {
    case 0xb6: /* movzx r/m8 */
    case 0xb7: /* movzx r/m16 */
    case 0xbe: /* movsx r/m8 */
    case 0xbf: /* movsx r/m16 */
    {
        int from = o & 1 ? 2 : 1;
        if (rm_value(e, &d, r, next, from, &v) != 0)
            return -1;
        put(r, (unsigned)d.reg, size, o >= 0xbe ? sext(v, from) : v);
        DONE();
    }
    case 0xaf: /* imul r/m, r */
        if (rm_value(e, &d, r, next, size, &v) != 0)
            return -1;
        put(r, (unsigned)d.reg, size,
            alu(A_IMUL, get(r, (unsigned)d.reg, size, d.rex), v, size, &r->eflags));
        DONE();
    default:
        return -1;
    }
#undef NEXT
#undef DONE
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
