/*
 * tests/unit/test.h - the unit-test harness: tables of sentences.
 *
 *   static void t_pin_twice(void) { CHECK_EQ(pin(...), -XEN_EINVAL); }
 *   static const struct test tests[] = {
 *       { "pinning a pinned L1 again is -EINVAL", t_pin_twice },
 *   };
 *   TEST_MAIN(tests)
 *
 * Each test runs in a child process, so a crash fails that test alone.
 * Output, one line per test: "ok - ...", "not ok - ...", "skip - ...: why".
 * tests/run.sh adds the lines up into "N passed, N failed, N skipped".
 */
#ifndef HVLAB_TESTS_UNIT_TEST_H
#define HVLAB_TESTS_UNIT_TEST_H

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * liblttng-ust holds internal locks that a child forked at the wrong moment
 * would inherit locked (and with signals blocked: unkillable).  These are its
 * fork hooks (liblttng-ust 2.13 exports them; Debian ships no header).
 * Weak references: the tests of analysis/ link babeltrace2, not
 * liblttng-ust, and nothing in them traces; there the hooks are NULL.
 */
void lttng_ust_before_fork(sigset_t *save_sigset) __attribute__((weak));
void lttng_ust_after_fork_parent(sigset_t *restore_sigset) __attribute__((weak));
void lttng_ust_after_fork_child(sigset_t *restore_sigset) __attribute__((weak));

struct test {
    const char *name;
    void (*fn)(void);
};

static int test_failures;

#define CHECK(cond) do { \
    if (!(cond)) { \
        fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
        test_failures++; \
    } } while (0)

#define CHECK_EQ(a, b) do { \
    long long _a = (long long)(a), _b = (long long)(b); \
    if (_a != _b) { \
        fprintf(stderr, "  %s:%d: %s == %lld, expected %s == %lld\n", \
                __FILE__, __LINE__, #a, _a, #b, _b); \
        test_failures++; \
    } } while (0)

#define CHECK_HEX(a, b) do { \
    unsigned long long _a = (unsigned long long)(a), _b = (unsigned long long)(b); \
    if (_a != _b) { \
        fprintf(stderr, "  %s:%d: %s == %#llx, expected %s == %#llx\n", \
                __FILE__, __LINE__, #a, _a, #b, _b); \
        test_failures++; \
    } } while (0)

/* Stop the current test now (after a failed CHECK that later steps need). */
#define REQUIRE(cond) do { \
    if (!(cond)) { \
        fprintf(stderr, "  %s:%d: REQUIRE(%s) failed\n", __FILE__, __LINE__, #cond); \
        exit(1); \
    } } while (0)

/* Mark the running test skipped, with the reason, and leave it. */
#define SKIP(why) do { \
    fprintf(stdout, "SKIP %s\n", (why)); fflush(stdout); exit(77); } while (0)

static inline int test_run_one(const struct test *t)
{
    fflush(stdout);
    fflush(stderr);
    int pipefd[2];
    if (pipe(pipefd) != 0)
        return 1;
    sigset_t saved;
    if (lttng_ust_before_fork)
        lttng_ust_before_fork(&saved);
    pid_t pid = fork();
    if (pid == 0) {
        if (lttng_ust_after_fork_child)
            lttng_ust_after_fork_child(&saved);
        close(pipefd[0]);
        dup2(pipefd[1], 1);
        test_failures = 0;
        t->fn();
        exit(test_failures ? 1 : 0);
    }
    if (lttng_ust_after_fork_parent)
        lttng_ust_after_fork_parent(&saved);
    close(pipefd[1]);
    char buf[512] = "";
    ssize_t n = read(pipefd[0], buf, sizeof(buf) - 1);
    buf[n > 0 ? n : 0] = '\0';
    close(pipefd[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        printf("ok - %s\n", t->name);
        return 0;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
        char *nl = strchr(buf, '\n');
        if (nl) *nl = '\0';
        printf("skip - %s: %s\n", t->name,
               strncmp(buf, "SKIP ", 5) == 0 ? buf + 5 : "skipped");
        return 0;
    }
    if (WIFSIGNALED(st))
        printf("not ok - %s (killed by signal %d: %s)\n", t->name,
               WTERMSIG(st), strsignal(WTERMSIG(st)));
    else
        printf("not ok - %s\n", t->name);
    return 1;
}

#define TEST_MAIN(table) \
    int main(int argc, char **argv) { \
        int failed = 0; \
        for (size_t i = 0; i < sizeof(table) / sizeof((table)[0]); i++) { \
            if (argc > 1 && !strstr((table)[i].name, argv[1])) continue; \
            failed += test_run_one(&(table)[i]); \
        } \
        return failed ? 1 : 0; \
    }

#endif /* HVLAB_TESTS_UNIT_TEST_H */
