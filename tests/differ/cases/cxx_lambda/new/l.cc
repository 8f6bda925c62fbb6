#include <cstdio>
#include <functional>
// The lambda's operator() is reached through std::function: an indirect
// call the optimiser cannot inline away.
static std::function<int(int)> make(int base)
{
    return [base](int x) { return base * x; };
}
static std::function<int(int)> f = make(7);
extern "C" void lp_probe(void) { std::printf("lambda %d\n", f(5)); }
