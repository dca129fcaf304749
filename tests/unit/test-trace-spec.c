/*
 * tests/unit/test-trace-spec.c - `--trace SPEC` as trace/record.c reads it:
 * a directory or net://HOST[:CTRL[:DATA]] (rule R8), and session name hints
 * (R9).  Every case here fails before a session daemon is involved: a bad
 * URL, or a port nobody listens at (a socket bound but not listening
 * refuses connections), so no test depends on LTTng being up.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "trace/record.h"
#include "tests/unit/test.h"

/* A bound TCP socket on 127.0.0.1; listening or not.  Returns its fd. */
static int local_socket(int listening, unsigned *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    if (listening)
        REQUIRE(listen(fd, 4) == 0);
    socklen_t len = sizeof(a);
    REQUIRE(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* Begin with spec; it must fail with every needle in the message. */
static void expect_refused(const char *spec, const char *n1, const char *n2)
{
    char err[2048] = "";
    struct trc_session *s = (struct trc_session *)1;
    CHECK_EQ(trc_record_begin_spec(spec, &s, err, sizeof(err)), -1);
    CHECK(s == NULL);
    if (n1 && !strstr(err, n1)) {
        fprintf(stderr, "  '%s': message lacks '%s': %s\n", spec, n1, err);
        test_failures++;
    }
    if (n2 && !strstr(err, n2)) {
        fprintf(stderr, "  '%s': message lacks '%s': %s\n", spec, n2, err);
        test_failures++;
    }
}

static void t_is_net(void)
{
    CHECK(trc_spec_is_net("net://127.0.0.1"));
    CHECK(trc_spec_is_net("net://relay.example:1:2"));
    CHECK(!trc_spec_is_net("/tmp/trace"));
    CHECK(!trc_spec_is_net("trace-net://x"));
    CHECK(!trc_spec_is_net("tcp://127.0.0.1"));
    CHECK(!trc_spec_is_net("net:/x"));
    CHECK(!trc_spec_is_net(""));
    CHECK(!trc_spec_is_net(NULL));
}

static void t_malformed(void)
{
    static const struct { const char *spec, *why; } bad[] = {
        { "net://", "names no relayd host" },
        { "net://:5342", "names no relayd host" },
        { "net://h:0", "bad control port" },
        { "net://h:65536", "bad control port" },
        { "net://h:12x", "bad control port" },
        { "net://h:", "bad control port" },
        { "net://h:5342:", "bad data port" },
        { "net://h:5342:-1", "bad data port" },
        { "net://h:6000:6000", "must differ" },
        { "net://h:1:2:3", "unexpected ':3'" },
        { "net://h/path", "unexpected '/path'" },
        { "net://[::1]", "the host holds '['" },
        { "net://a b", "the host holds ' '" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_refused(bad[i].spec, bad[i].spec, bad[i].why);
}

static void t_nothing_listening(void)
{
    unsigned c;
    int fd = local_socket(0, &c);
    char spec[64], url[64], cmd[96];
    snprintf(spec, sizeof(spec), "net://127.0.0.1:%u", c);
    /* the data port defaults to 5343; the message shows the full URL */
    snprintf(url, sizeof(url), "no lttng-relayd is listening at "
             "net://127.0.0.1:%u:5343", c);
    snprintf(cmd, sizeof(cmd), "lttng-relayd -d -o OUTDIR -C tcp://127.0.0.1:%u "
             "-D tcp://127.0.0.1:5343", c);
    expect_refused(spec, url, cmd);
    close(fd);
}

static void t_data_port_closed(void)
{
    unsigned c, d;
    int lfd = local_socket(1, &c);
    int dfd = local_socket(0, &d);
    char spec[64], why[64];
    snprintf(spec, sizeof(spec), "net://127.0.0.1:%u:%u", c, d);
    snprintf(why, sizeof(why), "(port %u on 127.0.0.1: Connection refused)", d);
    expect_refused(spec, spec, why);
    close(lfd);
    close(dfd);
}

static void t_unknown_host(void)
{
    expect_refused("net://no-such-host.invalid:6000:6001",
                   "cannot resolve host 'no-such-host.invalid'",
                   "lttng-relayd -d -o OUTDIR -C tcp://0.0.0.0:6000");
}

static void t_name_hint(void)
{
    CHECK_EQ(trc_record_set_name_hint("migrate"), 0);
    CHECK_EQ(trc_record_set_name_hint("receive_2"), 0);
    CHECK_EQ(trc_record_set_name_hint("a-b"), -1);    /* R2 parses the pid */
    CHECK_EQ(trc_record_set_name_hint("x/y"), -1);    /* a path on the relayd */
    CHECK_EQ(trc_record_set_name_hint("0123456789abcdef0123456789abcdefX"), -1);
    CHECK_EQ(trc_record_set_name_hint("0123456789abcdef0123456789abcdef"), 0);
    CHECK_EQ(trc_record_set_name_hint(""), 0);
    CHECK_EQ(trc_record_set_name_hint(NULL), 0);
}

static void t_dir_spec_is_a_directory(void)
{
    /* A spec that is not a URL takes the directory path (R3). */
    char dir[] = "/tmp/hvlab-spec-XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    char file[64];
    snprintf(file, sizeof(file), "%s/f", dir);
    FILE *f = fopen(file, "w");
    REQUIRE(f != NULL);
    fclose(f);
    expect_refused(dir, "is not empty", NULL);
    expect_refused(file, "exists and is not a directory", NULL);
    unlink(file);
    rmdir(dir);
}

static const struct test tests[] = {
    { "only net://... is a relayd URL", t_is_net },
    { "a malformed relayd URL is refused, naming it and what is wrong", t_malformed },
    { "nothing listening at the control port: the message names the URL "
      "(default data port 5343) and the lttng-relayd command", t_nothing_listening },
    { "a closed data port is refused, naming that port", t_data_port_closed },
    { "an unknown relayd host is refused, naming it", t_unknown_host },
    { "name hints are 1-32 of [A-Za-z0-9_]; empty or NULL clears", t_name_hint },
    { "a spec that is not a URL is a directory, checked as before",
      t_dir_spec_is_a_directory },
};

TEST_MAIN(tests)
