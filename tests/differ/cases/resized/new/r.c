int hist[16];
void record(int v) { hist[v & 15]++; }
int main(int argc, char **argv) { (void)argv; record(argc); return hist[1]; }
