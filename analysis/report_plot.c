/*
 * analysis/report_plot.c - the report's pictures through gnuplot (R4):
 * pages per migration round, and the busiest hypercalls' latency.
 *
 * Rules:
 *   RP8 Plots: report_plot writes PREFIX-rounds.{dat,gp} and
 *       PREFIX-latency.{dat,gp}, then runs gnuplot on each ($HVLAB_GNUPLOT,
 *       else "gnuplot" from PATH); a missing gnuplot is an error saying so,
 *       with the data and script files left for later.
 *   RP9 Every script is complete on its own (terminal, output, data path):
 *       `gnuplot PREFIX-rounds.gp` redraws the picture later, or elsewhere.
 *       Rounds are bars per round (dirtied / sent / re-sent), on a log
 *       scale once they span 50x; latency is one panel per hypercall (the
 *       four busiest), each on its own scale.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "analysis/report.h"
#include "analysis/report_private.h"

extern char **environ;

/* ---- plots (R4, RP8) ---------------------------------------------------- */

/* A gnuplot single-quoted string: ' doubles. */
static void gp_str(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', f);
        fputc(*s, f);
    }
    fputc('\'', f);
}

static void gp_terminal(FILE *f, bool png, unsigned height, const char *out)
{
    if (png)
        fprintf(f, "set terminal pngcairo size 1000,%u noenhanced\n", height);
    else
        fprintf(f, "set terminal svg size 1000,%u dynamic noenhanced "
                "background rgb 'white'\n", height);
    fprintf(f, "set output ");
    gp_str(f, out);
    fputc('\n', f);
}

static int write_rounds(const struct report *r, const char *dat,
                        const char *gp, const char *img, bool png)
{
    FILE *d = fopen(dat, "w");
    if (!d)
        return -1;
    fprintf(d, "# round dirtied sent re-sent  (one row per round of each "
            "migration)\n\"round\" \"dirtied\" \"sent\" \"re-sent\"\n");
    size_t rows = 0;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (size_t i = 0; i < r->nmig; i++) {
        const struct rp_mig *m = r->mig[i];
        for (size_t j = 0; j < m->nround; j++) {
            const struct rp_round *rd = &m->round[j];
            uint64_t val[3] = { rp_round_dirtied(rd),
                                rd->has_end ? rd->sent : rd->pages,
                                rd->resent };
            for (int k = 0; k < 3; k++) {
                if (val[k] && val[k] < lo)
                    lo = val[k];
                if (val[k] > hi)
                    hi = val[k];
            }
            char lab[64];
            if (r->nmig > 1)
                snprintf(lab, sizeof(lab), "h%u d%u r%" PRIu32 "%s", m->host,
                         m->dom, rd->iter, rd->kind == RK_FINAL ? "F" :
                         rd->kind == RK_VERIFY ? "V" : "");
            else
                snprintf(lab, sizeof(lab), "%" PRIu32 "%s", rd->iter,
                         rd->kind == RK_FINAL ? " final" :
                         rd->kind == RK_VERIFY ? " verify" : "");
            fprintf(d, "\"%s\" %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", lab,
                    val[0], val[1], val[2]);
            rows++;
        }
    }
    if (fclose(d))
        return -1;
    FILE *f = fopen(gp, "w");
    if (!f)
        return -1;
    fprintf(f, "# gnuplot script written by hvlab analyze: pages per "
            "migration round\n");
    gp_terminal(f, png, 560, img);
    if (!rows) {
        fprintf(f, "set title 'Migration rounds: no migration in this trace'\n"
                "unset border\nunset tics\nunset key\n"
                "plot [0:1][0:1] -1 notitle\n");
    } else {
        fprintf(f, "set title 'Pages per migration round'\n"
                "set style data histograms\n"
                "set style histogram clustered gap 1\n"
                "set style fill solid 0.8 border -1\n"
                "set boxwidth 0.9\n"
                "set key outside top center horizontal\n"
                "set grid ytics\n"
                "set xtics rotate by -35 nomirror\n");
        /* rounds shrink geometrically: a log scale when they span 50x */
        if (hi && hi / lo >= 50)
            fprintf(f, "set logscale y\nset ylabel 'pages (log scale)'\n"
                    "set yrange [0.8:*]\n");
        else
            fprintf(f, "set ylabel 'pages'\nset yrange [0:*]\n");
        fprintf(f, "plot ");
        gp_str(f, dat);
        fprintf(f, " using 2:xtic(1) title columnheader(2), '' using 3 title "
                "columnheader(3), '' using 4 title columnheader(4)\n");
    }
    return fclose(f) ? -1 : 0;
}

static int write_latency(const struct report *r, const char *dat,
                         const char *gp, const char *img, bool png)
{
    enum { TOP = 4 };
    struct rp_op **v = rp_ops_sorted(r);
    if (!v)
        return -1;
    size_t n = 0;
    while (n < r->nop && n < TOP && v[n]->calls)
        n++;
    unsigned lo = LAT_LOG2, hi = 0;
    for (size_t i = 0; i < n; i++)
        for (unsigned k = 0; k < LAT_LOG2; k++)
            if (v[i]->log2[k]) {
                if (k < lo)
                    lo = k;
                if (k > hi)
                    hi = k;
            }
    FILE *d = fopen(dat, "w");
    if (!d) {
        free(v);
        return -1;
    }
    fprintf(d, "# hypercall latency: calls per log2 bucket of ns, the %zu "
            "busiest hypercalls\n\"from\"", n);
    for (size_t i = 0; i < n; i++) {
        char nb[24];
        fprintf(d, " \"%s\"", rp_op_name(v[i]->op, nb, sizeof(nb)));
    }
    fputc('\n', d);
    for (unsigned k = lo; n && k <= hi; k++) {
        char b[16];
        fprintf(d, "\"%s\"", rp_fmt_pow2(k, b, sizeof(b)));
        for (size_t i = 0; i < n; i++)
            fprintf(d, " %" PRIu64, v[i]->log2[k]);
        fputc('\n', d);
    }
    FILE *f = NULL;
    if (fclose(d) || !(f = fopen(gp, "w"))) {
        free(v);
        return -1;
    }
    fprintf(f, "# gnuplot script written by hvlab analyze: hypercall latency "
            "histograms\n");
    gp_terminal(f, png, n > 2 ? 700 : 400, img);
    if (!n) {
        fprintf(f, "set title 'Hypercall latency: no timed hypercall in this "
                "trace'\nunset border\nunset tics\nunset key\n"
                "plot [0:1][0:1] -1 notitle\n");
    } else {
        /* one panel per hypercall, each on its own scale */
        size_t cols = n > 1 ? 2 : 1, rows = (n + cols - 1) / cols;
        fprintf(f, "set multiplot layout %zu,%zu title 'Hypercall latency "
                "(entry -> exit), calls per log2 bucket of ns'\n"
                "set style data histograms\n"
                "set style histogram clustered gap 1\n"
                "set style fill solid 0.8 border -1\n"
                "set boxwidth 0.9\n"
                "unset key\n"
                "set ylabel 'calls'\n"
                "set yrange [0:*]\n"
                "set grid ytics\n"
                "set xtics rotate by -35 nomirror font ',9'\n", rows, cols);
        for (size_t i = 0; i < n; i++) {
            char nb[24], p50[24], p99[24], title[128];
            snprintf(title, sizeof(title), "%s: %" PRIu64 " calls, p50 %s, "
                     "p99 %s", rp_op_name(v[i]->op, nb, sizeof(nb)), v[i]->calls,
                     rp_fmt_ns(rp_op_percentile(v[i], 500), p50, sizeof(p50)),
                     rp_fmt_ns(rp_op_percentile(v[i], 990), p99, sizeof(p99)));
            fprintf(f, "set title ");
            gp_str(f, title);
            fprintf(f, "\nplot ");
            gp_str(f, dat);
            fprintf(f, " using %zu:xtic(1) linecolor %zu\n", i + 2, i + 1);
        }
        fprintf(f, "unset multiplot\n");
    }
    free(v);
    return fclose(f) ? -1 : 0;
}

/* Run gnuplot on gp.  0; 1 when gnuplot is missing; -1 with err. */
static int run_gnuplot(const char *gp, const char *img, char *err,
                       size_t errlen)
{
    const char *bin = getenv("HVLAB_GNUPLOT");
    if (!bin || !*bin)
        bin = "gnuplot";
    int pfd[2];
    if (pipe(pfd) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
    posix_spawn_file_actions_addclose(&fa, pfd[0]);
    posix_spawn_file_actions_addclose(&fa, pfd[1]);
    char *argv[] = { (char *)bin, (char *)gp, NULL };
    pid_t pid;
    int rc = posix_spawnp(&pid, bin, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pfd[1]);
    if (rc != 0) {
        close(pfd[0]);
        if (rc == ENOENT)
            return 1;
        snprintf(err, errlen, "cannot run %s: %s", bin, strerror(rc));
        return -1;
    }
    char msg[512];
    size_t got = 0;
    ssize_t k;
    while ((k = read(pfd[0], msg + got, sizeof(msg) - 1 - got)) > 0 ||
           (k < 0 && errno == EINTR)) {
        if (k > 0)
            got += (size_t)k;
        if (got == sizeof(msg) - 1) {       /* keep the first lines, drain */
            char sink[256];
            while (read(pfd[0], sink, sizeof(sink)) > 0)
                ;
            break;
        }
    }
    msg[got] = '\0';
    close(pfd[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
        return 1;                           /* the shell's "not found" */
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        for (char *p = msg; *p; p++)
            if (*p == '\n')
                *p = ' ';
        snprintf(err, errlen, "%s %s failed (status %d): %s", bin, gp,
                 WIFEXITED(st) ? WEXITSTATUS(st) : -1, msg);
        return -1;
    }
    struct stat sb;
    if (stat(img, &sb) != 0 || sb.st_size == 0) {
        snprintf(err, errlen, "%s %s wrote no %s", bin, gp, img);
        return -1;
    }
    return 0;
}

static bool ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

int report_plot(const struct report *r, const char *prefix, const char *format,
                char *err, size_t errlen)
{
    char dummy[8];
    if (!err || !errlen) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    err[0] = '\0';
    if (!r || !prefix || !*prefix) {
        snprintf(err, errlen, "report_plot: no report or no prefix");
        return -1;
    }
    bool png = format && (strcmp(format, "png") == 0 ||
                          strcmp(format, ".png") == 0);
    if (format && !png && strcmp(format, "svg") && strcmp(format, ".svg")) {
        snprintf(err, errlen, "plot format '%s': svg or png", format);
        return -1;
    }
    char base[4096];
    size_t plen = strlen(prefix);
    if (ends_with(prefix, ".png") || ends_with(prefix, ".svg")) {  /* R4 */
        png = ends_with(prefix, ".png");
        plen -= 4;
    }
    if (plen + 16 > sizeof(base)) {
        snprintf(err, errlen, "plot prefix too long");
        return -1;
    }
    memcpy(base, prefix, plen);
    base[plen] = '\0';
    const char *ext = png ? "png" : "svg";

    const char *what[2] = { "rounds", "latency" };
    char dat[2][4112], gp[2][4112], img[2][4112];
    for (int i = 0; i < 2; i++) {
        snprintf(dat[i], sizeof(dat[i]), "%s-%s.dat", base, what[i]);
        snprintf(gp[i], sizeof(gp[i]), "%s-%s.gp", base, what[i]);
        snprintf(img[i], sizeof(img[i]), "%s-%s.%s", base, what[i], ext);
    }
    if (write_rounds(r, dat[0], gp[0], img[0], png) != 0 ||
        write_latency(r, dat[1], gp[1], img[1], png) != 0) {
        snprintf(err, errlen, "writing %s-*.dat / .gp: %s", base,
                 strerror(errno));
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        int rc = run_gnuplot(gp[i], img[i], err, errlen);
        if (rc == 1) {
            const char *bin = getenv("HVLAB_GNUPLOT");
            snprintf(err, errlen, "gnuplot is not installed (%s not found; "
                     "Debian package gnuplot-nox, `make deps`): no plot drawn; "
                     "the data and scripts are in %s and %s, %s and %s",
                     bin && *bin ? bin : "gnuplot", dat[0], gp[0], dat[1],
                     gp[1]);
            return -1;
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}
