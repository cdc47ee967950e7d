#include <cstdio>
int main() { std::fprintf(stderr, "meshsim: under construction\n"); return 2; }
