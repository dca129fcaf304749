/*
 * guest/ramdisk.c - the backend's disk (rules in ramdisk.h).
 */
#include <stdlib.h>
#include <string.h>

#include "core/types.h"
#include "guest/ramdisk.h"

struct ramdisk {
    uint64_t sectors;
    uint8_t *data;
};

struct ramdisk *ramdisk_new(uint64_t sectors)
{
    if (sectors == 0 || sectors > (1ULL << 40) / BLK_SECTOR_SIZE)
        return NULL;
    struct ramdisk *rd = calloc(1, sizeof(*rd));
    if (!rd)
        return NULL;
    rd->data = calloc(sectors, BLK_SECTOR_SIZE);
    if (!rd->data) {
        free(rd);
        return NULL;
    }
    rd->sectors = sectors;
    return rd;
}

void ramdisk_free(struct ramdisk *rd)
{
    if (rd)
        free(rd->data);
    free(rd);
}

uint64_t ramdisk_sectors(const struct ramdisk *rd)
{
    return rd->sectors;
}

static bool in_range(const struct ramdisk *rd, uint64_t sector, unsigned n)
{
    return n > 0 && sector < rd->sectors && n <= rd->sectors - sector;
}

int ramdisk_read(struct ramdisk *rd, uint64_t sector, unsigned n, void *buf)
{
    if (!in_range(rd, sector, n))
        return -XEN_EINVAL;
    memcpy(buf, rd->data + (sector << BLK_SECTOR_SHIFT),
           (size_t)n << BLK_SECTOR_SHIFT);
    return 0;
}

int ramdisk_write(struct ramdisk *rd, uint64_t sector, unsigned n,
                  const void *buf)
{
    if (!in_range(rd, sector, n))
        return -XEN_EINVAL;
    memcpy(rd->data + (sector << BLK_SECTOR_SHIFT), buf,
           (size_t)n << BLK_SECTOR_SHIFT);
    return 0;
}
