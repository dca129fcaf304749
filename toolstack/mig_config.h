/*
 * toolstack/mig_config.h - the config a migration between two hvlab
 * processes carries in the xl header (toolstack/xl_stream.h X1): what the
 * receiver needs to rebuild the run around the domain it restores.
 *
 * Rules:
 *   G1  Text, one "key value" per line, then a line "---", then the
 *       scenario's own text with one `set KEY=VALUE` line per --set of the
 *       sender appended (a later `set` wins: scenario.h S2):
 *           hvlab-migration 1
 *           scenario PATH       the sender's scenario file (for messages)
 *           seed N              the run's seed (workload seeds derive from it)
 *           from-host N         the sender's host id
 *           disk PATH           shared storage of the migrated blk-io
 *                               domain (absent: no disk)
 *           ---
 *   G2  The parser is total: an unknown key, a missing `---`, a missing
 *       version line or a bad number is -XEN_EINVAL with err naming the
 *       line; the scenario text is then parsed by scenario_parse_text, whose
 *       errors name "PATH (from the migration stream):LINE".
 */
#ifndef HVLAB_TOOLSTACK_MIG_CONFIG_H
#define HVLAB_TOOLSTACK_MIG_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MIG_CONFIG_VERSION  1

struct mig_config {
    char scenario[PATH_MAX];
    uint64_t seed;
    unsigned from_host;
    char disk[PATH_MAX];            /* "" when none */
    const char *text;               /* the scenario text (into the parsed
                                       buffer; valid while it is) */
};

/* G1: a malloc'd, NUL-terminated config (*len without the NUL), or NULL
   when out of memory. */
char *mig_config_build(const struct mig_config *c, const char *scenario_text,
                       const char *const *sets, unsigned nr_sets,
                       size_t *len);
/* G2: parse buf (NUL-terminated, modified in place); c->text points into
   it.  0 or -XEN_EINVAL with err filled. */
int mig_config_parse(char *buf, struct mig_config *c, char *err,
                     size_t errlen);

#endif /* HVLAB_TOOLSTACK_MIG_CONFIG_H */
