/*
 * tools/hvlab/cmd_options.c - `hvlab options`: every knob of every layer.
 *
 * Rules: each layer prints its own table (the hypervisor's, the guest
 * kernel's, the scenario expectations) so this listing cannot drift from
 * what `set KEY=VALUE` / `--set` accept.
 */
#include "core/options.h"
#include "guest/guest.h"
#include "toolstack/scenario.h"
#include "tools/hvlab/cmd.h"

void cmd_options_help(FILE *f)
{
    fprintf(f, "usage: hvlab options\n\n"
               "List every option a scenario's 'set KEY=VALUE' line or 'hvlab run\n"
               "--set KEY=VALUE' accepts, layer by layer, with its default, the\n"
               "values it accepts and what it means; then the expectations a\n"
               "scenario can state.  docs/scenarios.md describes the file format.\n");
}

int cmd_options(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "hvlab options: takes no arguments\n");
        return EXIT_USAGE;
    }
    struct hv_options hv;
    struct guest_options g;
    hv_options_default(&hv);
    guest_options_default(&g);
    printf("hypervisor options (set KEY=VALUE, --set KEY=VALUE):\n");
    hv_options_print(&hv, stdout);
    printf("\nguest kernel options:\n");
    guest_options_print(&g, stdout);
    printf("\nrun options (hvlab run):\n"
           "  --seed N                 seed of every workload (default: the "
           "scenario's 'seed', else 0)\n"
           "  --sched threads|det      vCPUs as threads (real races) or "
           "deterministic coroutines\n"
           "  --set KEY=VALUE          an option above; overrides the scenario's\n"
           "  --trace DIR              record a complete LTTng trace into DIR\n"
           "  --dump-tables FILE       write every validated page table's present "
           "entries\n");
    printf("\nexpectations (expect NAME [N]):\n");
    expect_list(stdout);
    return 0;
}
