/*
 * fuzz/oracle.c - the switch of the oracle (fuzz/fuzz.h fuzz_set_oracle,
 * fuzz/exec.c E10), read by fz_oracle (fuzz/call.c CA4) and the restore
 * surface (fuzz/restore.c FR2).
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz/fuzz.h"

static bool oracle_on = true;

void fuzz_set_oracle(bool on)
{
    oracle_on = on;
}

bool fuzz_oracle_on(void)
{
    return oracle_on;
}

int fuzz_set_oracle_named(const char *name)
{
    if (name && !strcmp(name, "off"))
        oracle_on = false;
    else if (!name || !*name || !strcmp(name, "on"))
        oracle_on = true;
    else
        return -1;
    return 0;
}
