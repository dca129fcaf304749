/*
 * guest/ramdisk.h - the backend's disk: sectors in host memory.
 *
 * A device, not guest memory: the backend copies between it and the
 * frontend's granted pages (through its own MMU); the hypervisor never
 * sees it.  Sectors are BLK_SECTOR_SIZE bytes and start zeroed.
 *
 * Rules:
 *   R1  Every access is bounds-checked: a range outside the disk is
 *       -XEN_EINVAL and nothing is copied (a bad request from a frontend
 *       becomes BLKIF_RSP_ERROR, never a host fault).
 *   R2  Shared storage between two hvlab processes (a migration's source
 *       and destination hosts): a disk opened on a file is that file's
 *       bytes, mapped shared, so a write on one host is what the other
 *       reads.  The file must hold exactly the disk's size.
 */
#ifndef HVLAB_GUEST_RAMDISK_H
#define HVLAB_GUEST_RAMDISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BLK_SECTOR_SIZE     512u
#define BLK_SECTOR_SHIFT    9

struct ramdisk;

/* NULL when out of memory or sectors is 0. */
struct ramdisk *ramdisk_new(uint64_t sectors);
/* R2: the disk on the file at path; create: make it (zeroed, sectors
   long; an existing file is refused), else open it (its size must be
   sectors * BLK_SECTOR_SIZE).  NULL with err naming the file and what
   was wrong. */
struct ramdisk *ramdisk_open_shared(const char *path, uint64_t sectors,
                                    bool create, char *err, size_t errlen);
void ramdisk_free(struct ramdisk *rd);
uint64_t ramdisk_sectors(const struct ramdisk *rd);
/* R1: copy n sectors from / to buf. 0 or -XEN_EINVAL. */
int ramdisk_read(struct ramdisk *rd, uint64_t sector, unsigned n, void *buf);
int ramdisk_write(struct ramdisk *rd, uint64_t sector, unsigned n,
                  const void *buf);

#endif /* HVLAB_GUEST_RAMDISK_H */
