/*
 * tools/hvlab/traced.h - run a subcommand again, traced (`--trace SPEC`).
 *
 *   if (args.trace_spec)
 *       return traced_reexec("migrate", argc, argv, args.trace_spec);
 *
 * Any subcommand that got --trace SPEC hands its own argv (argv[0] is the
 * command name, as main.c passes it) to traced_reexec, after checking
 * everything else the user typed.  SPEC is a directory or a relayd URL
 * net://HOST[:CTRL[:DATA]] (trace/record.h).  Rules in traced.c.
 */
#ifndef HVLAB_TOOLS_HVLAB_TRACED_H
#define HVLAB_TOOLS_HVLAB_TRACED_H

/*
 * Begin a recording session into spec (session named after cmd), re-execute
 * hvlab with the same arguments minus --trace, wait for it (SIGINT/SIGTERM
 * forwarded), end the session and print the summary.  Returns the exit code
 * for the command: the traced run's own, 1 when the trace lost anything or
 * the session failed to end, 2 when the session could not begin, 128+sig
 * when interrupted.  Messages start with "hvlab <cmd>:".
 */
int traced_reexec(const char *cmd, int argc, char **argv, const char *spec);

#endif /* HVLAB_TOOLS_HVLAB_TRACED_H */
