int area(int w, int h);
int main(int argc, char **argv) { (void)argv; return area(argc, 2); }
