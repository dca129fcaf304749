/*
 * core/options.h - the hypervisor's run options (the bug zoo's switches).
 *
 * Where Xen changed behaviour over the years, hvlab keeps each variant as a
 * named option, so a researcher can switch the historical behaviour on:
 *   ptwr.mode = emulate | unhook     (XEN-NOTES 3.1 / 3.2, story C)
 * Options are declared once in the table in options.c; `--set key=value`
 * and scenario files go through hv_option_set().
 */
#ifndef HVLAB_CORE_OPTIONS_H
#define HVLAB_CORE_OPTIONS_H

#include <stdio.h>

#include "core/types.h"

enum ptwr_mode {
    PTWR_EMULATE = 0,   /* today's Xen: trap and emulate every L1 write */
    PTWR_UNHOOK  = 1,   /* Xen 3.0: unhook the L1, let the guest write it */
};

struct hv_options {
    enum ptwr_mode ptwr_mode;   /* ptwr.mode */
    bool pv_linear_pt;          /* mm.linear_pt: allow linear page tables */
    unsigned preempt_budget;    /* mm.preempt_budget: entries between
                                   preemption checks of long operations
                                   (0 = never preempt) */
};

void hv_options_default(struct hv_options *o);

/*
 * Set one option from text.  Returns 0, or -1 with a message in why[]
 * naming the key and the values it accepts.  Keys it does not know are
 * reported as such (callers may try another layer's table first).
 */
int hv_option_set(struct hv_options *o, const char *key, const char *value,
                  char *why, size_t whylen);
bool hv_option_known(const char *key);
/* One line per option: key, current value, accepted values, meaning. */
void hv_options_print(const struct hv_options *o, FILE *f);

#endif /* HVLAB_CORE_OPTIONS_H */
