struct Acc { int v; int add(int x) { v += x * 2; return v; } };
