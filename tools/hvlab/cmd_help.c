/*
 * tools/hvlab/cmd_help.c - `hvlab help [COMMAND]` and `hvlab version`.
 *
 * Rules: help goes to stdout and exits 0; help for a command that does not
 * exist is a usage error (stderr, exit 2).
 */
#include <stdlib.h>
#include <string.h>

#include <xen/xen-compat.h>

#include "tools/hvlab/cmd.h"

#ifndef HVLAB_VERSION
#define HVLAB_VERSION "0.1.0"
#endif

void cmd_help_help(FILE *f)
{
    fprintf(f, "usage: hvlab help [COMMAND]\n\n"
               "Without COMMAND, list every command; with one, print its help\n"
               "(the same as 'hvlab COMMAND --help').\n");
}

int cmd_help(int argc, char **argv)
{
    if (argc < 2) {
        printf("hvlab - an instrumented Xen-style hypervisor memory-management "
               "core\n\n");
        hvlab_usage(stdout);
        return 0;
    }
    if (argc > 2) {
        fprintf(stderr, "hvlab help: one command at a time\n");
        cmd_help_help(stderr);
        return EXIT_USAGE;
    }
    const struct command *c = command_find(argv[1]);
    if (!c) {
        fprintf(stderr, "hvlab help: unknown command '%s'\n\n", argv[1]);
        hvlab_usage(stderr);
        return EXIT_USAGE;
    }
    c->help(stdout);
    return 0;
}

void cmd_version_help(FILE *f)
{
    fprintf(f, "usage: hvlab version\n\n"
               "Print hvlab's version and the Xen public interface version of\n"
               "the headers it was built with.\n");
}

int cmd_version(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "hvlab version: takes no arguments\n");
        return EXIT_USAGE;
    }
    printf("hvlab %s (Xen public interface %#x)\n", HVLAB_VERSION,
           __XEN_LATEST_INTERFACE_VERSION__);
    return 0;
}
