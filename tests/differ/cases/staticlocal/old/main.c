int tick(void);
int main(void) { return tick() == 1 ? 0 : 1; }
