#include <cstdio>
struct Named {
    const char *name() const { return "named"; }
};
struct Tagged {
    int tag = 7;
};
struct Item : Named {
    int id = 1;
    virtual int get() const;
};
__attribute__((noinline)) int Item::get() const { return id; }
static Item item; // constant-initialised
static Item *it = &item;
extern "C" void lp_probe(void) { std::printf("get %d\n", it->get()); }
