// exc.cc - target of tests/applier/unwind.bats: C++ exceptions through
// patched code.  lp_thrower() (patched: VERSION differs between OLD and
// NEW) throws, an unpatched caller catches; lp_through() (patched, with a
// destructor to run on the way) calls lp_callee() (unpatched), which
// throws through it to an unpatched catch.  The status file argv[1] gets
// what was caught and how many destructors ran, once per loop.
#include <cstdio>
#include <stdexcept>
#include <string>
#include <unistd.h>

#define STR1(x) #x
#define STR(x)  STR1(x)

static unsigned long destroyed;

struct Guard {
    ~Guard()
    {
        destroyed++;
    }
};

__attribute__((noinline)) int lp_callee(int x)
{
    if (x > 0)
        throw x * 10;
    return x;
}

__attribute__((noinline)) int lp_thrower(int x)
{
    if (x > 0)
        throw std::runtime_error("thrown-by-version-" STR(VERSION));
    return x + VERSION; /* the hot part differs too, not only the cold one */
}

__attribute__((noinline)) int lp_through(int x)
{
    Guard g;
    volatile int k = VERSION;
    return lp_callee(x) + k;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "/dev/null";
    std::string tmp = std::string(path) + ".tmp";
    for (unsigned long seq = 1;; seq++) {
        std::string what = "none";
        int through = 0;
        try {
            lp_thrower(1);
        } catch (const std::exception &e) {
            what = e.what();
        }
        try {
            lp_through(1);
        } catch (int v) {
            through = v;
        }
        if (FILE *f = fopen(tmp.c_str(), "w")) {
            fprintf(f, "seq=%lu caught=%s through=%d destroyed=%lu\n", seq, what.c_str(), through,
                    destroyed);
            fclose(f);
            rename(tmp.c_str(), path);
        }
        usleep(20000);
    }
}
