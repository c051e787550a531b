/* coffre - server and command-line client entry point (stub, wired later). */
#include <stdio.h>

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "coffre: not yet wired\n");
    return 2;
}
