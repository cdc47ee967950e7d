#include <cstdio>
int main() { std::fprintf(stderr, "meshd: under construction\n"); return 2; }
