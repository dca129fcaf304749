/*
 * tools/hvlab/main.c - the hvlab CLI: dispatch a subcommand from the table.
 *
 * Rules (see cmd.h C1-C2):
 *   M1  `hvlab COMMAND ...` runs the row named COMMAND; `hvlab COMMAND
 *       --help` prints that row's help and exits 0.
 *   M2  No command or an unknown one prints the usage to stderr, exit 2.
 *   M3  `hvlab --help` / `-h` and `hvlab --version` are the help and version
 *       commands under their conventional spellings.
 */
#include <string.h>

#include "tools/hvlab/cmd.h"

const struct command hvlab_commands[] = {
    { "run", "hvlab run SCENARIO [--seed N] [--sched threads|det] "
             "[--set KEY=VALUE]... [--trace DIR] [--dump-tables FILE]",
      "run a scenario and check its expectations (exit 0 held, 1 broken, 2 usage)",
      cmd_run, cmd_run_help },
    { "migrate", "hvlab migrate SCENARIO --to tcp://HOST:PORT|file:PATH [run options]",
      "run a scenario whose migration goes to another hvlab process",
      cmd_migrate, cmd_migrate_help },
    { "receive", "hvlab receive --listen [HOST:]PORT | --from FILE [--trace ...]",
      "be the destination of 'hvlab migrate': restore, resume, run, judge",
      cmd_receive, cmd_receive_help },
    { "explore", "hvlab explore SCENARIO --runs N [--jobs J] [--first-seed S] "
                 "[--set KEY=VALUE]... [--inject SPEC]... | --fail-nth [--max-nth K]",
      "search seeds / error paths in det mode; print replay lines",
      cmd_explore, cmd_explore_help },
    { "inject", "hvlab inject list [--hits FILE]",
      "the injection-point catalog (with a run's hit counts)",
      cmd_inject, cmd_inject_help },
    { "options", "hvlab options",
      "list every option of every layer and the expectations",
      cmd_options, cmd_options_help },
    { "repro", "hvlab repro CRASH [--surface mm|grant|shadow|restore] "
               "[--set KEY=VALUE]... [--minimize [--out FILE]] [--trace DIR]",
      "replay a fuzzer input: its program, the invariant it breaks; minimize it",
      cmd_repro, cmd_repro_help },
    { "fuzz", "hvlab fuzz SURFACE [-j N] [--out DIR] [--duration SECS] "
              "[--set KEY=VALUE]... [--no-cmplog] [--secondaries-only] "
              "| --status DIR [--json]",
      "run an AFL++ campaign on a surface; its combined status, its crashes",
      cmd_fuzz, cmd_fuzz_help },
    { "analyze", "hvlab analyze TRACE [--json] [--report] [--plot PREFIX] "
                 "[--only NAME,...] [--images SRC DST] | --list",
      "rebuild every frame's state from a trace, run the checkers (exit 0 none, 1 found)",
      cmd_analyze, cmd_analyze_help },
    { "top", "hvlab top [--pid PID] [--interval SECS] [--once] [--json] "
             "[--hist HYPERCALL] [--locks] [--entry] | --check",
      "live per-domain hypercall, fault, lock and migration figures of a running hvlab (BPF)",
      cmd_top, cmd_top_help },
    { "help", "hvlab help [COMMAND]",
      "print the usage, or one command's help",
      cmd_help, cmd_help_help },
    { "version", "hvlab version",
      "print hvlab's version and the Xen interface it speaks",
      cmd_version, cmd_version_help },
};
const unsigned hvlab_nr_commands = sizeof(hvlab_commands) / sizeof(hvlab_commands[0]);

const struct command *command_find(const char *name)
{
    for (unsigned i = 0; i < hvlab_nr_commands; i++)
        if (strcmp(hvlab_commands[i].name, name) == 0)
            return &hvlab_commands[i];
    return NULL;
}

void hvlab_usage(FILE *f)
{
    fprintf(f, "usage:\n");
    for (unsigned i = 0; i < hvlab_nr_commands; i++)
        fprintf(f, "  %s\n", hvlab_commands[i].synopsis);
    fprintf(f, "\ncommands:\n");
    for (unsigned i = 0; i < hvlab_nr_commands; i++)
        fprintf(f, "  %-10s %s\n", hvlab_commands[i].name,
                hvlab_commands[i].summary);
    fprintf(f, "\n'hvlab COMMAND --help' describes one command.\n");
}

int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        hvlab_usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        name = "help";
    else if (strcmp(name, "--version") == 0)
        name = "version";
    const struct command *c = command_find(name);
    if (!c) {
        fprintf(stderr, "hvlab: unknown command '%s'\n\n", argv[1]);
        hvlab_usage(stderr);
        return EXIT_USAGE;
    }
    if (c->run != cmd_help && wants_help(argc - 1, argv + 1)) {
        c->help(stdout);
        return 0;
    }
    return c->run(argc - 1, argv + 1);
}
