// SPDX-License-Identifier: GPL-2.0
/*
 * trace/bpf/hvlab_top.bpf.c - the BPF side of `hvlab top`: programs on the
 * USDT probes of trace/usdt.h (provider hvlab), counting into the maps of
 * trace/bpf/hvlab_top.h.
 *
 * Rules:
 *   B1  One program per probe (SEC("usdt"), named on_PROBE); user space
 *       attaches only the ones it shows, so only those semaphores rise.
 *   B2  A hypercall's latency is exit time - entry time, the entry time
 *       kept per thread and vCPU (top_start); an exit without an entry
 *       (attached in the middle of a call) uses the hypervisor's own ns
 *       argument; when that is TOP_NS_UNTIMED (the call was running when
 *       the probe was enabled) the call is counted as untimed, in no
 *       bucket.  Every other exit is counted once and lands in one bucket
 *       (T2).
 *   B3  A lock's hold time is its lock_released time - its lock_acquired
 *       time, keyed by the lock's address (an LRU map: a lock never
 *       released while attached only ages out).  Only a release matched
 *       with an acquire seen is counted (released): one of a lock taken
 *       before attaching is not.
 *   B4  Counters are added atomically (several vCPU threads hit the same
 *       value); a full map drops the event and counts it in `dropped`.
 *   B5  Built against a vmlinux.h generated at build time (CO-RE); nothing
 *       here reads kernel structures, the program only needs BTF to load.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

#include "hvlab_top.h"

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, TOP_MAX_ROWS);
    __type(key, struct top_hcall_key);
    __type(value, struct top_hcall_val);
} hcalls SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, TOP_MAX_ROWS);
    __type(key, struct top_start_key);
    __type(value, __u64);
} starts SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, TOP_MAX_ROWS);
    __type(key, struct top_fault_key);
    __type(value, __u64);
} faults SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, TOP_LOCK_CLASSES);
    __type(key, __u32);
    __type(value, struct top_lock_val);
} locks SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, TOP_MAX_ROWS);
    __type(key, __u64);
    __type(value, __u64);
} held SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, TOP_MIG_RING);
    __type(key, __u32);
    __type(value, struct top_mig_round);
} mig_rounds SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, TOP_MAX_ROWS);
    __type(key, struct top_grant_key);
    __type(value, struct top_grant_val);
} grants SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, TOP_MAX_ROWS);
    __type(key, struct top_inject_key);
    __type(value, __u64);
} injects SEC(".maps");

/* .bss, read through the skeleton (declared __u64: see TOOLCHAIN.md). */
__u64 mig_seq = 0;
__u64 dropped = 0;

static __always_inline __u32 log2_bucket(__u64 ns)
{
    __u32 r = 0;
#pragma unroll
    for (int i = 32; i > 0; i >>= 1)
        if (ns >= (1ull << i)) {
            ns >>= i;
            r += i;
        }
    return r < TOP_HIST_BUCKETS ? r : TOP_HIST_BUCKETS - 1;
}

/* The value at key, created zeroed on first use (B4). */
static __always_inline void *get_or_init(void *map, const void *key,
                                         const void *zero)
{
    void *v = bpf_map_lookup_elem(map, key);
    if (v)
        return v;
    bpf_map_update_elem(map, key, zero, BPF_NOEXIST);
    v = bpf_map_lookup_elem(map, key);
    if (!v)
        __sync_fetch_and_add(&dropped, 1);
    return v;
}

static const struct top_hcall_val hcall_zero;
static const struct top_grant_val grant_zero;
static const __u64 u64_zero;

SEC("usdt")
int BPF_USDT(on_hcall_entry, __u64 host, __u64 dom, __u64 vcpu, __u64 op)
{
    struct top_start_key k = {
        .tid = (__u32)bpf_get_current_pid_tgid(),
        .dom = (__u16)dom, .vcpu = (__u16)vcpu, .host = (__u32)host,
    };
    __u64 now = bpf_ktime_get_ns();
    (void)op;
    bpf_map_update_elem(&starts, &k, &now, BPF_ANY);
    return 0;
}

SEC("usdt")
int BPF_USDT(on_hcall_exit, __u64 host, __u64 dom, __u64 vcpu, __u64 op,
             __s64 rc, __u64 ns)
{
    struct top_start_key sk = {
        .tid = (__u32)bpf_get_current_pid_tgid(),
        .dom = (__u16)dom, .vcpu = (__u16)vcpu, .host = (__u32)host,
    };
    __u64 *t0 = bpf_map_lookup_elem(&starts, &sk);
    if (t0) {                                           /* B2 */
        ns = bpf_ktime_get_ns() - *t0;
        bpf_map_delete_elem(&starts, &sk);
    }
    int untimed = !t0 && ns == TOP_NS_UNTIMED;
    struct top_hcall_key k = {
        .host = (__u32)host, .dom = (__u32)dom, .op = (__u32)op,
    };
    struct top_hcall_val *v = get_or_init(&hcalls, &k, &hcall_zero);
    if (!v)
        return 0;
    if (untimed) {
        __sync_fetch_and_add(&v->untimed, 1);
    } else {
        __sync_fetch_and_add(&v->hist[log2_bucket(ns)], 1);
        __sync_fetch_and_add(&v->ns_sum, ns);
    }
    if (rc < 0)
        __sync_fetch_and_add(&v->errors, 1);
    __sync_fetch_and_add(&v->count, 1);
    return 0;
}

SEC("usdt")
int BPF_USDT(on_fault, __u64 host, __u64 dom, __u64 vcpu, __u64 va,
             __u64 outcome)
{
    struct top_fault_key k = {
        .host = (__u32)host, .dom = (__u32)dom, .outcome = (__u32)outcome,
    };
    (void)vcpu; (void)va;
    __u64 *c = get_or_init(&faults, &k, &u64_zero);
    if (c)
        __sync_fetch_and_add(c, 1);
    return 0;
}

static __always_inline struct top_lock_val *lock_class(__u64 cls)
{
    __u32 k = (__u32)cls;
    if (k >= TOP_LOCK_CLASSES)
        k = TOP_LOCK_CLASSES - 1;
    return bpf_map_lookup_elem(&locks, &k);
}

SEC("usdt")
int BPF_USDT(on_lock_contended, __u64 cls, __u64 wait_ns, __u64 lock)
{
    struct top_lock_val *v = lock_class(cls);
    (void)lock;
    if (!v)
        return 0;
    __sync_fetch_and_add(&v->wait_hist[log2_bucket(wait_ns)], 1);
    __sync_fetch_and_add(&v->wait_ns_sum, wait_ns);
    __sync_fetch_and_add(&v->contended, 1);
    return 0;
}

SEC("usdt")
int BPF_USDT(on_lock_acquired, __u64 cls, __u64 wait_ns, __u64 lock)
{
    struct top_lock_val *v = lock_class(cls);
    __u64 now = bpf_ktime_get_ns();
    (void)wait_ns;
    if (!v)
        return 0;
    bpf_map_update_elem(&held, &lock, &now, BPF_ANY);   /* B3 */
    __sync_fetch_and_add(&v->acquired, 1);
    return 0;
}

SEC("usdt")
int BPF_USDT(on_lock_released, __u64 cls, __u64 lock)
{
    struct top_lock_val *v = lock_class(cls);
    if (!v)
        return 0;
    __u64 *t0 = bpf_map_lookup_elem(&held, &lock);
    if (!t0)
        return 0;                       /* B3: not matched */
    __u64 ns = bpf_ktime_get_ns() - *t0;
    bpf_map_delete_elem(&held, &lock);
    __sync_fetch_and_add(&v->released, 1);
    __sync_fetch_and_add(&v->hold_hist[log2_bucket(ns)], 1);
    __sync_fetch_and_add(&v->hold_ns_sum, ns);
    return 0;
}

SEC("usdt")
int BPF_USDT(on_mig_round, __u64 host, __u64 dom, __u64 iter, __u64 kind,
             __u64 sent, __u64 dirtied, __u64 ns, __u64 clean_ns)
{
    __u64 seq = __sync_fetch_and_add(&mig_seq, 1) + 1;
    __u32 slot = (__u32)(seq % TOP_MIG_RING);
    struct top_mig_round *r = bpf_map_lookup_elem(&mig_rounds, &slot);
    if (!r)
        return 0;
    r->host = (__u32)host;
    r->dom = (__u32)dom;
    r->iter = (__u32)iter;
    r->kind = (__u32)kind;
    r->sent = sent;
    r->dirtied = dirtied;
    r->ns = ns;
    r->clean_ns = clean_ns;
    r->seq = seq;                       /* last: the slot is complete */
    return 0;
}

static __always_inline void grant_count(__u64 host, __u64 dom, __u32 unmap,
                                        __s64 rc)
{
    struct top_grant_key k = {
        .host = (__u32)host, .dom = (__u32)dom, .unmap = unmap,
    };
    struct top_grant_val *v = get_or_init(&grants, &k, &grant_zero);
    if (!v)
        return;
    if (rc != 0)
        __sync_fetch_and_add(&v->errors, 1);
    __sync_fetch_and_add(&v->count, 1);
}

SEC("usdt")
int BPF_USDT(on_grant_map, __u64 host, __u64 dom, __u64 ref, __u64 flags,
             __s64 rc)
{
    (void)ref; (void)flags;
    grant_count(host, dom, 0, rc);
    return 0;
}

SEC("usdt")
int BPF_USDT(on_grant_unmap, __u64 host, __u64 dom, __u64 ref, __u64 flags,
             __s64 rc)
{
    (void)ref; (void)flags;
    grant_count(host, dom, 1, rc);
    return 0;
}

SEC("usdt")
int BPF_USDT(on_inject_fire, __u64 point, __u64 action)
{
    struct top_inject_key k = { .point = (__u32)point, .action = (__u32)action };
    __u64 *c = get_or_init(&injects, &k, &u64_zero);
    if (c)
        __sync_fetch_and_add(c, 1);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
