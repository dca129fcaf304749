/*
 * fuzz/restore.c - the FUZZ_RESTORE surface: the input bytes are a libxc
 * migration v2 stream; mig_restore (toolstack/migrate.h R1-R3) builds a
 * domain from them on the harness's machine, and the oracle checks what
 * is left behind.
 *
 * Rules:
 *   FR1  One machine (restore_seed.h RD1): the surface's world, a machine
 *        with no domain (fuzz/world.c W10), reset as every world is
 *        (fuzz/exec.c E8, E9); every input is restored into it as the same
 *        domain id with the same vCPUs and max_pages, so a stream is the
 *        whole input (F1: any bytes are a stream the reader accepts or
 *        rejects).
 *   FR2  Oracle, on error: no domain left (res->d NULL and none at the
 *        domid), every frame back (nr_free as before: "restore: frames
 *        leaked"), a clean audit ("restore: audit").  On success: the
 *        restored domain audits clean as it stands ("restore: audit of the
 *        restored domain"), destroys without error ("restore: destroy"),
 *        then the same checks as on error.  With the oracle off
 *        (fuzz_set_oracle, exec.c E10) neither audit runs.
 *   FR3  F2: the machine after a clean input is the machine before it (no
 *        domain, the same free count), but for the order of its free heap.
 *        After a violation it may not be: the world is reset before the
 *        next input (exec.c E9).
 *   FR4  res->calls / calls_run count the stream's records read; at_call
 *        is the record count when the violation was seen; the report holds
 *        the restore's message and the audit's text.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/audit.h"
#include "core/domctl.h"
#include "core/machine.h"
#include "core/options.h"
#include "fuzz/restore.h"
#include "fuzz/restore_seed.h"
#include "toolstack/migrate.h"

/* The audit's text into the report after what is already there. */
static void report_audit(struct machine *m, struct fuzz_result *res)
{
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    if (!f)
        return;
    hv_audit(m, f);
    fclose(f);
    size_t l = strlen(res->report);
    snprintf(res->report + l, sizeof(res->report) - l, "%s", text ? text : "");
    free(text);
}

static int violation(struct fuzz_result *res, struct machine *m,
                     const struct mig_restore_result *mr, const char *inv,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int violation(struct fuzz_result *res, struct machine *m,
                     const struct mig_restore_result *mr, const char *inv,
                     const char *fmt, ...)
{
    va_list ap;
    res->violation = true;
    res->at_call = res->calls_run;
    snprintf(res->invariant, sizeof(res->invariant), "%s", inv);
    va_start(ap, fmt);
    vsnprintf(res->report, sizeof(res->report), fmt, ap);
    va_end(ap);
    size_t l = strlen(res->report);
    snprintf(res->report + l, sizeof(res->report) - l,
             "\nrestore said: %s\n", mr->err[0] ? mr->err : "(nothing)");
    report_audit(m, res);
    return 1;
}

int fuzz_restore_run(struct machine *m, const uint8_t *data, size_t len,
                     struct fuzz_result *res)
{
    static struct mig_restore_result mr;
    res->calls = res->calls_run = res->at_call = 0;
    res->violation = false;
    res->invariant[0] = res->report[0] = '\0';

    const uint64_t free_before = m->nr_free;
    struct stream_memsrc src = { data, data ? len : 0, 0 };
    struct stream_reader r;
    stream_reader_init(&r, stream_source_mem, &src);
    const struct mig_restore_opts o = {
        .m = m, .domid = FUZZ_RESTORE_DOMID, .nr_vcpus = FUZZ_RESTORE_VCPUS,
        .max_pages = FUZZ_RESTORE_MAX_PAGES, .paging = PAGING_HAP, .r = &r,
    };
    int rc = mig_restore(&o, &mr);
    res->calls = res->calls_run = r.next_index;
    stream_reader_free(&r);

    if (rc) {
        if (mr.d || machine_domain(m, FUZZ_RESTORE_DOMID))
            return violation(res, m, &mr, "restore: error left a domain",
                             "restore failed (%d) but dom%u exists", rc,
                             FUZZ_RESTORE_DOMID);
    } else {
        if (!mr.d)
            return violation(res, m, &mr, "restore: no domain",
                             "restore succeeded without a domain");
        if (fuzz_oracle_on() && hv_audit(m, NULL))
            return violation(res, m, &mr, "restore: audit of the restored "
                             "domain", "the restored dom%u fails the audit",
                             FUZZ_RESTORE_DOMID);
        int drc = domain_destroy(mr.d);
        if (drc || machine_domain(m, FUZZ_RESTORE_DOMID))
            return violation(res, m, &mr, "restore: destroy",
                             "destroying the restored dom%u: %d",
                             FUZZ_RESTORE_DOMID, drc);
    }
    if (m->nr_free != free_before)
        return violation(res, m, &mr, "restore: frames leaked",
                         "%lld frames did not come back (restore rc %d)",
                         (long long)(free_before - m->nr_free), rc);
    if (fuzz_oracle_on() && hv_audit(m, NULL))     /* exec.c E10 */
        return violation(res, m, &mr, "restore: audit",
                         "the machine fails the audit after the restore "
                         "(rc %d)", rc);
    return 0;
}
