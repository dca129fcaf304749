/*
 * core/mm/paging.h - log-dirty entry points of the paging layer.
 *
 * Only the marking call exists yet: its callers (grant unmap/copy,
 * core/grant) must mark in the right places before log-dirty lands.
 */
#ifndef HVLAB_CORE_MM_PAGING_H
#define HVLAB_CORE_MM_PAGING_H

#include "core/types.h"

struct domain;

/* A frame of d was written by an agent its own paging cannot see. */
void paging_mark_dirty(struct domain *d, mfn_t mfn);
/* Marks made for d so far (tests). */
uint64_t paging_dirty_marks(const struct domain *d);

#endif /* HVLAB_CORE_MM_PAGING_H */
