#include <cstdio>
int main() { std::fprintf(stderr, "meshctl: under construction\n"); return 2; }
