/*
 * tools/hvlab/opt.c - one option of a subcommand's command line (opt.h).
 */
#include <stdio.h>
#include <string.h>

#include "tools/hvlab/opt.h"

int opt_match(const char *cmd, int argc, char **argv, int *i,
              const char *const *names, size_t n, const char **value)
{
    const char *arg = argv[*i];
    for (size_t k = 0; k < n; k++) {
        size_t len = strlen(names[k]);
        if (strncmp(arg, names[k], len) != 0)
            continue;
        if (arg[len] == '=') {
            *value = arg + len + 1;
            return (int)k;
        }
        if (arg[len] != '\0')
            continue;                           /* O1 */
        if (*i + 1 >= argc) {
            fprintf(stderr, "hvlab %s: %s: missing its value\n(see 'hvlab "
                    "%s --help')\n", cmd, arg, cmd);
            return -1;
        }
        *value = argv[++*i];
        return (int)k;
    }
    return (int)n;
}
