enum state { IDLE, BUSY, DONE };
enum state current = IDLE;
int is_done(void) { return current == DONE; }
int main(void) { return is_done(); }
