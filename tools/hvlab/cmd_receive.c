/*
 * tools/hvlab/cmd_receive.c - `hvlab receive (--listen [HOST:]PORT |
 * --from FILE) [...]`: the destination host of a migration between two
 * hvlab processes (docs/migration.md "Two processes").
 *
 * Rules:
 *   V1  Arguments are checked before anything listens: a mistake is exit 2
 *       naming it.
 *   V2  --listen: the listening port is printed on stderr as
 *       "hvlab receive: listening on HOST:PORT" (PORT 0 picks a free one:
 *       the line says which) before the first connection is accepted; one
 *       connection is served, then the process exits.  xl's banner goes
 *       out first (toolstack/mig_conn.h C4).
 *   V3  The xl header's config (toolstack/mig_config.h) says which
 *       scenario the sender runs; the receiver rebuilds what the migrated
 *       domain needs around it (its blk backend over the shared disk) and
 *       judges the scenario's expectations on what ran here
 *       (toolstack/runner.c's receive mode).  A bad header or config is
 *       exit 2 naming the byte offset or the line.
 *   V4  --trace records this process as `hvlab run --trace` does (a
 *       directory, or net://HOST to a relayd both hosts report to).
 *   V5  Nothing on the connection is trusted: --listen PORT alone listens
 *       on the loopback address only (give 0.0.0.0:PORT or [::]:PORT to
 *       take migrations from other hosts), and the shared disk the config
 *       names is taken only when it is an existing regular file whose name
 *       ends in ".disk" (never created, never through a symlink, its size
 *       the disk's): a sender cannot make the receiver write into any
 *       other file.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "core/sched.h"
#include "toolstack/mig_config.h"
#include "toolstack/mig_conn.h"
#include "toolstack/runner.h"
#include "toolstack/scenario.h"
#include "toolstack/xl_stream.h"
#include "tools/hvlab/cmd.h"
#include "tools/hvlab/opt.h"
#include "tools/hvlab/traced.h"

#define MAX_INJECTS 64

struct recv_args {
    const char *listen, *from;
    const char *trace;
    const char *images_dir, *save_stream, *inject_stats;
    enum sched_mode sched;
    const char *injects[MAX_INJECTS];
    unsigned nr_injects;
};

void cmd_receive_help(FILE *f)
{
    fprintf(f,
        "usage: hvlab receive --listen [HOST:]PORT | --from FILE\n"
        "                     [--sched threads|det] [--trace DIR|net://HOST]\n"
        "                     [--images DIR] [--save-stream FILE]\n"
        "                     [--inject SPEC|FILE]... [--inject-stats FILE]\n"
        "\n"
        "Be the destination host of a migration between two hvlab processes\n"
        "(docs/migration.md \"Two processes\"): receive the xl/libxl stream that\n"
        "'hvlab migrate SCENARIO --to URL' sends, restore the domain on a new\n"
        "machine, rebuild its blk backend over the shared disk, resume the guest\n"
        "kernel from its saved state, run it to the end of its workload, audit,\n"
        "and judge the scenario's expectations on what ran here.\n"
        "\n"
        "  --listen [HOST:]PORT  accept one connection on PORT (0: any free port;\n"
        "                        the port is printed on stderr), speaking xl's\n"
        "                        migration handshake; PORT alone listens on\n"
        "                        127.0.0.1 only (0.0.0.0:PORT for other hosts)\n"
        "  --from FILE           restore from a file 'hvlab migrate --to file:FILE'\n"
        "                        wrote (xl restore)\n"
        "  --sched threads|det   how the vCPUs here run (default threads)\n"
        "  --trace DIR|net://HOST[:CTRL[:DATA]]\n"
        "                        record this host's events, as 'hvlab run' does;\n"
        "                        with net://, both hosts report to one relayd\n"
        "  --images DIR          write dest-restored.img into DIR (docs/image.md)\n"
        "  --save-stream FILE    write every byte received to FILE, exactly as it\n"
        "                        came (Xen's 'verify-stream-v2 -f xl' reads it)\n"
        "  --inject SPEC|FILE    bind injection points here, as 'hvlab run' does\n"
        "  --inject-stats FILE   write every point's counts to FILE\n"
        "\n"
        "Exit status: 0 every expectation judged here held; 1 one broke; 2 usage,\n"
        "connection or stream error.\n");
}

static int usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "hvlab receive: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see 'hvlab receive --help')\n");
    return EXIT_USAGE;
}

static int parse(int argc, char **argv, struct recv_args *a)
{
    memset(a, 0, sizeof(*a));
    a->sched = SCHED_THREADS;
    static const char *const names[] = {
        "--listen", "--from", "--trace", "--images", "--save-stream",
        "--sched", "--inject", "--inject-stats",
    };
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *v = NULL;
        int k = opt_match("receive", argc, argv, &i, names,
                          sizeof(names) / sizeof(names[0]), &v);
        if (k < 0)
            return -1;
        if ((size_t)k == sizeof(names) / sizeof(names[0]))
            return usage("unknown argument '%s'", arg);
        if (!*v)
            return usage("%s: empty value", names[k]);
        switch (k) {
        case 0: a->listen = v; break;
        case 1: a->from = v; break;
        case 2: a->trace = v; break;
        case 3: a->images_dir = v; break;
        case 4: a->save_stream = v; break;
        case 5:
            if (strcmp(v, "threads") == 0)
                a->sched = SCHED_THREADS;
            else if (strcmp(v, "det") == 0)
                a->sched = SCHED_DET;
            else
                return usage("--sched %s: expected threads or det", v);
            break;
        case 6:
            if (a->nr_injects == MAX_INJECTS)
                return usage("too many --inject options (at most %s)", "64");
            a->injects[a->nr_injects++] = v;
            break;
        case 7: a->inject_stats = v; break;
        }
    }
    if (!a->listen == !a->from)
        return usage("%s", "give exactly one of --listen PORT and --from FILE");
    return 0;
}

/* V2: listen, say where, accept one connection, send the banner. */
static struct mig_conn *accept_one(const char *spec)
{
    char err[512], local[64];
    uint16_t port = 0;
    if (strspn(spec, "0123456789") == strlen(spec) &&
        strlen(spec) < 16) {                            /* V5 */
        snprintf(local, sizeof(local), "127.0.0.1:%s", spec);
        spec = local;
    }
    int lfd = mig_conn_listen(spec, &port, err, sizeof(err));
    if (lfd < 0) {
        fprintf(stderr, "hvlab receive: --listen %s: %s\n", spec, err);
        return NULL;
    }
    fprintf(stderr, "hvlab receive: listening on port %u\n", port);
    fflush(stderr);
    struct mig_conn *c = mig_conn_accept(lfd, err, sizeof(err));
    close(lfd);
    if (!c) {
        fprintf(stderr, "hvlab receive: accepting on port %u: %s\n", port,
                err);
        return NULL;
    }
    if (mig_conn_send_msg(c, MIG_MSG_BANNER, sizeof(MIG_MSG_BANNER) - 1)) {
        fprintf(stderr, "hvlab receive: %s: sending the banner: %s\n",
                c->peer, c->err);
        mig_conn_close(c);
        return NULL;
    }
    return c;
}

int cmd_receive(int argc, char **argv)
{
    struct recv_args a;
    if (parse(argc, argv, &a) != 0)
        return EXIT_USAGE;
    if (a.trace)
        return traced_reexec("receive", argc, argv, a.trace);

    char err[1024];
    FILE *tee = NULL;
    if (a.save_stream && !(tee = fopen(a.save_stream, "wb"))) {
        fprintf(stderr, "hvlab receive: --save-stream %s: %m\n",
                a.save_stream);
        return EXIT_USAGE;
    }
    struct mig_conn *c = a.listen ? accept_one(a.listen)
                                  : mig_conn_open_read(a.from, err,
                                                       sizeof(err));
    if (!c) {
        if (a.from)
            fprintf(stderr, "hvlab receive: --from %s: %s\n", a.from, err);
        if (tee)
            fclose(tee);
        return EXIT_USAGE;
    }
    c->tee = tee;

    int status = EXIT_USAGE;
    struct xl_reader xr;
    xl_reader_init(&xr, mig_conn_source, c);
    char *config = NULL;
    size_t len = 0;
    struct scenario *sc = NULL;
    struct mig_config mc;
    if (xl_read_headers(&xr, &config, &len) != 0) {
        fprintf(stderr, "hvlab receive: %s: %s\n", c->peer, xr.err);
        goto out;
    }
    if (mig_config_parse(config, &mc, err, sizeof(err)) != 0) {
        fprintf(stderr, "hvlab receive: %s: %s\n", c->peer, err);
        goto out;
    }
    size_t dl = strlen(mc.disk);
    struct stat st;
    if (dl && (dl < 6 || strcmp(mc.disk + dl - 5, ".disk") != 0 ||
               lstat(mc.disk, &st) != 0 || !S_ISREG(st.st_mode))) {   /* V5 */
        fprintf(stderr, "hvlab receive: %s: refusing the shared disk '%s': "
                "it must be an existing regular file named *.disk\n",
                c->peer, mc.disk);
        goto out;
    }
    char name[PATH_MAX + 40];
    snprintf(name, sizeof(name), "%s (from the migration stream)",
             mc.scenario);
    if (!(sc = scenario_parse_text(name, mc.text, err, sizeof(err)))) {
        fprintf(stderr, "hvlab receive: %s\n", err);
        goto out;
    }
    if (!sc->mig.set) {
        fprintf(stderr, "hvlab receive: %s: the sender's scenario has no "
                "'migrate' line\n", mc.scenario);
        goto out;
    }
    for (unsigned i = 0; i < a.nr_injects; i++)
        if (scenario_inject(sc, a.injects[i], err, sizeof(err)) != 0) {
            fprintf(stderr, "hvlab receive: %s\n", err);
            goto out;
        }
    struct run_opts o = {
        .seed = mc.seed, .seed_given = true, .sched = a.sched,
        .images_dir = a.images_dir, .inject_stats = a.inject_stats,
        .mig_from = c, .mig_from_xl = &xr, .mig_from_host = mc.from_host,
        .mig_from_peer = c->peer,
        .mig_disk = mc.disk[0] ? mc.disk : NULL,
        .out = stdout, .err = stderr,
    };
    status = runner_run(sc, &o);
    fflush(stdout);
out:
    scenario_free(sc);
    free(config);
    xl_reader_free(&xr);
    c->tee = NULL;
    mig_conn_close(c);
    if (tee && fclose(tee) != 0) {
        fprintf(stderr, "hvlab receive: --save-stream %s: %m\n",
                a.save_stream);
        status = EXIT_BROKEN;
    }
    return status;
}
