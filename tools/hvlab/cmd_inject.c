/*
 * tools/hvlab/cmd_inject.c - `hvlab inject list [--hits FILE]`.
 *
 * Rules:
 *   J1  The listing is the catalog itself (inject/points.def through
 *       inj_catalog_print): it cannot drift from what plans accept.
 *   J2  --hits FILE reads what `hvlab run ... --inject-stats FILE` wrote
 *       and shows each point's hit and fire counts of that run.
 */
#include <string.h>

#include "inject/inject.h"
#include "tools/hvlab/cmd.h"

void cmd_inject_help(FILE *f)
{
    fprintf(f,
        "usage: hvlab inject list [--hits FILE]\n"
        "\n"
        "Print the injection-point catalog: every point a plan can bind\n"
        "(hvlab run --inject, a scenario's 'inject' lines, a plan file), the\n"
        "actions it accepts (delay, yield, fail with its errors, skip), where\n"
        "it sits and the window it opens.  docs/inject.md has the plan format.\n"
        "\n"
        "  --hits FILE   also show each point's hit and fire counts, as written\n"
        "                by 'hvlab run SCENARIO --inject-stats FILE'\n");
}

int cmd_inject(int argc, char **argv)
{
    const char *hits_file = NULL;

    if (argc < 2 || strcmp(argv[1], "list") != 0) {
        fprintf(stderr, "hvlab inject: expected 'list' (see 'hvlab inject "
                "--help')\n");
        return EXIT_USAGE;
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--hits") == 0 && i + 1 < argc)
            hits_file = argv[++i];
        else if (strncmp(argv[i], "--hits=", 7) == 0 && argv[i][7])
            hits_file = argv[i] + 7;
        else {
            fprintf(stderr, "hvlab inject list: unknown argument '%s' (see "
                    "'hvlab inject --help')\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (!hits_file) {
        inj_catalog_print(stdout, NULL, NULL);
        return 0;
    }
    uint64_t hits[INJ_NR_POINTS], fires[INJ_NR_POINTS];
    char err[512];
    if (inj_stats_read(hits_file, hits, fires, err, sizeof(err)) != 0) {
        fprintf(stderr, "hvlab inject list: --hits %s\n", err);
        return EXIT_USAGE;
    }
    inj_catalog_print(stdout, hits, fires);
    return 0;
}
