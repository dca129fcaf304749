/*
 * tools/hvlab/campaign.h - the state of an AFL++ sync directory, as
 * `hvlab fuzz` shows it (rules in campaign.c: G1-G8).
 */
#ifndef HVLAB_TOOLS_HVLAB_CAMPAIGN_H
#define HVLAB_TOOLS_HVLAB_CAMPAIGN_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#define CAMP_MAX_INSTANCES 64
#define CAMP_NAME_LEN      64
#define CAMP_PATH_LEN      4096
/* hvlab's own files inside a sync dir (AFL++ skips dot directories). */
#define CAMP_META_DIR      ".hvlab"

/* Figures of a fuzzer_stats that did not parse (G1): shown "?", null. */
enum {
    CAMP_BAD_EXECS   = 1u << 0,
    CAMP_BAD_EPS     = 1u << 1,
    CAMP_BAD_CORPUS  = 1u << 2,
    CAMP_BAD_CRASHES = 1u << 3,
    CAMP_BAD_HANGS   = 1u << 4,
    CAMP_BAD_STAB    = 1u << 5,
    CAMP_BAD_FIND    = 1u << 6,
    CAMP_BAD_RUNTIME = 1u << 7,
};

/* One afl-fuzz instance: DIR/NAME/fuzzer_stats. */
struct camp_instance {
    char name[CAMP_NAME_LEN];
    bool running;                   /* G3 */
    bool remote;                    /* G3: started on another host */
    unsigned bad;                   /* CAMP_BAD_*: garbled figures */
    long pid;
    unsigned long long execs;
    double execs_per_sec;
    unsigned long corpus;
    unsigned long crashes, hangs;
    double stability;               /* percent; < 0 when not yet known */
    long long last_find;            /* epoch seconds, 0: none */
    long long run_time;
};

struct campaign {
    char dir[CAMP_PATH_LEN];
    char surface[16];               /* from DIR/.hvlab/campaign, or "" */
    char sets[1024];                /* "k=v,k=v" of the campaign, or "" */
    unsigned n;
    struct camp_instance in[CAMP_MAX_INSTANCES];
    struct camp_instance total;     /* G4 */
};

/* G1-G4: read every instance of dir.  -1 when dir is not a directory
   (errno set); 0 otherwise (c->n may be 0). */
int camp_read(struct campaign *c, const char *dir);
/* G5: the combined table (one line per instance and the total). */
void camp_print_table(const struct campaign *c, FILE *f, time_t now);
/* The table's height in lines (for a terminal redraw). */
unsigned camp_table_lines(const struct campaign *c);
/* G6: one status line. */
void camp_print_line(const struct campaign *c, FILE *f, time_t now,
                     long elapsed);
/* G7: one JSON object. */
void camp_print_json(const struct campaign *c, FILE *f, time_t now);

/* G2: DIR/.hvlab/campaign, written at a campaign's start. */
int camp_write_meta(const char *dir, const char *surface, const char *sets);
/* G2: the record of dir; 0 when there is one, -1 when not. */
int camp_read_meta(const char *dir, char *surface, size_t slen, char *sets,
                   size_t setslen);
/* G2: two "k=v,k=v" lists hold the same options (in any order). */
bool camp_same_sets(const char *a, const char *b);

/* G3: this host's name as instance names and DIR/.hvlab/NAME.host carry
   it (letters, digits, '_' and '-'; at most 40 characters). */
void camp_host(char *buf, size_t len);
/* G3: DIR/.hvlab/NAME.host = this host (before NAME starts). */
int camp_write_host(const char *dir, const char *name);

/* G8: the crash files of dir's instances, called once per file not seen
   before (seen: the highest id per instance, kept by the caller through
   these calls). */
struct camp_seen;
struct camp_seen *camp_seen_new(void);
void camp_seen_free(struct camp_seen *s);
/* Calls fn for each crash file newer than s knows and records it; the
   number of crash files s has seen (all instances). */
unsigned camp_scan_crashes(const char *dir, struct camp_seen *s,
                           void (*fn)(const char *path, void *arg), void *arg);
/* Crash files in dir (all instances). */
unsigned camp_count_crashes(const char *dir);

/* G8: the `hvlab repro` line replaying path (surface and sets as the
   campaign ran; --surface only when the path does not name it). */
void camp_repro_line(char *buf, size_t len, const char *hvlab,
                     const char *path, const char *surface, const char *sets);
/* G8: w as one shell word (single-quoted when the shell would read a
   character of it). */
void camp_shell_word(char *buf, size_t len, const char *w);

#endif /* HVLAB_TOOLS_HVLAB_CAMPAIGN_H */
