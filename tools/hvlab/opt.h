/*
 * tools/hvlab/opt.h - one option of a subcommand's command line.
 *
 * Rules:
 *   O1  Every option takes one value, as "--name VALUE" or "--name=VALUE";
 *       a prefix of a name is not the name ("--set" is not "--settle").
 *   O2  A missing value is a usage error printed as "hvlab CMD: --name:
 *       missing its value" with the pointer to the command's --help.
 */
#ifndef HVLAB_TOOLS_HVLAB_OPT_H
#define HVLAB_TOOLS_HVLAB_OPT_H

#include <stddef.h>

/* argv[*i] against the names (each "--something"): its index, with *value
   set and *i moved past the value; n when it is none of them; -1 when its
   value is missing (O2, printed). */
int opt_match(const char *cmd, int argc, char **argv, int *i,
              const char *const *names, size_t n, const char **value);

#endif /* HVLAB_TOOLS_HVLAB_OPT_H */
