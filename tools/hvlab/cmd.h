/*
 * tools/hvlab/cmd.h - the subcommands of the hvlab CLI.
 *
 * Rules:
 *   C1  Every subcommand is one row of the table in main.c: name, synopsis,
 *       one-line summary, its function and its --help text.
 *   C2  A subcommand returns the process exit code: 0 success (for `run`:
 *       every expectation held), 1 failure (an expectation broke, a trace
 *       lost events), 2 usage or input error.  Errors go to stderr and name
 *       what was wrong.
 */
#ifndef HVLAB_TOOLS_HVLAB_CMD_H
#define HVLAB_TOOLS_HVLAB_CMD_H

#include <stdio.h>

#define EXIT_HELD   0
#define EXIT_BROKEN 1
#define EXIT_USAGE  2

struct command {
    const char *name;
    const char *synopsis;           /* "hvlab run SCENARIO [...]" */
    const char *summary;            /* one line for `hvlab help` */
    int (*run)(int argc, char **argv);  /* argv[0] is the command name */
    void (*help)(FILE *f);          /* the command's --help */
};

/* The table (main.c) and a lookup in it. */
extern const struct command hvlab_commands[];
extern const unsigned hvlab_nr_commands;
const struct command *command_find(const char *name);
/* The general usage: synopsis of every command. */
void hvlab_usage(FILE *f);

/* True when argv[1..] asks for help (--help or -h anywhere). */
int wants_help(int argc, char **argv);

int cmd_run(int argc, char **argv);
void cmd_run_help(FILE *f);
int cmd_migrate(int argc, char **argv);
void cmd_migrate_help(FILE *f);
int cmd_receive(int argc, char **argv);
void cmd_receive_help(FILE *f);
int cmd_explore(int argc, char **argv);
void cmd_explore_help(FILE *f);
int cmd_inject(int argc, char **argv);
void cmd_inject_help(FILE *f);
int cmd_options(int argc, char **argv);
void cmd_options_help(FILE *f);
int cmd_repro(int argc, char **argv);
void cmd_repro_help(FILE *f);
int cmd_fuzz(int argc, char **argv);
void cmd_fuzz_help(FILE *f);
int cmd_analyze(int argc, char **argv);
void cmd_analyze_help(FILE *f);
int cmd_top(int argc, char **argv);
void cmd_top_help(FILE *f);
int cmd_help(int argc, char **argv);
void cmd_help_help(FILE *f);
int cmd_version(int argc, char **argv);
void cmd_version_help(FILE *f);

#endif /* HVLAB_TOOLS_HVLAB_CMD_H */
