/*
 * fuzz/main/gen-seeds.c - write the FUZZ_RESTORE seed streams
 * (fuzz/restore_seed.c) as DIR/restore/NAME: `make fuzz-seeds` runs
 * `gen-seeds fuzz/seeds`.  Each is a complete libxc stream, readable by
 * Xen's verify-stream-v2 as well as by hvlab.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz/restore_seed.h"

int main(int argc, char **argv)
{
    char path[4096];
    if (argc != 2) {
        fprintf(stderr, "usage: gen-seeds DIR\n");
        return 2;
    }
    snprintf(path, sizeof(path), "%s/restore", argv[1]);
    if (mkdir(argv[1], 0755) && errno != EEXIST)
        return perror(argv[1]), 1;
    if (mkdir(path, 0755) && errno != EEXIST)
        return perror(path), 1;
    for (unsigned i = 0; i < fuzz_restore_nr_seeds(); i++) {
        struct stream_membuf mb;
        int rc = fuzz_restore_seed(i, &mb);
        if (rc) {
            fprintf(stderr, "seed %s: %d\n", fuzz_restore_seed_name(i), rc);
            return 1;
        }
        snprintf(path, sizeof(path), "%s/restore/%s", argv[1],
                 fuzz_restore_seed_name(i));
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(mb.buf, 1, mb.len, f) != mb.len || fclose(f)) {
            perror(path);
            return 1;
        }
        printf("%s: %zu bytes\n", path, mb.len);
        free(mb.buf);
    }
    return 0;
}
