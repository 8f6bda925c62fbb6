/*
 * tap.h - minimal TAP producer for the C unit tests.
 *
 *   TEST(name) { ... CHECK(cond); CHECK_EQ_INT(a, b); ... }
 *   int main(void) { RUN(name); ...; return tap_done(); }
 *
 * Each TEST is one TAP test point; a failed CHECK prints the expression and
 * its file:line as a TAP diagnostic and fails that point.
 */
#ifndef TAP_H
#define TAP_H

#include <stdio.h>
#include <string.h>

static int tap_count, tap_failed, tap_cur_failed;

#define TEST(name) static void test_##name(void)
#define RUN(name)                                                                                  \
    do {                                                                                           \
        tap_cur_failed = 0;                                                                        \
        test_##name();                                                                             \
        tap_count++;                                                                               \
        if (tap_cur_failed)                                                                        \
            tap_failed++;                                                                          \
        printf("%sok %d - %s\n", tap_cur_failed ? "not " : "", tap_count, #name);                  \
        fflush(stdout);                                                                            \
    } while (0)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("# %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);                      \
            tap_cur_failed = 1;                                                                    \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long tap_a_ = (long long)(a), tap_b_ = (long long)(b);                                \
        if (tap_a_ != tap_b_) {                                                                    \
            printf("# %s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__, #a, tap_a_,   \
                   #b, tap_b_);                                                                    \
            tap_cur_failed = 1;                                                                    \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *tap_a_ = (a), *tap_b_ = (b);                                                   \
        if (!tap_a_ || !tap_b_ || strcmp(tap_a_, tap_b_) != 0) {                                   \
            printf("# %s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a,             \
                   tap_a_ ? tap_a_ : "(null)", tap_b_ ? tap_b_ : "(null)");                        \
            tap_cur_failed = 1;                                                                    \
        }                                                                                          \
    } while (0)

static inline int tap_done(void)
{
    printf("1..%d\n", tap_count);
    return tap_failed ? 1 : 0;
}

#endif /* TAP_H */
