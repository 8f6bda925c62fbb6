/*
 * test_applier_emulate.c - lpatch's instruction emulation against the CPU.
 *
 * A child runs a block of every instruction form emulate.c claims to do,
 * on registers and memory refilled at random each round, plus ordinary
 * compiled C.  The parent single-steps it: before each step it emulates
 * the instruction on a copy of the registers; after the step it compares
 * every general register, the IP and the arithmetic flags with what the
 * CPU did.  Any difference fails, and so does a form in the block that
 * was not emulated.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emulate.h"
#include "tap.h"

/* emu_block(table): rdi = 128 bytes of random data.  Between emu_body and
 * emu_body_end every instruction is one emulate.c must do. */
__asm__(".text\n"
        ".globl emu_block\n"
        ".type emu_block, @function\n"
        "emu_block:\n"
        "  push %rbp\n"
        "  mov %rsp, %rbp\n"
        "  push %rbx\n"
        "  push %r12\n"
        "  push %r13\n"
        "  push %r14\n"
        "  push %r15\n"
        "  sub $0x28, %rsp\n"
        ".globl emu_body\n"
        "emu_body:\n"
        "  mov (%rdi), %rax\n"
        "  mov 8(%rdi), %rbx\n"
        "  mov 16(%rdi), %ecx\n"
        "  mov 24(%rdi), %rdx\n"
        "  movslq 32(%rdi), %r8\n"
        "  movzbl 40(%rdi), %r9d\n"
        "  movzwl 42(%rdi), %r10d\n"
        "  movsbq 44(%rdi), %r11\n"
        "  movswl 46(%rdi), %r12d\n"
        "  mov 48(%rdi), %rsi\n"
        "  lea 0x10(%rax,%rbx,4), %r13\n"
        "  lea -7(%rip), %r14\n"
        "  lea (%rcx,%rcx,2), %r15d\n"
        "  lea 0x1234(,%rdx,8), %r14\n"
        "  lea (%r12,%r13), %r15\n"
        "  mov %rax, %r15\n"
        "  mov %ebx, %r14d\n"
        "  add %rax, %rbx\n"
        "  sub %ecx, %edx\n"
        "  and $0xff00ff, %r8\n"
        "  or %r9, %r10\n"
        "  xor %r12, %r13\n"
        "  xor %r11d, %r11d\n"
        "  cmp %rax, %rbx\n"
        "  cmovl %rcx, %rdx\n"
        "  cmovae %r8d, %r9d\n"
        "  cmovne 8(%rdi), %r10\n"
        "  test %r10, %rsi\n"
        "  cmp $5, %ecx\n"
        "  jle 1f\n"
        "  add $3, %ecx\n"
        "1:\n"
        "  imul %rbx, %rax\n"
        "  imul 16(%rdi), %ecx\n"
        "  shl $3, %rdx\n"
        "  or $1, %ecx\n"
        "  shr %cl, %r8\n"
        "  sar $1, %r9d\n"
        "  sar $13, %rsi\n"
        "  neg %r10\n"
        "  not %r11d\n"
        "  inc %r12\n"
        "  dec %r13d\n"
        "  cmpb $0x41, 3(%rdi)\n"
        "  testb $1, %al\n"
        "  cmp %cl, %dl\n"
        "  cmp 5(%rdi), %sil\n"
        "  test %bh, %ah\n"
        "  test %r9b, %r10b\n"
        "  cmp 8(%rdi), %rax\n"
        "  cmpq $100, 16(%rdi)\n"
        "  cmpl $0x12345, 24(%rdi)\n"
        "  test %rax, 32(%rdi)\n"
        "  testl $0x80, 40(%rdi)\n"
        "  testb $4, 41(%rdi)\n"
        "  add 8(%rdi), %r14\n"
        "  sub 16(%rdi), %r15d\n"
        "  xor 24(%rdi), %rsi\n"
        "  sete %dl\n"
        "  setg %ah\n"
        "  setb %r9b\n"
        "  setnp %sil\n"
        "  mov %al, %r10b\n"
        "  mov %cl, %bh\n"
        "  mov 3(%rdi), %ch\n"
        "  mov 6(%rdi), %r11b\n"
        "  movabs $0x123456789abc, %r15\n"
        "  mov $-5, %rax\n"
        "  mov $7, %ecx\n"
        "  mov $0x11, %r11d\n"
        "  add $0x1000, %eax\n"
        "  cmp $0x7f, %al\n"
        "  cmp $-1, %rax\n"
        "  test $0x10, %al\n"
        "  test $0x100, %eax\n"
        "  sub $0x12345678, %rdx\n"
        "  add $-8, %r8d\n"
        "  mov 56(%rdi), %rax\n"
        "  add 64(%rdi), %rax\n"
        "  jo 2f\n"
        "  jc 2f\n"
        "  jp 3f\n"
        "  js 3f\n"
        "2:\n"
        "  jmp 4f\n"
        "  .byte 0x0f, 0x0b\n" /* ud2: never reached */
        "3:\n"
        "  jne 4f\n"
        "4:\n"
        "  .byte 0x0f, 0x85\n"
        "  .long 0\n" /* jne rel32 +0 */
        "  .byte 0x0f, 0x84\n"
        "  .long 0\n" /* je rel32 +0 */
        "  nopl 0(%rax)\n"
        "  nopw 0(%rax,%rax,1)\n"
        "  .byte 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0\n"
        "  xchg %ax, %ax\n"
        "  nop\n"
        "  endbr64\n"
        "  mov (%rsp), %rax\n"
        "  add $0x28, %rsp\n"
        "  pop %r15\n"
        "  pop %r14\n"
        "  pop %r13\n"
        "  pop %r12\n"
        "  pop %rbx\n"
        "  leave\n"
        "  ret\n"
        ".globl emu_body_end\n"
        "emu_body_end:\n"
        "  .size emu_block, .-emu_block\n");

void emu_block(uint8_t *table);
extern const char emu_body[], emu_body_end[];

/* ret $imm16 (dropping 8 bytes reserved before its call), then rep ret. */
__asm__(".text\n"
        ".globl emu_rets\n"
        "emu_rets:\n"
        "  sub $8, %rsp\n"
        "  call 1f\n"
        "  .byte 0xf3, 0xc3\n"
        "1:\n"
        "  ret $8\n");
void emu_rets(void);

static unsigned long long lcg(unsigned long long *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s;
}

/* Ordinary compiled code for the emulator to meet as well. */
__attribute__((noinline)) static unsigned mix(const uint8_t *p, size_t n)
{
    unsigned h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h > 0x80000000u ? h >> 3 : h + (unsigned)n;
}

static volatile unsigned sink;

static void child(void)
{
    uint8_t table[128];
    unsigned long long s = 42;
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    raise(SIGSTOP);
    for (;;) {
        for (size_t i = 0; i < sizeof table; i += 8) {
            unsigned long long v = lcg(&s);
            /* small values too, so compares and branches go both ways */
            if (v & 1)
                v >>= (v >> 1) & 63;
            memcpy(table + i, &v, 8);
        }
        emu_block(table);
        emu_rets();
        sink += mix(table, sizeof table);
    }
}

#define F_ARITH 0x8d5ull

/* Flags the architecture leaves undefined after the instruction at b
 * (imul: SF ZF AF PF; shifts: AF, and OF but for 1-bit shifts; logic: AF):
 * the CPU need not leave the same values twice, and no code reads them. */
static uint64_t undefined_flags(const uint8_t *b)
{
    size_t i = (b[0] & 0xf0) == 0x40;
    uint8_t o = b[i];
    if (o == 0x0f && b[i + 1] == 0xaf)
        return 0xd4;
    if (o == 0xc1 || o == 0xd3)
        return 0x810;
    if (o == 0xd1)
        return 0x10;
    if (o == 0x21 || o == 0x23 || o == 0x25 || o == 0x09 || o == 0x0b || o == 0x0d || o == 0x31 ||
        o == 0x33 || o == 0x35 || o == 0x84 || o == 0x85 || o == 0xa8 || o == 0xa9 || o == 0xf6 ||
        (o == 0xf7 && (b[i + 1] & 0x38) == 0) ||
        ((o == 0x81 || o == 0x83) && ((b[i + 1] >> 3) & 7) == 1) ||
        ((o == 0x81 || o == 0x83) && ((b[i + 1] >> 3) & 7) == 4) ||
        ((o == 0x81 || o == 0x83) && ((b[i + 1] >> 3) & 7) == 6))
        return 0x10;
    return 0;
}

static int same(const struct user_regs_struct *a, const struct user_regs_struct *b, uint64_t undef)
{
    return a->rax == b->rax && a->rbx == b->rbx && a->rcx == b->rcx && a->rdx == b->rdx &&
           a->rsi == b->rsi && a->rdi == b->rdi && a->rbp == b->rbp && a->rsp == b->rsp &&
           a->r8 == b->r8 && a->r9 == b->r9 && a->r10 == b->r10 && a->r11 == b->r11 &&
           a->r12 == b->r12 && a->r13 == b->r13 && a->r14 == b->r14 && a->r15 == b->r15 &&
           a->rip == b->rip && (a->eflags & F_ARITH & ~undef) == (b->eflags & F_ARITH & ~undef);
}

TEST(emulation_matches_the_cpu_instruction_by_instruction)
{
    pid_t pid = fork();
    if (pid == 0) {
        child();
        _exit(0);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFSTOPPED(st));
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
    int memfd = open(path, O_RDONLY);
    CHECK(memfd >= 0);
    uint64_t lo = (uint64_t)(uintptr_t)emu_body, hi = (uint64_t)(uintptr_t)emu_body_end;
    enum { STEPS = 40000, SPAN = 512 };
    static unsigned char seen[SPAN], missed[SPAN];
    long emulated = 0, differ = 0, rets = 0;
    for (int i = 0; i < STEPS; i++) {
        struct user_regs_struct before, emu, after;
        if (ptrace(PTRACE_GETREGS, pid, 0, &before) != 0)
            break;
        emu = before;
        struct lpa_emu e = {.memfd = memfd};
        int done = lpa_emu_step(&e, &emu);
        int in_body = before.rip >= lo && before.rip < hi && before.rip - lo < SPAN;
        if (ptrace(PTRACE_SINGLESTEP, pid, 0, 0) != 0 || waitpid(pid, &st, 0) != pid ||
            !WIFSTOPPED(st) || ptrace(PTRACE_GETREGS, pid, 0, &after) != 0)
            break;
        if (in_body) {
            seen[before.rip - lo] = 1;
            missed[before.rip - lo] |= !done;
        }
        if (!done)
            continue;
        emulated++;
        rets += (before.rip - (uint64_t)(uintptr_t)emu_rets) < 16 && !in_body;
        uint8_t b[8] = {0};
        if (pread(memfd, b, sizeof b, (off_t)before.rip) < 0)
            memset(b, 0, sizeof b);
        if (!same(&emu, &after, undefined_flags(b)) && differ++ < 10) {
            printf("# at %#llx (%02x %02x %02x %02x %02x %02x): emulated rip %#llx rax %#llx "
                   "rcx %#llx rdx %#llx rsp %#llx fl %#llx; cpu rip %#llx rax %#llx rcx %#llx "
                   "rdx %#llx rsp %#llx fl %#llx\n",
                   before.rip, b[0], b[1], b[2], b[3], b[4], b[5], emu.rip, emu.rax, emu.rcx,
                   emu.rdx, emu.rsp, emu.eflags & F_ARITH, after.rip, after.rax, after.rcx,
                   after.rdx, after.rsp, after.eflags & F_ARITH);
        }
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    close(memfd);
    int forms = 0, missing = 0;
    for (uint64_t a = 0; a < hi - lo && a < SPAN; a++) {
        forms += seen[a];
        if (missed[a] && missing++ < 5)
            printf("# not emulated: emu_body+%#llx\n", (unsigned long long)a);
    }
    printf("# %ld instructions emulated and checked, %d forms of the block seen\n", emulated,
           forms);
    CHECK_EQ_INT(differ, 0);
    CHECK_EQ_INT(missing, 0);
    CHECK(forms >= 100); /* all 102 but ud2 and, maybe, one branch's */
    CHECK(emulated > STEPS / 4);
    CHECK(rets > 0);
}

TEST(what_is_not_done_here_is_left_untouched)
{
    /* A store, a push, a call, a syscall and a 16-bit operation. */
    static const uint8_t code[][8] = {
        {0x48, 0x89, 0x07},       /* mov %rax,(%rdi) */
        {0x50},                   /* push %rax */
        {0xe8, 0, 0, 0, 0},       /* call */
        {0x0f, 0x05},             /* syscall */
        {0x66, 0x01, 0xc0},       /* add %ax,%ax */
        {0xf0, 0x48, 0x01, 0x07}, /* lock add %rax,(%rdi) */
        {0x5c},                   /* pop %rsp */
        {0xc1, 0xe0, 0x00},       /* shl $0,%eax */
    };
    int memfd = open("/proc/self/mem", O_RDONLY);
    CHECK(memfd >= 0);
    for (size_t i = 0; i < sizeof code / sizeof code[0]; i++) {
        struct user_regs_struct r, was;
        memset(&r, 0x5a, sizeof r);
        r.rip = (unsigned long long)(uintptr_t)code[i];
        was = r;
        struct lpa_emu e = {.memfd = memfd};
        CHECK_EQ_INT(lpa_emu_step(&e, &r), 0);
        CHECK(memcmp(&r, &was, sizeof r) == 0);
    }
    close(memfd);
}

int main(void)
{
    RUN(emulation_matches_the_cpu_instruction_by_instruction);
    RUN(what_is_not_done_here_is_left_untouched);
    return tap_done();
}
