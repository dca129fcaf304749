/*
 * analysis/ctf.c - the babeltrace2 graph every trace reader goes through.
 *
 * Rules:
 *   R1  source.ctf.fs wants the directories that hold `metadata` (only the
 *       CLI searches), so we walk DIR for them.  Per-PID buffers make one
 *       trace per traced process, each with its own UUID, and one source
 *       component refuses traces whose UUIDs differ: each trace gets its own
 *       source, and the muxer merges them all in time order.
 *   R2  The muxer always has exactly one free input port, its last: each
 *       source output port is connected to that one in turn.
 *   R3  The graph runs until END; AGAIN means "call again".  Errors come
 *       back as sentences built from babeltrace2's own error causes.
 *   R4  Every message borrowed from the iterator is put back, whether the
 *       callback stopped the read or not.
 *   R5  Borrowed trace objects (event classes, names) live until the graph
 *       is destroyed: ops->end runs before that, for readers that keep them.
 *   R6  Every message that belongs to a stream is counted against it (its
 *       packets, the events of its current packet, its last time), so a
 *       failure can be placed.  The muxer asks an upstream for more only
 *       when it has handed on that upstream's last message, and
 *       source.ctf.fs hands on what it decoded before reporting an error:
 *       the stream that failed is the stream of the last message delivered.
 *       Its packet is found in the stream file's packet table (R7), which
 *       gives the byte offset.
 *   R7  Before reading, each stream file's packets are walked through their
 *       LTTng headers (magic, then content and packet size, in bits, after
 *       the 32-byte header and the two timestamps).  A file that ends inside
 *       a packet was cut short: source.ctf.fs refuses the whole trace then,
 *       so it is read from a scratch copy of the trace directory (the other
 *       files linked) where the last packet's sizes say what is really
 *       there.  babeltrace2 aborts the process on some such packets, so the
 *       patched packet is first read alone in a forked child (R10); when
 *       the child dies, the cut packet is left out (only the whole packets
 *       before it are read; a file with none is left out) and the error
 *       says which bytes were not read.  The error then names the file, the
 *       byte where it ends and the packet it ends in; everything before has
 *       been read.  A failure that is not the cut (another stream, or a
 *       packet before the cut) is described as well (R8).  A file whose
 *       first header is not LTTng's is left to babeltrace2.
 *   R8  The error for a failed read names the trace, the stream file, the
 *       byte offset of the packet reading stopped in, how many of its events
 *       were read and when the last one was, then babeltrace2's deepest
 *       causes (the root of its error chain says what was wrong).
 *   R10 Within the packet, the byte where the event that failed begins is
 *       found by bisection: the packet alone is copied into a scratch trace
 *       with its content size set to X bytes, and read; the fewest bytes
 *       that still give the events read before the failure end exactly
 *       where the bad event starts (error path only; packets up to 64 MiB).
 *       Every probe runs in a forked child that writes its count to a pipe
 *       and exits: a child killed by a signal (babeltrace2 aborting on the
 *       patched bytes, or the alarm of a hang) answers "does not read",
 *       and no trace bytes can take the reader's process down.
 *   R11 A metadata file cut short makes source.ctf.fs hang for ever, so
 *       each trace's metadata is checked first (check_metadata) and a cut
 *       or corrupt one refuses that trace, naming the file and its size.
 *   R12 A trace that cannot be opened (R11, or source.ctf.fs refusing it)
 *       is left out with its message, and the others are read and handed
 *       on; the read still fails in the end, naming every trace left out.
 *   R9  The components log nothing: what goes wrong comes back as error
 *       causes (R3, R8), so stderr carries the reader's one message rather
 *       than babeltrace2's log lines.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "analysis/ctf.h"
#include "analysis/read_msg.h"
#include "analysis/trace_find.h"

/* R7: one stream file's packets, from their headers. */
struct pkt {
    uint64_t off, size;         /* bytes */
};

struct stream_file {
    char *path;                 /* as recorded */
    char *read_path;            /* what babeltrace2 reads (a scratch copy) */
    uint64_t file_size;
    struct pkt *pk;
    size_t npk;
    bool lttng;                 /* headers understood */
    bool cut;                   /* ends inside a packet */
    uint64_t cut_off, cut_end;  /* that packet's start and expected end */
    bool dropped;               /* R7: bytes cut_off..file_size not read */
};

/* R6: what was delivered per stream. */
struct stream_pos {
    const bt_stream *s;
    const char *name;           /* borrowed; lives with the graph (R5) */
    uint64_t packets;           /* packet-beginning messages */
    uint64_t ev_in_packet, events;
    int64_t last_ns;
    bool has_last;
};

struct ctf_run {
    const struct ctf_reader_ops *ops;
    void *arg;
    char *err;          /* caller's buffer, filled when a callback stops */
    size_t errlen;
    bool stopped;       /* a callback returned non-zero */
    struct stream_pos *sp;
    size_t nsp, asp;
    int last;           /* stream of the last delivered message, -1 */
    bool have_t0;
    int64_t t0;
    uint64_t events;
    struct stream_file *files;
    size_t nfiles, afiles;
    char *scratch[64];  /* R7: scratch trace directories to remove */
    size_t nscratch;
    const bt_component_class_source *fs_cls;   /* R10 */
};

static __thread uint32_t cur_stream;
static __thread const char *cur_stream_name;

uint32_t ctf_current_stream(void)
{
    return cur_stream;
}

const char *ctf_current_stream_name(void)
{
    return cur_stream_name;
}

/* ------------------------------------------------------- finding traces */

/* R1 */
static int find_traces(const char *dir, bt_value *inputs, char *err, size_t errlen)
{
    char **paths;
    int n = trace_find(dir, &paths, err, errlen);
    for (int i = 0; i < n; i++)
        if (bt_value_array_append_string_element(inputs, paths[i]) !=
            BT_VALUE_ARRAY_APPEND_ELEMENT_STATUS_OK) {
            snprintf(err, errlen, "out of memory building the trace reader");
            trace_find_free(paths, n);
            return -1;
        }
    trace_find_free(paths, n);
    return n;
}

/* ------------------------------------------- stream files, cut short (R7) */

#define LTTNG_MAGIC 0xC1FC1FC1u
#define PKT_HDR_BYTES 64        /* header 32, then ts_begin, ts_end, content, size */

static uint64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* A file opened for reading and its size; -1 when either fails (the
   callers leave the reason to babeltrace2). */
static int open_sized(const char *path, uint64_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd >= 0 && fstat(fd, &sb) != 0) {
        close(fd);
        fd = -1;
    }
    if (fd >= 0)
        *size = (uint64_t)sb.st_size;
    return fd;
}

/* Walk one stream file's packets; sets lttng, cut, the packet table. */
static int scan_stream_file(struct stream_file *f)
{
    int fd = open_sized(f->path, &f->file_size);
    if (fd < 0)
        return 0;               /* babeltrace2 will say why */
    uint64_t off = 0;
    size_t apk = 0;
    if (f->file_size == 0) {    /* a stream file holds a packet at least */
        f->lttng = f->cut = true;
        f->cut_off = f->cut_end = 0;
    }
    while (off < f->file_size) {
        unsigned char h[PKT_HDR_BYTES];
        ssize_t n = pread(fd, h, sizeof(h), (off_t)off);
        if (n < 0)
            break;
        if ((size_t)n < sizeof(h)) {
            /* even the header was cut (the first one: when what is there
               of it is LTTng's) */
            if (f->lttng || n < 4 || le32(h) == LTTNG_MAGIC) {
                f->lttng = true;
                f->cut = true;
                f->cut_off = off;
                f->cut_end = 0;
            }
            break;
        }
        if (le32(h) != LTTNG_MAGIC)
            break;              /* not LTTng's layout (or corrupt) */
        uint64_t content = le64(h + 48), size = le64(h + 56);
        if (size % 8 || size / 8 < PKT_HDR_BYTES || content > size)
            break;              /* corrupt: babeltrace2 will say so */
        f->lttng = true;
        if (f->npk == apk) {
            size_t na = apk ? apk * 2 : 16;
            struct pkt *np = realloc(f->pk, na * sizeof(*np));
            if (!np) {
                close(fd);
                return -1;
            }
            f->pk = np;
            apk = na;
        }
        f->pk[f->npk++] = (struct pkt){ off, size / 8 };
        if (off + size / 8 > f->file_size) {
            f->cut = true;
            f->cut_off = off;
            f->cut_end = off + size / 8;
            break;
        }
        off += size / 8;
    }
    close(fd);
    return 0;
}

static int copy_prefix(const char *from, const char *to, uint64_t len)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -1;
    int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        close(in);
        return -1;
    }
    char buf[1 << 16];
    uint64_t done = 0;
    int rc = 0;
    while (done < len) {
        size_t want = len - done < sizeof(buf) ? (size_t)(len - done) : sizeof(buf);
        ssize_t n = read(in, buf, want);
        if (n <= 0 || write(out, buf, (size_t)n) != n) {
            rc = -1;
            break;
        }
        done += (uint64_t)n;
    }
    close(in);
    if (close(out) != 0)
        rc = -1;
    return rc;
}

/* The last packet of a cut file says what is there: content and packet
   size become the bytes present. */
static int patch_last_packet(const char *path, uint64_t pkt_off, uint64_t bytes)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    unsigned char b[16];
    put_le64(b, bytes * 8);
    put_le64(b + 8, bytes * 8);
    int rc = pwrite(fd, b, sizeof(b), (off_t)(pkt_off + 48)) == (ssize_t)sizeof(b)
                 ? 0 : -1;
    if (close(fd) != 0)
        rc = -1;
    return rc;
}

static void remove_scratch(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        char p[PATH_MAX];
        while ((de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

static struct stream_file *add_file(struct ctf_run *run)
{
    if (run->nfiles == run->afiles) {
        size_t na = run->afiles ? run->afiles * 2 : 16;
        struct stream_file *n = realloc(run->files, na * sizeof(*n));
        if (!n)
            return NULL;
        run->files = n;
        run->afiles = na;
    }
    struct stream_file *f = &run->files[run->nfiles++];
    memset(f, 0, sizeof(*f));
    return f;
}

/*
 * R11: a metadata file cut short makes source.ctf.fs hang for ever, so it
 * is checked first.  LTTng's packetized metadata: every packet (magic,
 * UUID, checksum, then content and packet size in bits) lies inside the
 * file; the text of the last one, like a plain-text metadata file, ends
 * with a whole declaration ("};").  0, or -1 with err naming the file.
 */
#define META_MAGIC 0x75D11D57u
#define META_HDR_BYTES 37

static int check_metadata(const char *trace_dir, char *err, size_t errlen)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/metadata", trace_dir);
    uint64_t size, off = 0;
    int fd = open_sized(path, &size);
    if (fd < 0)
        return 0;               /* babeltrace2 will say why */
    const char *why = NULL;
    unsigned char h[META_HDR_BYTES];
    bool packetized = size >= 4 && pread(fd, h, 4, 0) == 4 && le32(h) == META_MAGIC;
    uint64_t text_end = packetized ? 0 : size;
    while (packetized && off < size) {
        if (pread(fd, h, sizeof(h), (off_t)off) != (ssize_t)sizeof(h)) {
            why = "ends inside a packet header";
            break;
        }
        uint64_t content = le32(h + 24) / 8, psize = le32(h + 28) / 8;
        if (le32(h) != META_MAGIC) {
            why = "holds a packet without the metadata magic";
            break;
        }
        if (psize < META_HDR_BYTES || content < META_HDR_BYTES || content > psize) {
            why = "holds a packet whose sizes make no sense";
            break;
        }
        if (off + psize > size) {
            why = "ends inside a packet";
            break;
        }
        if (content > META_HDR_BYTES)
            text_end = off + content;
        off += psize;
    }
    if (!why) {
        /* the last text byte that is not blank (or padding) */
        unsigned char buf[256];
        uint64_t lim = text_end;
        char last[2] = { 0, 0 };
        int have = 0;
        while (lim > 0 && have < 2) {
            uint64_t from = lim > sizeof(buf) ? lim - sizeof(buf) : 0;
            ssize_t n = pread(fd, buf, (size_t)(lim - from), (off_t)from);
            if (n != (ssize_t)(lim - from))
                break;
            for (ssize_t i = n - 1; i >= 0 && have < 2; i--) {
                unsigned char c = buf[i];
                if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0)
                    continue;
                last[1 - have++] = (char)c;   /* fills last[1], then last[0] */
            }
            lim = from;
        }
        if (have < 2 || last[0] != '}' || last[1] != ';')
            why = "does not end with a whole declaration (\"};\")";
    }
    close(fd);
    if (!why)
        return 0;
    snprintf(err, errlen, "metadata file '%s' is cut short or corrupt: it %s "
             "(the file is %" PRIu64 " bytes); its trace is not read", path, why,
             size);
    return -1;
}

/* R10 (below): a probe directory beside a stream file's metadata, and one
   packet read in a forked child. */
#define PROBE_DIED (-2)         /* the child died by a signal: "does not read" */
static bool make_probe_dir(const char *stream_path, char *scratch, size_t len);
static int64_t probe_fork(const struct ctf_run *run, const char *scratch,
                          const char *src, uint64_t pkt_off, uint64_t bytes);

/* R7: when the patched packets take babeltrace2 down, read the whole
   packets only (a file with none is left out). */
static int drop_cut_packets(struct ctf_run *run, size_t from)
{
    for (size_t i = from; i < run->nfiles; i++) {
        struct stream_file *f = &run->files[i];
        if (!f->cut || f->dropped || !f->read_path)
            continue;
        f->dropped = true;
        unlink(f->read_path);
        if (f->cut_off == 0) {
            free(f->read_path);
            f->read_path = NULL;
            continue;
        }
        if (copy_prefix(f->path, f->read_path, f->cut_off) != 0)
            return -1;
    }
    return 0;
}

/*
 * R7: scan the stream files of one trace directory.  *read_dir is the
 * directory to give source.ctf.fs: trace_dir itself, or a scratch copy
 * when a file was cut short (malloc'ed; NULL: use trace_dir).
 */
static int prepare_trace(struct ctf_run *run, const char *trace_dir,
                         char **read_dir, char *err, size_t errlen)
{
    *read_dir = NULL;
    DIR *d = opendir(trace_dir);
    if (!d)
        return 0;               /* babeltrace2 will say why */
    size_t first = run->nfiles;
    bool any_cut = false;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || !strcmp(de->d_name, "metadata"))
            continue;
        char p[PATH_MAX];
        struct stat sb;
        if (snprintf(p, sizeof(p), "%s/%s", trace_dir, de->d_name) >= (int)sizeof(p) ||
            stat(p, &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        struct stream_file *f = add_file(run);
        if (!f || !(f->path = strdup(p)) || scan_stream_file(f) != 0) {
            closedir(d);
            snprintf(err, errlen, "out of memory scanning the trace in '%s'", trace_dir);
            return -1;
        }
        any_cut |= f->cut;
    }
    closedir(d);
    if (!any_cut)
        return 0;
    if (run->nscratch == sizeof(run->scratch) / sizeof(run->scratch[0]))
        return 0;               /* so many cut traces: babeltrace2 says it */

    const char *tmp = getenv("TMPDIR");
    char tmpl[PATH_MAX];
    snprintf(tmpl, sizeof(tmpl), "%s/hvlab-cut-trace.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tmpl)) {
        snprintf(err, errlen, "cannot make a scratch directory to read the cut "
                 "trace in '%s': %s", trace_dir, strerror(errno));
        return -1;
    }
    run->scratch[run->nscratch++] = strdup(tmpl);
    char abs[PATH_MAX], src[2 * PATH_MAX + 16], dst[2 * PATH_MAX + 16];
    if (!realpath(trace_dir, abs))
        snprintf(abs, sizeof(abs), "%s", trace_dir);
    snprintf(src, sizeof(src), "%s/metadata", abs);
    snprintf(dst, sizeof(dst), "%s/metadata", tmpl);
    if (symlink(src, dst) != 0)
        goto fail;
    for (size_t i = first; i < run->nfiles; i++) {
        struct stream_file *f = &run->files[i];
        const char *base = strrchr(f->path, '/') + 1;
        snprintf(dst, sizeof(dst), "%s/%s", tmpl, base);
        f->read_path = strdup(dst);
        if (!f->read_path)
            goto fail;
        if (!f->cut) {
            snprintf(src, sizeof(src), "%s/%s", abs, base);
            if (symlink(src, dst) != 0)
                goto fail;
            continue;
        }
        /* keep the whole packets and what is left of the cut one, when at
           least its header is there and babeltrace2 can take it patched */
        uint64_t keep = f->cut_end ? f->file_size : f->cut_off;
        if (!f->cut_end)
            f->dropped = true;  /* the cut header: nothing of it to read */
        if (keep == 0) {
            free(f->read_path);
            f->read_path = NULL;
            continue;
        }
        if (copy_prefix(f->path, dst, keep) != 0 ||
            (!f->dropped && patch_last_packet(dst, f->cut_off,
                                              f->file_size - f->cut_off) != 0))
            goto fail;
    }
    *read_dir = strdup(tmpl);
    if (!*read_dir)
        goto fail;
    return 0;
fail:
    snprintf(err, errlen, "cannot prepare a scratch copy to read the cut trace "
             "in '%s' (%s): %s", trace_dir, tmpl, strerror(errno));
    return -1;
}

/* The stream file a stream name (the path babeltrace2 read) stands for. */
static const struct stream_file *file_of(const struct ctf_run *run, const char *name)
{
    for (size_t i = 0; i < run->nfiles; i++) {
        const struct stream_file *f = &run->files[i];
        if (!strcmp(name, f->path) || (f->read_path && !strcmp(name, f->read_path)))
            return f;
    }
    /* source.ctf.fs may name it by another spelling of the same path */
    const char *b = strrchr(name, '/');
    for (size_t i = 0; b && i < run->nfiles; i++) {
        const char *fb = strrchr(run->files[i].path, '/');
        if (fb && !strcmp(fb, b))
            return &run->files[i];
    }
    return NULL;
}

static void free_files(struct ctf_run *run)
{
    for (size_t i = 0; i < run->nfiles; i++) {
        free(run->files[i].path);
        free(run->files[i].read_path);
        free(run->files[i].pk);
    }
    free(run->files);
    for (size_t i = 0; i < run->nscratch; i++) {
        if (run->scratch[i])
            remove_scratch(run->scratch[i]);
        free(run->scratch[i]);
    }
    free(run->sp);
}

static size_t append_secs(const struct ctf_run *run, char *err, size_t errlen,
                          size_t off, const struct stream_pos *p)
{
    return rd_last_words(err, errlen, off, p->has_last && run->have_t0,
                         p->last_ns - run->t0);
}

/* R7: what the cut files say, appended to err. */
static size_t describe_cuts(const struct ctf_run *run, char *err, size_t errlen,
                            size_t off)
{
    for (size_t i = 0; i < run->nfiles; i++) {
        const struct stream_file *f = &run->files[i];
        if (!f->cut)
            continue;
        const struct stream_pos *p = NULL;
        for (size_t k = 0; k < run->nsp; k++)
            if (file_of(run, run->sp[k].name) == f)
                p = &run->sp[k];
        off = rd_cut_words(err, errlen, off, f->path, f->file_size, f->cut_off,
                           f->cut_end);
        if (f->dropped && f->file_size > f->cut_off)
            off = rd_appendf(err, errlen, off, "; %sits bytes %" PRIu64 "..%" PRIu64
                          " were not read", f->cut_end ? "babeltrace2 cannot "
                          "decode that packet cut short, so " : "", f->cut_off,
                          f->file_size);
        off = rd_appendf(err, errlen, off, "; reading stopped there, %" PRIu64
                      " events of that stream were read", p ? p->events : 0);
        if (p)
            off = append_secs(run, err, errlen, off, p);
    }
    return off;
}

/* R8: the deepest causes of babeltrace2's error, appended. */
static size_t append_root_causes(char *err, size_t errlen, size_t off)
{
    const bt_error *e = bt_current_thread_take_error();
    if (!e)
        return off;
    /* the first cause appended (index 0) is the root of the chain */
    uint64_t n = bt_error_get_cause_count(e);
    for (uint64_t i = 0; i < n && i < 2; i++) {
        const bt_error_cause *c = bt_error_borrow_cause_by_index(e, i);
        off = rd_appendf(err, errlen, off, "%s%s", i == 0 ? ": babeltrace2 says: "
                      : "; ", bt_error_cause_get_message(c));
    }
    bt_error_release(e);
    return off;
}

/* ------------------------------------------ the failing event's byte (R10) */

static bt_graph_simple_sink_component_initialize_func_status
probe_init(bt_message_iterator *it, void *data)
{
    (void)it;
    (void)data;
    return BT_GRAPH_SIMPLE_SINK_COMPONENT_INITIALIZE_FUNC_STATUS_OK;
}

bool ctf_event_ns(const bt_message *m, int64_t *ns)
{
    *ns = 0;
    if (!bt_message_event_borrow_stream_class_default_clock_class_const(m))
        return false;
    const bt_clock_snapshot *cs = bt_message_event_borrow_default_clock_snapshot_const(m);
    return bt_clock_snapshot_get_ns_from_origin(cs, ns) ==
           BT_CLOCK_SNAPSHOT_GET_NS_FROM_ORIGIN_STATUS_OK;
}

/* One batch of messages; false (with what the sink returns) when none. */
static bool next_batch(bt_message_iterator *it, bt_message_array_const *msgs,
                       uint64_t *count,
                       bt_graph_simple_sink_component_consume_func_status *st)
{
    switch (bt_message_iterator_next(it, msgs, count)) {
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_OK:
        return true;
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_END:
        *st = BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_END;
        return false;
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_AGAIN:
        *st = BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_AGAIN;
        return false;
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_MEMORY_ERROR:
        *st = BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_MEMORY_ERROR;
        return false;
    default:
        *st = BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_ERROR;
        return false;
    }
}

static bt_graph_simple_sink_component_consume_func_status
probe_consume(bt_message_iterator *it, void *data)
{
    uint64_t *n = data;
    bt_message_array_const msgs;
    uint64_t count = 0;
    bt_graph_simple_sink_component_consume_func_status st;
    if (!next_batch(it, &msgs, &count, &st))
        return st;
    for (uint64_t i = 0; i < count; i++) {
        if (bt_message_get_type(msgs[i]) == BT_MESSAGE_TYPE_EVENT)
            (*n)++;
        bt_message_put_ref(msgs[i]);
    }
    return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_OK;
}

/* Events decoded from one packet cut to `bytes`; -1 when it cannot tell. */
static int64_t probe_packet(const struct ctf_run *run, const char *scratch,
                            const char *src, uint64_t pkt_off, uint64_t bytes)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/stream", scratch);
    unlink(path);
    int in = open(src, O_RDONLY | O_CLOEXEC);
    int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int64_t ret = -1;
    if (in < 0 || out < 0)
        goto done;
    char buf[1 << 16];
    for (uint64_t done = 0; done < bytes;) {
        size_t want = bytes - done < sizeof(buf) ? (size_t)(bytes - done) : sizeof(buf);
        ssize_t n = pread(in, buf, want, (off_t)(pkt_off + done));
        if (n <= 0 || write(out, buf, (size_t)n) != n)
            goto done;
        done += (uint64_t)n;
    }
    close(out);
    out = -1;
    if (patch_last_packet(path, 0, bytes) != 0)
        goto done;

    bt_graph *g = bt_graph_create(0);
    bt_value *params = bt_value_map_create();
    bt_value *inputs = NULL;
    const bt_component_source *srcc = NULL;
    const bt_component_sink *sink = NULL;
    uint64_t count = 0;
    if (g && params &&
        bt_value_map_insert_empty_array_entry(params, "inputs", &inputs) ==
            BT_VALUE_MAP_INSERT_ENTRY_STATUS_OK &&
        bt_value_array_append_string_element(inputs, scratch) ==
            BT_VALUE_ARRAY_APPEND_ELEMENT_STATUS_OK &&
        bt_graph_add_source_component(g, run->fs_cls, "probe", params,
                                      BT_LOGGING_LEVEL_NONE, &srcc) ==
            BT_GRAPH_ADD_COMPONENT_STATUS_OK &&
        bt_component_source_get_output_port_count(srcc) == 1 &&
        bt_graph_add_simple_sink_component(g, "count", probe_init, probe_consume,
                                           NULL, &count, &sink) ==
            BT_GRAPH_ADD_COMPONENT_STATUS_OK &&
        bt_graph_connect_ports(g,
            bt_component_source_borrow_output_port_by_index_const(srcc, 0),
            bt_component_sink_borrow_input_port_by_index_const(sink, 0), NULL) ==
            BT_GRAPH_CONNECT_PORTS_STATUS_OK) {
        bt_graph_run_status st;
        do
            st = bt_graph_run(g);
        while (st == BT_GRAPH_RUN_STATUS_AGAIN);
        ret = (int64_t)count;
    }
    bt_current_thread_clear_error();
    bt_value_put_ref(params);
    bt_graph_put_ref(g);
done:
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    unlink(path);
    return ret;
}

/* fn(arg) in a forked child (it reads, writes its count to a pipe,
   exits): an abort inside babeltrace2 takes the child only. */
static int64_t run_forked(int64_t (*fn)(void *), void *arg)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        struct rlimit no_core = { 0, 0 };
        setrlimit(RLIMIT_CORE, &no_core);
        int nul = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (nul >= 0)
            dup2(nul, STDERR_FILENO);   /* R9: its fatal log lines */
        alarm(120);                     /* a hang is a "does not read" too */
        int64_t n = fn(arg);
        _exit(write(fds[1], &n, sizeof(n)) == (ssize_t)sizeof(n) ? 0 : 1);
    }
    close(fds[1]);
    int64_t n = -1;
    ssize_t r;
    do
        r = read(fds[0], &n, sizeof(n));
    while (r < 0 && errno == EINTR);
    close(fds[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (WIFSIGNALED(st))
        return PROBE_DIED;
    if (r != (ssize_t)sizeof(n) || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -1;
    return n;
}

struct probe_args {
    const struct ctf_run *run;
    const char *scratch, *src;
    uint64_t pkt_off, bytes;
};

static int64_t probe_packet_fn(void *arg)
{
    const struct probe_args *a = arg;
    return probe_packet(a->run, a->scratch, a->src, a->pkt_off, a->bytes);
}

static int64_t probe_fork(const struct ctf_run *run, const char *scratch,
                          const char *src, uint64_t pkt_off, uint64_t bytes)
{
    struct probe_args a = { run, scratch, src, pkt_off, bytes };
    return run_forked(probe_packet_fn, &a);
}

/* A scratch trace directory whose metadata is the stream file's own. */
static bool make_probe_dir(const char *stream_path, char *scratch, size_t len)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch, len, "%s/hvlab-probe-trace.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(scratch))
        return false;
    char meta[PATH_MAX + 16], abs[PATH_MAX], link[PATH_MAX + 16];
    snprintf(meta, sizeof(meta), "%s", stream_path);
    char *slash = strrchr(meta, '/');
    if (slash) {
        strcpy(slash, "/metadata");
        snprintf(link, sizeof(link), "%s/metadata", scratch);
        if (realpath(meta, abs) && symlink(abs, link) == 0)
            return true;
    }
    remove_scratch(scratch);
    return false;
}

/*
 * R10: the byte offset (in the file) where the event after the first
 * `good` events of packet k begins; false when it cannot be found.
 */
static bool find_bad_event(const struct ctf_run *run, const struct stream_file *f,
                           const struct pkt *k, uint64_t good, uint64_t *at)
{
    if (!run->fs_cls || k->size > (64u << 20) || k->size < PKT_HDR_BYTES)
        return false;
    char scratch[PATH_MAX];
    if (!make_probe_dir(f->path, scratch, sizeof(scratch)))
        return false;
    bool found = false;
    /* the smallest X in (lo, hi] with probe(X) >= good: probe(lo) < good */
    uint64_t lo = PKT_HDR_BYTES - 1, hi = k->size;
    if (good == 0) {
        *at = 0;        /* the caller says "its first event" */
        found = false;
        goto out;
    }
    int64_t top = probe_fork(run, scratch, f->path, k->off, hi);
    if (top < (int64_t)good)
        goto out;       /* the packet alone does not read as far: give up */
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        int64_t n = probe_fork(run, scratch, f->path, k->off, mid);
        if (n == PROBE_DIED)
            n = 0;      /* an abort is a "does not read" answer */
        if (n < 0)
            goto out;
        if (n >= (int64_t)good)
            hi = mid;
        else
            lo = mid;
    }
    *at = k->off + hi;
    found = true;
out:
    remove_scratch(scratch);
    return found;
}

/*
 * R7: whether a failed read stopped at a cut: the last delivered stream is
 * a cut file read up to its patched last packet.  Otherwise the failure is
 * something else (another stream, or a packet before the cut) and is
 * described too.
 */
static bool stopped_at_cut(const struct ctf_run *run)
{
    if (run->last < 0)
        return false;
    const struct stream_pos *p = &run->sp[run->last];
    const struct stream_file *f = file_of(run, p->name);
    return f && f->cut && !f->dropped && p->packets >= f->npk;
}

/* R6/R8: where a failed read stopped. */
static void describe_failure(const struct ctf_run *run, const char *dir,
                             char *err, size_t errlen)
{
    char causes[1024] = "";
    append_root_causes(causes, sizeof(causes), 0);   /* before any probe */
    size_t off = rd_appendf(err, errlen, 0, "babeltrace2 stopped reading the trace in "
                         "'%s'", dir);
    if (run->last >= 0) {
        const struct stream_pos *p = &run->sp[run->last];
        const struct stream_file *f = file_of(run, p->name);
        off = rd_appendf(err, errlen, off, " in stream file '%s'", f ? f->path : p->name);
        if (f && p->packets && p->packets <= f->npk) {
            const struct pkt *k = &f->pk[p->packets - 1];
            uint64_t at;
            if (find_bad_event(run, f, k, p->ev_in_packet, &at))
                off = rd_appendf(err, errlen, off, " at byte offset %" PRIu64 ", where "
                              "event %" PRIu64 " of the packet begins", at,
                              p->ev_in_packet + 1);
            off = rd_appendf(err, errlen, off, ", inside the packet at byte offset %"
                          PRIu64 " (bytes %" PRIu64 "..%" PRIu64 ", packet %" PRIu64
                          " of %zu)", k->off, k->off, k->off + k->size,
                          p->packets, f->npk);
        } else if (p->packets) {
            off = rd_appendf(err, errlen, off, ", in its packet %" PRIu64, p->packets);
        }
        off = rd_appendf(err, errlen, off, " after %" PRIu64 " events of that packet "
                      "(%" PRIu64 " of the stream)", p->ev_in_packet, p->events);
        off = append_secs(run, err, errlen, off, p);
    } else {
        off = rd_appendf(err, errlen, off, " before its first event");
    }
    off = rd_appendf(err, errlen, off, "%s", causes);
    off = rd_appendf(err, errlen, off, "; the %" PRIu64 " events before were read",
                  run->events);
}

/* ------------------------------------------------------------- the sink */

static bt_graph_simple_sink_component_initialize_func_status
sink_init(bt_message_iterator *it, void *data)
{
    (void)it;
    (void)data;
    return BT_GRAPH_SIMPLE_SINK_COMPONENT_INITIALIZE_FUNC_STATUS_OK;
}

/* R6: the stream a message belongs to, or NULL. */
static const bt_stream *message_stream(const bt_message *m)
{
    switch (bt_message_get_type(m)) {
    case BT_MESSAGE_TYPE_EVENT:
        return bt_event_borrow_stream_const(bt_message_event_borrow_event_const(m));
    case BT_MESSAGE_TYPE_PACKET_BEGINNING:
        return bt_packet_borrow_stream_const(
            bt_message_packet_beginning_borrow_packet_const(m));
    case BT_MESSAGE_TYPE_PACKET_END:
        return bt_packet_borrow_stream_const(bt_message_packet_end_borrow_packet_const(m));
    case BT_MESSAGE_TYPE_STREAM_BEGINNING:
        return bt_message_stream_beginning_borrow_stream_const(m);
    case BT_MESSAGE_TYPE_STREAM_END:
        return bt_message_stream_end_borrow_stream_const(m);
    case BT_MESSAGE_TYPE_DISCARDED_EVENTS:
        return bt_message_discarded_events_borrow_stream_const(m);
    case BT_MESSAGE_TYPE_DISCARDED_PACKETS:
        return bt_message_discarded_packets_borrow_stream_const(m);
    default:
        return NULL;
    }
}

static int stream_index(struct ctf_run *run, const bt_stream *s)
{
    if (run->last >= 0 && run->sp[run->last].s == s)
        return run->last;
    for (size_t i = 0; i < run->nsp; i++)
        if (run->sp[i].s == s)
            return (int)i;
    if (run->nsp == run->asp) {
        size_t na = run->asp ? run->asp * 2 : 16;
        struct stream_pos *n = realloc(run->sp, na * sizeof(*n));
        if (!n)
            return -1;
        run->sp = n;
        run->asp = na;
    }
    const char *name = bt_stream_get_name(s);
    run->sp[run->nsp] = (struct stream_pos){ .s = s, .name = name ? name : "?" };
    return (int)run->nsp++;
}

static void handle_message(struct ctf_run *run, const bt_message *m)
{
    const bt_stream *s = message_stream(m);
    struct stream_pos *pos = NULL;
    if (s) {
        int i = stream_index(run, s);
        if (i >= 0) {
            run->last = i;
            pos = &run->sp[i];
            cur_stream = (uint32_t)i;
            cur_stream_name = pos->name;
        }
    }
    switch (bt_message_get_type(m)) {
    case BT_MESSAGE_TYPE_PACKET_BEGINNING:
        if (pos) {
            pos->packets++;
            pos->ev_in_packet = 0;
        }
        return;
    case BT_MESSAGE_TYPE_EVENT: {
        const bt_event *ev = bt_message_event_borrow_event_const(m);
        int64_t ns = 0;
        bool has_ts = ctf_event_ns(m, &ns);
        run->events++;
        if (has_ts && !run->have_t0) {
            run->have_t0 = true;
            run->t0 = ns;
        }
        if (pos) {
            pos->ev_in_packet++;
            pos->events++;
            if (has_ts) {
                pos->last_ns = ns;
                pos->has_last = true;
            }
        }
        if (!run->ops->event)
            return;
        if (run->ops->event(ev, ns, has_ts, run->arg, run->err, run->errlen))
            run->stopped = true;
        return;
    }
    case BT_MESSAGE_TYPE_DISCARDED_EVENTS: {
        uint64_t n = 0;
        if (bt_message_discarded_events_get_count(m, &n) !=
            BT_PROPERTY_AVAILABILITY_AVAILABLE)
            n = 0;
        if (run->ops->discarded)
            run->ops->discarded(n, false, run->arg);
        return;
    }
    case BT_MESSAGE_TYPE_DISCARDED_PACKETS: {
        uint64_t n = 0;
        if (bt_message_discarded_packets_get_count(m, &n) !=
            BT_PROPERTY_AVAILABILITY_AVAILABLE)
            n = 0;
        if (run->ops->discarded)
            run->ops->discarded(n, true, run->arg);
        return;
    }
    default:
        return;
    }
}

static bt_graph_simple_sink_component_consume_func_status
sink_consume(bt_message_iterator *it, void *data)
{
    struct ctf_run *run = data;
    bt_message_array_const msgs;
    uint64_t count = 0;

    bt_graph_simple_sink_component_consume_func_status st;
    if (!next_batch(it, &msgs, &count, &st))
        return st;
    for (uint64_t i = 0; i < count; i++) {
        if (!run->stopped)
            handle_message(run, msgs[i]);
        bt_message_put_ref(msgs[i]);    /* R4 */
    }
    return run->stopped ? BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_ERROR
                        : BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_OK;
}

/* ------------------------------------------------------------ the graph */

/* R3: turn babeltrace2's error causes into one sentence. */
static void take_bt_error(const char *what, char *err, size_t errlen)
{
    const bt_error *e = bt_current_thread_take_error();
    size_t off = (size_t)snprintf(err, errlen, "%s", what);
    if (e) {
        uint64_t n = bt_error_get_cause_count(e);
        for (uint64_t i = 0; i < n && off < errlen; i++) {
            const bt_error_cause *c = bt_error_borrow_cause_by_index(e, i);
            off += (size_t)snprintf(err + off, errlen - off, "%s %s",
                                    i ? ";" : ":", bt_error_cause_get_message(c));
        }
        bt_error_release(e);
    }
}

/* One source.ctf.fs for one trace directory, every port into the muxer. */
static int add_source(bt_graph *graph, const bt_component_class_source *fs_cls,
                      const bt_component_filter *mux, int index, const char *path,
                      char *err, size_t errlen)
{
    int ret = -1;
    char name[32];
    const bt_component_source *src = NULL;
    bt_value *params = bt_value_map_create();
    bt_value *inputs = NULL;
    if (!params || bt_value_map_insert_empty_array_entry(params, "inputs", &inputs) !=
                       BT_VALUE_MAP_INSERT_ENTRY_STATUS_OK ||
        bt_value_array_append_string_element(inputs, path) !=
            BT_VALUE_ARRAY_APPEND_ELEMENT_STATUS_OK) {
        snprintf(err, errlen, "out of memory building the trace reader");
        goto out;
    }
    snprintf(name, sizeof(name), "src%d", index);
    if (bt_graph_add_source_component(graph, fs_cls, name, params,
                                      BT_LOGGING_LEVEL_NONE, &src) !=
        BT_GRAPH_ADD_COMPONENT_STATUS_OK) {
        char what[PATH_MAX + 64];
        snprintf(what, sizeof(what), "babeltrace2 cannot open the CTF trace "
                 "in '%s'", path);
        take_bt_error(what, err, errlen);
        goto out;
    }
    uint64_t nout = mux ? bt_component_source_get_output_port_count(src) : 0;
    for (uint64_t i = 0; i < nout; i++) {       /* R2 */
        const bt_port_output *op =
            bt_component_source_borrow_output_port_by_index_const(src, i);
        const bt_port_input *ip = bt_component_filter_borrow_input_port_by_index_const(
            mux, bt_component_filter_get_input_port_count(mux) - 1);
        if (bt_graph_connect_ports(graph, op, ip, NULL) !=
            BT_GRAPH_CONNECT_PORTS_STATUS_OK) {
            take_bt_error("babeltrace2 cannot connect a trace stream to the "
                          "muxer", err, errlen);
            ret = -2;
            goto out;
        }
    }
    ret = 0;
out:
    bt_value_put_ref(params);
    return ret;
}

/* R12: whether source.ctf.fs takes the trace (in a graph of its own: a
   graph where adding a component failed takes no other). */
static int try_open(const bt_component_class_source *fs_cls, const char *path,
                    char *err, size_t errlen)
{
    bt_graph *g = bt_graph_create(0);
    if (!g) {
        snprintf(err, errlen, "out of memory building the trace reader");
        return -1;
    }
    int rc = add_source(g, fs_cls, NULL, 0, path, err, errlen);
    bt_graph_put_ref(g);
    return rc;
}

/* R7: the whole read, counting events only (run in a child). */
struct graph_args {
    const bt_component_class_source *fs_cls;
    const bt_component_class_filter *mux_cls;
    char **dirs;
    int n;
};

static int64_t graph_fn(void *arg)
{
    const struct graph_args *a = arg;
    char err[256];
    uint64_t count = 0;
    bt_graph *g = bt_graph_create(0);
    const bt_component_filter *mux = NULL;
    const bt_component_sink *sink = NULL;
    if (!g || bt_graph_add_filter_component(g, a->mux_cls, "mux", NULL,
                                            BT_LOGGING_LEVEL_NONE, &mux) !=
                  BT_GRAPH_ADD_COMPONENT_STATUS_OK)
        return -1;
    for (int t = 0; t < a->n; t++) {
        if (!a->dirs[t])
            continue;
        if (add_source(g, a->fs_cls, mux, t, a->dirs[t], err, sizeof(err)) == -2)
            return -1;
        bt_current_thread_clear_error();
    }
    if (bt_graph_add_simple_sink_component(g, "count", probe_init, probe_consume,
                                           NULL, &count, &sink) !=
            BT_GRAPH_ADD_COMPONENT_STATUS_OK ||
        bt_graph_connect_ports(g,
            bt_component_filter_borrow_output_port_by_index_const(mux, 0),
            bt_component_sink_borrow_input_port_by_index_const(sink, 0), NULL) !=
            BT_GRAPH_CONNECT_PORTS_STATUS_OK)
        return -1;
    bt_graph_run_status st;
    do
        st = bt_graph_run(g);
    while (st == BT_GRAPH_RUN_STATUS_AGAIN);
    return (int64_t)count;
}

int ctf_read(const char *dir, const struct ctf_reader_ops *ops, void *arg,
             char *err, size_t errlen)
{
    int ret = -1;
    const bt_plugin *ctf = NULL, *utils = NULL;
    bt_graph *graph = NULL;
    bt_value *inputs = NULL;
    struct ctf_run run = { .ops = ops, .arg = arg, .err = err, .errlen = errlen,
                           .last = -1 };
    char *skipped = NULL;       /* R12: the messages of the traces left out */
    char **read_dirs = NULL;    /* per trace: what source.ctf.fs reads */
    size_t skip_off = 0, off = 0;
    int nskipped = 0, ntraces = 0;

    if (bt_plugin_find("ctf", BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE, &ctf) !=
            BT_PLUGIN_FIND_STATUS_OK ||
        bt_plugin_find("utils", BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE, &utils) !=
            BT_PLUGIN_FIND_STATUS_OK) {
        snprintf(err, errlen, "babeltrace2's ctf and utils plugins were not "
                 "found; install babeltrace2 (make deps)");
        goto out;
    }
    const bt_component_class_source *fs_cls =
        bt_plugin_borrow_source_component_class_by_name_const(ctf, "fs");
    const bt_component_class_filter *mux_cls =
        bt_plugin_borrow_filter_component_class_by_name_const(utils, "muxer");
    if (!fs_cls || !mux_cls) {
        snprintf(err, errlen, "babeltrace2 has no source.ctf.fs or "
                 "filter.utils.muxer component class");
        goto out;
    }

    inputs = bt_value_array_create();
    if (!inputs) {
        snprintf(err, errlen, "out of memory building the trace reader");
        goto out;
    }
    run.fs_cls = fs_cls;
    ntraces = find_traces(dir, inputs, err, errlen);
    if (ntraces < 0)
        goto out;

    graph = bt_graph_create(0);
    const bt_component_filter *mux = NULL;
    const bt_component_sink *sink = NULL;
    if (!graph) {
        snprintf(err, errlen, "out of memory building the trace reader");
        goto out;
    }
    if (bt_graph_add_filter_component(graph, mux_cls, "mux", NULL,
                                      BT_LOGGING_LEVEL_NONE, &mux) !=
        BT_GRAPH_ADD_COMPONENT_STATUS_OK) {
        take_bt_error("babeltrace2 cannot create its muxer", err, errlen);
        goto out;
    }
    bool any_cut = false;
    int nsources = 0;
    skipped = calloc(1, errlen ? errlen : 1);
    if (!skipped) {
        snprintf(err, errlen, "out of memory building the trace reader");
        goto out;
    }
    read_dirs = calloc((size_t)ntraces, sizeof(*read_dirs));
    if (!read_dirs) {
        snprintf(err, errlen, "out of memory building the trace reader");
        goto out;
    }
    for (int t = 0; t < ntraces; t++) {
        const char *path = bt_value_string_get(
            bt_value_array_borrow_element_by_index_const(inputs, (uint64_t)t));
        char *read_dir = NULL;
        size_t first = run.nfiles;
        int rc = check_metadata(path, err, errlen);                 /* R11 */
        if (rc == 0)
            rc = prepare_trace(&run, path, &read_dir, err, errlen);  /* R7 */
        if (rc == 0 && (rc = try_open(fs_cls, read_dir ? read_dir : path,
                                      err, errlen)) != 0 && read_dir) {
            /* R7: a cut packet babeltrace2 refuses (its context cut) */
            bt_current_thread_clear_error();
            rc = drop_cut_packets(&run, first);
            if (rc == 0)
                rc = try_open(fs_cls, read_dir, err, errlen);
        }
        if (rc != 0)                                                 /* R12 */
            free(read_dir);
        if (rc == 0) {
            any_cut |= read_dir != NULL;
            read_dirs[t] = read_dir ? read_dir : strdup(path);
            if (!read_dirs[t]) {
                snprintf(err, errlen, "out of memory building the trace reader");
                goto out;
            }
            continue;
        }
        nskipped++;             /* R12: the others are still read */
        skip_off = rd_appendf(skipped, errlen, skip_off, "%s%s", skip_off ? "; " : "", err);
    }
    if (any_cut) {              /* R7: a dry run in a child first */
        struct graph_args ga = { fs_cls, mux_cls, read_dirs, ntraces };
        if (run_forked(graph_fn, &ga) == PROBE_DIED &&
            (drop_cut_packets(&run, 0) != 0 || run_forked(graph_fn, &ga) == PROBE_DIED)) {
            off = rd_appendf(err, errlen, 0, "babeltrace2 cannot read the trace in '%s' "
                          "without aborting, even without the packets cut short",
                          dir);
            describe_cuts(&run, err, errlen, off);
            goto out;
        }
    }
    for (int t = 0; t < ntraces; t++) {         /* R1: one source per trace */
        if (!read_dirs[t])
            continue;
        int rc = add_source(graph, fs_cls, mux, t, read_dirs[t], err, errlen);
        if (rc == -2)
            goto out;           /* a half-connected source: no graph to run */
        if (rc != 0) {          /* R12: the others are still read */
            bt_current_thread_clear_error();
            nskipped++;
            skip_off = rd_appendf(skipped, errlen, skip_off, "%s%s", skip_off ? "; " : "",
                               err);
            continue;
        }
        nsources++;
    }
    if (nsources == 0) {
        snprintf(err, errlen, "%s", skipped);
        goto out;
    }
    if (bt_graph_add_simple_sink_component(graph, "hvlab-reader", sink_init,
                                           sink_consume, NULL, &run, &sink) !=
            BT_GRAPH_ADD_COMPONENT_STATUS_OK ||
        bt_graph_connect_ports(graph,
            bt_component_filter_borrow_output_port_by_index_const(mux, 0),
            bt_component_sink_borrow_input_port_by_index_const(sink, 0), NULL) !=
            BT_GRAPH_CONNECT_PORTS_STATUS_OK) {
        take_bt_error("babeltrace2 cannot attach the reader's sink", err, errlen);
        goto out;
    }

    bt_graph_run_status st;
    do
        st = bt_graph_run(graph);
    while (st == BT_GRAPH_RUN_STATUS_AGAIN);       /* R3 */
    if (run.stopped) {
        bt_current_thread_clear_error();        /* err[] already says why */
        goto out;
    }
    if (st != BT_GRAPH_RUN_STATUS_OK && !stopped_at_cut(&run)) {
        describe_failure(&run, dir, err, errlen);     /* R8 */
        off = strlen(err);
    }
    bt_current_thread_clear_error();
    if (any_cut)                                 /* R7 */
        off = describe_cuts(&run, err, errlen, off);
    if (nskipped)                                /* R12 */
        off = rd_appendf(err, errlen, off, "%s%d of the %d traces could not be read: "
                      "%s", off ? "; " : "", nskipped, ntraces, skipped);
    if (off)
        goto out;
    if (ops->end && ops->end(arg, err, errlen) != 0)
        goto out;
    ret = ntraces;

out:
    cur_stream_name = NULL;
    free(skipped);
    for (int t = 0; read_dirs && t < ntraces; t++)
        free(read_dirs[t]);
    free(read_dirs);
    bt_graph_put_ref(graph);
    free_files(&run);
    bt_value_put_ref(inputs);
    bt_plugin_put_ref(ctf);
    bt_plugin_put_ref(utils);
    return ret;
}

int ctf_field_u64(const bt_event *ev, const char *name, uint64_t *out)
{
    const bt_field *payload = bt_event_borrow_payload_field_const(ev);
    if (!payload)
        return -1;
    const bt_field *f = bt_field_structure_borrow_member_field_by_name_const(
        payload, name);
    if (!f)
        return -1;
    if (bt_field_get_class_type(f) == BT_FIELD_CLASS_TYPE_UNSIGNED_INTEGER ||
        bt_field_get_class_type(f) == BT_FIELD_CLASS_TYPE_UNSIGNED_ENUMERATION) {
        *out = bt_field_integer_unsigned_get_value(f);
        return 0;
    }
    if (bt_field_get_class_type(f) == BT_FIELD_CLASS_TYPE_SIGNED_INTEGER ||
        bt_field_get_class_type(f) == BT_FIELD_CLASS_TYPE_SIGNED_ENUMERATION) {
        *out = (uint64_t)bt_field_integer_signed_get_value(f);
        return 0;
    }
    return -1;
}
