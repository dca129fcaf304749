/*
 * guest/ramdisk.c - the backend's disk (rules in ramdisk.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/types.h"
#include "guest/ramdisk.h"

struct ramdisk {
    uint64_t sectors;
    uint8_t *data;
    bool mapped;                /* R2: data is a shared file mapping */
};

#define RAMDISK_MAX_SECTORS ((1ULL << 40) / BLK_SECTOR_SIZE)

struct ramdisk *ramdisk_new(uint64_t sectors)
{
    if (sectors == 0 || sectors > RAMDISK_MAX_SECTORS)
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

struct ramdisk *ramdisk_open_shared(const char *path, uint64_t sectors,
                                    bool create, char *err, size_t errlen)
{
    if (sectors == 0 || sectors > RAMDISK_MAX_SECTORS) {
        snprintf(err, errlen, "disk %s: %llu sectors is not a disk size",
                 path, (unsigned long long)sectors);
        return NULL;
    }
    size_t bytes = (size_t)(sectors * BLK_SECTOR_SIZE);
    int fd = create ? open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)
                    : open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        snprintf(err, errlen, "disk %s: %s%s", path,
                 create ? "creating it: " : "", strerror(errno));
        return NULL;
    }
    struct stat st;
    if (create && ftruncate(fd, (off_t)bytes) != 0) {
        snprintf(err, errlen, "disk %s: sizing it to %zu bytes: %s", path,
                 bytes, strerror(errno));
        goto fail;
    }
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_size != bytes) {
        snprintf(err, errlen, "disk %s: %lld bytes, the disk is %zu (%llu "
                 "sectors)", path, (long long)st.st_size, bytes,
                 (unsigned long long)sectors);
        goto fail;
    }
    struct ramdisk *rd = calloc(1, sizeof(*rd));
    void *p = rd ? mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
                 : MAP_FAILED;
    if (p == MAP_FAILED) {
        snprintf(err, errlen, "disk %s: mapping it: %s", path,
                 rd ? strerror(errno) : "out of memory");
        free(rd);
        goto fail;
    }
    close(fd);
    rd->sectors = sectors;
    rd->data = p;
    rd->mapped = true;
    return rd;
fail:
    close(fd);
    if (create)
        unlink(path);
    return NULL;
}

void ramdisk_free(struct ramdisk *rd)
{
    if (rd && rd->mapped)
        munmap(rd->data, (size_t)(rd->sectors * BLK_SECTOR_SIZE));
    else if (rd)
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
