struct Acc { int v; int add(int x) { v += x * 3; return v; } };
