/*
 * bench_stats.h - latency histogram, clocks and JSON text output shared by
 * the load generators (kmip_bench, rest_bench) and the in-process benches.
 *
 * Design:
 * - A log-linear histogram: 64 sub-buckets per power of two, so any value
 *   is kept with at most 1.6 % relative error in a fixed 30 KB per thread,
 *   whatever the run length; threads merge theirs at the end.
 * - Everything is static inline (each tool is one translation unit and
 *   takes what it uses); no allocation.
 */
#ifndef CF_BENCH_STATS_H
#define CF_BENCH_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define H_SUB_BITS 6
#define H_SUB (1u << H_SUB_BITS)
#define H_BUCKETS ((64 - H_SUB_BITS + 1) * H_SUB)

struct bs_hist {
    uint64_t n[H_BUCKETS];
    uint64_t count, max, sum;
};

static inline unsigned h_index(uint64_t v)
{
    if (v < H_SUB)
        return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    return (msb - H_SUB_BITS + 1) * H_SUB + (unsigned)((v >> (msb - H_SUB_BITS)) & (H_SUB - 1));
}

/* Midpoint of a bucket. */
static inline uint64_t h_value(unsigned idx)
{
    unsigned g = idx / H_SUB, sub = idx % H_SUB;
    if (g == 0)
        return sub;
    unsigned msb = g + H_SUB_BITS - 1;
    uint64_t width = 1ull << (msb - H_SUB_BITS);
    return (1ull << msb) + (uint64_t)sub * width + width / 2;
}

static inline void h_add(struct bs_hist *h, uint64_t ns)
{
    h->n[h_index(ns)]++;
    h->count++;
    h->sum += ns;
    if (ns > h->max)
        h->max = ns;
}

static inline void h_merge(struct bs_hist *dst, const struct bs_hist *src)
{
    for (unsigned i = 0; i < H_BUCKETS; i++)
        dst->n[i] += src->n[i];
    dst->count += src->count;
    dst->sum += src->sum;
    if (src->max > dst->max)
        dst->max = src->max;
}

static inline uint64_t h_quantile(const struct bs_hist *h, double q)
{
    if (h->count == 0)
        return 0;
    uint64_t target = (uint64_t)(q * (double)h->count + 0.999999), acc = 0;
    if (target == 0)
        target = 1;
    for (unsigned i = 0; i < H_BUCKETS; i++) {
        acc += h->n[i];
        if (acc >= target)
            return h_value(i) < h->max ? h_value(i) : h->max;
    }
    return h->max;
}

static inline double h_mean(const struct bs_hist *h)
{
    return h->count ? (double)h->sum / (double)h->count : 0;
}

/* ------------------------------------------------------------- clocks */

static inline double ts_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static inline uint64_t ns_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static inline bool past(const struct timespec *d)
{
    struct timespec n;
    clock_gettime(CLOCK_MONOTONIC, &n);
    return n.tv_sec > d->tv_sec || (n.tv_sec == d->tv_sec && n.tv_nsec >= d->tv_nsec);
}

/* *d = now + seconds. */
static inline void deadline_in(struct timespec *d, double seconds)
{
    clock_gettime(CLOCK_MONOTONIC, d);
    d->tv_sec += (time_t)seconds;
    d->tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
    if (d->tv_nsec >= 1000000000L)
        d->tv_sec++, d->tv_nsec -= 1000000000L;
}

/* ---------------------------------------------------------------- JSON */

/* A JSON string: error texts come from servers and from OpenSSL. */
static inline void bs_json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

#endif
