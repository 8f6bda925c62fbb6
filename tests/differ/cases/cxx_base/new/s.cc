#include <cstdio>
struct Named {
    const char *name() const { return "named"; }
};
// No data: the empty base takes no room, so no member moves; only the
// class's bases (its typeinfo) tell.
struct Tagged {
    int tagged() const { return 7; }
};
struct Item : Named, Tagged {
    int id = 1;
    virtual int get() const;
};
__attribute__((noinline)) int Item::get() const { return id + tagged(); }
static Item item; // constant-initialised
static Item *it = &item;
extern "C" void lp_probe(void) { std::printf("get %d\n", it->get()); }
