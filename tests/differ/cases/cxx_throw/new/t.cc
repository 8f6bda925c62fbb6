#include <cstdio>
#include <stdexcept>
__attribute__((noinline)) int check(int x)
{
    if (x > 3)
        throw std::runtime_error("much too big");
    return x;
}
// Exceptions from check() pass through here on their way to lp_probe().
__attribute__((noinline)) int relay(int x)
{
    struct Note { ~Note() { std::printf("unwound relay (new)\n"); } } note;
    return check(x) + 10;
}
extern "C" void lp_probe(void)
{
    for (int x = 1; x <= 4; x++) {
        try {
            std::printf("ok %d\n", relay(x));
        } catch (const std::exception &e) {
            std::printf("caught %s at %d\n", e.what(), x);
        }
    }
}
