/*
 * toolstack/mig_config.c - the config of a migration between two hvlab
 * processes (rules G1-G2 in mig_config.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/types.h"
#include "toolstack/mig_config.h"

char *mig_config_build(const struct mig_config *c, const char *scenario_text,
                       const char *const *sets, unsigned nr_sets,
                       size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f)
        return NULL;
    fprintf(f, "hvlab-migration %u\nscenario %s\nseed %" PRIu64
            "\nfrom-host %u\n", MIG_CONFIG_VERSION, c->scenario, c->seed,
            c->from_host);
    if (c->disk[0])
        fprintf(f, "disk %s\n", c->disk);
    fprintf(f, "---\n%s", scenario_text);
    if (*scenario_text && scenario_text[strlen(scenario_text) - 1] != '\n')
        fputc('\n', f);
    for (unsigned i = 0; i < nr_sets; i++)
        fprintf(f, "set %s\n", sets[i]);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static int num(const char *v, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 0);
    if (errno || end == v || *end || *v == '-' || x > max)
        return -1;
    *out = x;
    return 0;
}

static int copy(char *dst, size_t len, const char *v)
{
    if (!*v || strlen(v) >= len)
        return -1;
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

int mig_config_parse(char *buf, struct mig_config *c, char *err,
                     size_t errlen)
{
    memset(c, 0, sizeof(*c));
    bool version = false, seed = false, host = false, scn = false;
    unsigned line = 0;
    char *p = buf;
    for (;;) {
        line++;
        char *nl = strchr(p, '\n');
        if (!nl) {
            snprintf(err, errlen, "migration config: no '---' line before "
                     "the scenario (line %u)", line);
            return -XEN_EINVAL;
        }
        *nl = '\0';
        if (strcmp(p, "---") == 0) {
            c->text = nl + 1;
            break;
        }
        char *sp = strchr(p, ' ');
        const char *key = p, *v = sp ? sp + 1 : "";
        if (sp)
            *sp = '\0';
        uint64_t x;
        int bad = 0;
        if (!version) {
            bad = strcmp(key, "hvlab-migration") || num(v, ~0U, &x) ||
                  x != MIG_CONFIG_VERSION;
            version = !bad;
        } else if (strcmp(key, "scenario") == 0) {
            bad = copy(c->scenario, sizeof(c->scenario), v);
            scn = !bad;
        } else if (strcmp(key, "seed") == 0) {
            bad = num(v, UINT64_MAX, &c->seed);
            seed = !bad;
        } else if (strcmp(key, "from-host") == 0) {
            bad = num(v, 255, &x);
            c->from_host = (unsigned)x;
            host = !bad;
        } else if (strcmp(key, "disk") == 0) {
            bad = copy(c->disk, sizeof(c->disk), v);
        } else {
            snprintf(err, errlen, "migration config line %u: unknown key "
                     "'%.40s'", line, key);
            return -XEN_EINVAL;
        }
        if (bad && version) {
            snprintf(err, errlen, "migration config line %u: bad value for "
                     "%s: '%.200s'", line, key, v);
            return -XEN_EINVAL;
        }
        if (bad) {
            snprintf(err, errlen, "migration config line %u: expected "
                     "'hvlab-migration %u', got '%.40s%s%.160s'", line,
                     MIG_CONFIG_VERSION, key, sp ? " " : "", v);
            return -XEN_EINVAL;
        }
        p = nl + 1;
    }
    if (!version || !scn || !seed || !host) {
        snprintf(err, errlen, "migration config: missing %s",
                 !version ? "the 'hvlab-migration 1' line" :
                 !scn ? "'scenario'" : !seed ? "'seed'" : "'from-host'");
        return -XEN_EINVAL;
    }
    return 0;
}
