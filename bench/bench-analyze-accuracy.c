/*
 * bench/bench-analyze-accuracy.c - issue 8's migration accuracy: faults
 * injected into many migrations (dropped, duplicated and corrupted page
 * records, lost dirty bits, late backend writes), each migration recorded
 * and analysed with `hvlab analyze --json --images`, the findings matched
 * against the ground truth the trace's hvlab_inject:fire events give.
 *
 * Figures (bench/analyze-accuracy.py does the work and prints them, with
 * the table per kind; its header states the rules):
 *   mig_faults_detected_pct     faults some finding names (pfn)   goal >= 99
 *   mig_faults_attributed_pct   ... with the right round and writer  >= 95
 *   mig_clean_findings          findings over as many clean runs     0
 *   mig_faults_counted          faults counted (healed ones are not)
 *
 * Scale: BENCH_ACC_FAULTS=N migrations are run, in batches, until N
 * faults are counted (healed ones are not).  Default here 150, about 3
 * minutes on 2 cores; the 1,000 took 23 minutes:
 *   BENCH_ACC_FAULTS=1000 build/bench/bench-analyze-accuracy
 * ).  BUILD is this program's directory's parent; the script is found
 * from the current directory or above the build directory.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_FAULTS "150"
#define SCRIPT "bench/analyze-accuracy.py"

int main(void)
{
    char exe[PATH_MAX], build[PATH_MAX], hvlab[PATH_MAX + 16], script[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) {
        fprintf(stderr, "bench-analyze-accuracy: cannot read /proc/self/exe\n");
        return 1;
    }
    exe[n] = '\0';
    snprintf(build, sizeof build, "%s", exe);
    for (int up = 0; up < 2; up++) {            /* BUILD/bench/NAME -> BUILD */
        char *slash = strrchr(build, '/');
        if (slash)
            *slash = '\0';
    }
    snprintf(hvlab, sizeof hvlab, "%s/hvlab", build);
    if (access(hvlab, X_OK)) {
        printf("skip - bench-analyze-accuracy: no %s\n", hvlab);
        return 0;
    }
    /* the script: from here (bench/run.sh runs in the tree), or above BUILD */
    snprintf(script, sizeof script, "%s", SCRIPT);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", build);
    while (access(script, R_OK)) {
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir) {
            printf("skip - bench-analyze-accuracy: %s not found\n", SCRIPT);
            return 0;
        }
        *slash = '\0';
        snprintf(script, sizeof script, "%s/%s", dir, SCRIPT);
    }
    if (!getenv("BENCH_ACC_FAULTS"))
        setenv("BENCH_ACC_FAULTS", DEFAULT_FAULTS, 1);
    execlp("python3", "python3", script, "--hvlab", hvlab, "--quiet",
           (char *)NULL);
    perror("bench-analyze-accuracy: python3");
    return 1;
}
