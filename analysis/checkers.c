/*
 * analysis/checkers.c - the table of checkers (checker.h K1).
 *
 * One line per checker, in report order: each checker's file declares its
 * `const struct checker` and adds one extern line and one table line here.
 * The engine (analysis/analyze.c) reads this table and nothing else to know
 * which checkers exist; `hvlab analyze --list` prints it.
 */
#include <stddef.h>

#include "analysis/checker.h"

/* extern const struct checker chk_NAME;   (one line per checker) */
extern const struct checker chk_rebuild_untraced;
extern const struct checker chk_inv3;
extern const struct checker chk_inv5;
extern const struct checker chk_inv6;
extern const struct checker chk_inv7;
extern const struct checker chk_inv8;
extern const struct checker chk_inv9;
extern const struct checker chk_inv10;
extern const struct checker chk_inv11;
extern const struct checker chk_inv13;
extern const struct checker chk_inv16;
extern const struct checker chk_inv19;
extern const struct checker chk_inv22;
extern const struct checker chk_inv24;
extern const struct checker chk_inv31;
extern const struct checker chk_story_a_oos_fastpath;
extern const struct checker chk_story_b_entry_under_lookup;
extern const struct checker chk_story_b_foreign_rw;
extern const struct checker chk_story_c_spurious;
extern const struct checker chk_story_d_devalidated_sent_as_pt;
extern const struct checker chk_story_d_pt_after_restore;
extern const struct checker chk_story_e_dirty_after_send;
extern const struct checker chk_story_e_unmarked_after_final;
extern const struct checker chk_story_e_unmarked_write;
extern const struct checker chk_mig_record_dropped;
extern const struct checker chk_mig_record_duplicated;
extern const struct checker chk_mig_content_corrupted;

const struct checker *const hv_checkers[] = {
    /* &chk_NAME, */
    &chk_rebuild_untraced,
    &chk_inv3,
    &chk_inv5,
    &chk_inv6,
    &chk_inv7,
    &chk_inv8,
    &chk_inv9,
    &chk_inv10,
    &chk_inv11,
    &chk_inv13,
    &chk_inv16,
    &chk_inv19,
    &chk_inv22,
    &chk_inv24,
    &chk_inv31,
    &chk_story_a_oos_fastpath,
    &chk_story_b_entry_under_lookup,
    &chk_story_b_foreign_rw,
    &chk_story_c_spurious,
    &chk_story_d_devalidated_sent_as_pt,
    &chk_story_d_pt_after_restore,
    &chk_story_e_dirty_after_send,
    &chk_story_e_unmarked_after_final,
    &chk_story_e_unmarked_write,
    &chk_mig_record_dropped,
    &chk_mig_record_duplicated,
    &chk_mig_content_corrupted,
    NULL,
};
