/*
 * analysis/trace_find.c - the traces below a directory (trace_find.h).
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis/trace_find.h"

struct found {
    char **v;
    int n, cap;
    int oom;
};

static struct found *walk_found;        /* nftw has no user pointer */

static int walk_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (flag != FTW_D)
        return 0;
    char meta[PATH_MAX];
    if (snprintf(meta, sizeof(meta), "%s/metadata", path) >= (int)sizeof(meta) ||
        access(meta, R_OK) != 0)
        return 0;
    struct found *f = walk_found;
    if (f->n == f->cap) {
        int nc = f->cap ? f->cap * 2 : 8;
        char **nv = realloc(f->v, (size_t)nc * sizeof(*nv));
        if (!nv) {
            f->oom = 1;
            return -1;
        }
        f->v = nv;
        f->cap = nc;
    }
    if (!(f->v[f->n] = strdup(path))) {
        f->oom = 1;
        return -1;
    }
    f->n++;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void trace_find_free(char **paths, int n)
{
    for (int i = 0; paths && i < n; i++)
        free(paths[i]);
    free(paths);
}

int trace_find(const char *dir, char ***paths, char *err, size_t errlen)
{
    struct stat sb;
    *paths = NULL;
    if (stat(dir, &sb) != 0) {
        snprintf(err, errlen, "cannot read trace directory '%s': %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "'%s' is not a directory (give the directory a trace was "
                 "recorded into)", dir);
        return -1;
    }
    struct found f = { 0 };
    walk_found = &f;
    int rc = nftw(dir, walk_one, 16, FTW_PHYS);
    walk_found = NULL;
    if (rc != 0 || f.oom) {
        snprintf(err, errlen, f.oom ? "out of memory walking trace directory '%s'"
                 : "cannot walk trace directory '%s'", dir);
        trace_find_free(f.v, f.n);
        return -1;
    }
    if (f.n == 0) {
        snprintf(err, errlen, "no CTF trace below '%s' (no directory there holds a "
                 "`metadata` file; was the session ever started?)", dir);
        free(f.v);
        return -1;
    }
    qsort(f.v, (size_t)f.n, sizeof(*f.v), cmp_str);
    *paths = f.v;
    return f.n;
}
