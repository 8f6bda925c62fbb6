static const int primes[] = {2, 3, 5, 7, 13};
int nth_prime(int i) { return primes[i % 5]; }
int twice(int x) { return 2 * x; }
int main(int argc, char **argv) { (void)argv; return nth_prime(argc) + twice(argc); }
