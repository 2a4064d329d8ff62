/*
 * hash: names to numbers, for the choices that must come out the same on
 * every machine and at every run, so that a dry run shows what a real one
 * will do: the due point of a name in its window and the jitter of its
 * backoff (renew.c), the time picked in the CA's window (ari.c), the
 * shard of a name for --shard, the slots of the per-domain counts
 * (renewq.c).
 *
 * FNV-1a (64 bits) and splitmix64's finaliser: fast and well spread, and
 * no defence against names chosen to collide; nothing here is for
 * security. Nothing allocates; strings are borrowed and must not be NULL.
 */
#ifndef HASH_H
#define HASH_H

#include <stddef.h>
#include <stdint.h>

/* 64-bit FNV-1a of the len octets at p. */
uint64_t hash_bytes(const void *p, size_t len);

/* 64-bit FNV-1a of the octets of s: hash_bytes(s, strlen(s)). */
uint64_t hash_name(const char *s);

/* h with the word x folded in, as one FNV-1a step: (h ^ x) * prime. */
uint64_t hash_more(uint64_t h, uint64_t x);

/* splitmix64's finaliser: x with its bits spread over the whole word. */
uint64_t hash_mix(uint64_t x);

/*
 * A pseudo-random offset from 0 to span - 1 fixed by h: hash_mix(h)
 * scaled to span (at most 2^32 - 1; a larger span counts as that). 0 when
 * span <= 0.
 */
long long hash_spread(uint64_t h, long long span);

/* The shard of name among n, 1 to n: hash_name(name) % n + 1; 1 when n = 0. */
unsigned long hash_shard(const char *name, unsigned long n);

#endif
