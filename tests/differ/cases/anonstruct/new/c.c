typedef struct {
    int fd;
    int flags;
    long bytes;
} CONN;
CONN conns[4];
long total(void) { long t = 0; for (int i = 0; i < 4; i++) t += conns[i].bytes; return t; }
int main(void) { return (int)total(); }
