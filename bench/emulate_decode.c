/*
 * bench/emulate_decode.c - ns per instruction: lpatch's own decoder
 * (emulate.c: decode and execute one instruction on saved registers, its
 * bytes read through the page cache) against Zydis decoding the same bytes
 * (ZydisDecoderDecodeFull: decode only, nothing executed).  The stream is
 * a function epilogue of the kinds emulate.c exists for: moves, compares,
 * a branch, pops and a return, repeated.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/user.h>
#include <time.h>
#include <unistd.h>

#include <Zydis/Zydis.h>

#include "emulate.h"

/* mov %rdi,%rax; add $8,%rax; cmp %rsi,%rax; mov 8(%rsp),%rdx; test %edx,%edx;
 * jne +0; lea 16(%rsp),%rcx; pop %rbx; pop %rbp; ret */
static const uint8_t code[] = {0x48, 0x89, 0xf8, 0x48, 0x83, 0xc0, 0x08, 0x48, 0x39,
                               0xf0, 0x48, 0x8b, 0x54, 0x24, 0x08, 0x85, 0xd2, 0x75,
                               0x00, 0x48, 0x8d, 0x4c, 0x24, 0x10, 0x5b, 0x5d, 0xc3};
enum { NINSN = 10 };

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 200000;
    int memfd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
    if (memfd < 0) {
        perror("/proc/self/mem");
        return 2;
    }
    uint64_t stack[8] = {0, 0, 0, 0};
    /* hand decoder: run the block from its start, stack refilled each round */
    struct lpa_emu *e = calloc(1, sizeof *e);
    e->memfd = memfd;
    unsigned long done = 0;
    uint64_t t0 = now_ns();
    for (long k = 0; k < rounds; k++) {
        stack[2] = 1, stack[3] = 2, stack[4] = (uint64_t)(uintptr_t)code; /* rbx, rbp, ret */
        struct user_regs_struct r = {.rip = (uint64_t)(uintptr_t)code,
                                     .rsp = (uint64_t)(uintptr_t)&stack[2] - 0,
                                     .orig_rax = (unsigned long long)-1};
        for (int i = 0; i < NINSN; i++)
            done += (unsigned long)lpa_emu_step(e, &r);
    }
    uint64_t hand = now_ns() - t0;
    /* Zydis: decode the same bytes */
    ZydisDecoder dec;
    ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    ZydisDecodedInstruction in;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    unsigned long zdone = 0;
    t0 = now_ns();
    for (long k = 0; k < rounds; k++)
        for (size_t off = 0; off < sizeof code;) {
            if (!ZYAN_SUCCESS(
                    ZydisDecoderDecodeFull(&dec, code + off, sizeof code - off, &in, ops)))
                break;
            off += in.length;
            zdone++;
        }
    uint64_t zyd = now_ns() - t0;
    if (done != (unsigned long)rounds * NINSN || zdone != (unsigned long)rounds * NINSN) {
        fprintf(stderr, "emulated %lu, decoded %lu of %lu\n", done, zdone,
                (unsigned long)rounds * NINSN);
        return 1;
    }
    printf("| emulate.c: decode + execute, ns/insn | %.1f | |\n", (double)hand / (double)done);
    printf("| Zydis DecodeFull, decode only, ns/insn | %.1f | |\n", (double)zyd / (double)zdone);
    free(e);
    close(memfd);
    return 0;
}
