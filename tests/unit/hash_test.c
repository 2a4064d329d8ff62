/*
 * Unit tests of common/hash.c: FNV-1a, splitmix64, spread and shards.
 * Silent on success; on failure prints each broken case and exits 1.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

#define UNIT_PROG "hash_test"
#include "unit.h"

static void
test_hash(void)
{
	unsigned long count[4] = { 0, 0, 0, 0 }, s;
	char name[64];
	int i;

	/* FNV-1a 64-bit test vectors. */
	if (hash_name("") != 0xcbf29ce484222325ULL ||
	    hash_name("a") != 0xaf63dc4c8601ec8cULL ||
	    hash_name("foobar") != 0x85944171f73967e8ULL)
		fail("hash_name", "not FNV-1a 64");
	for (i = 0; i < 4000; i++) {
		snprintf(name, sizeof(name), "host%d.example.com", i);
		s = hash_shard(name, 4);
		if (s < 1 || s > 4) {
			fail(name, "shard %lu of 4", s);
			return;
		}
		count[s - 1]++;
	}
	for (i = 0; i < 4; i++)
		want_range("names in a shard", (long long)count[i], 850, 1150);
	want_ll("shard of 1", (long long)hash_shard("x", 1), 1);
}

static void
test_bytes(void)
{
	/* Octets after a NUL count; a name stops at it. */
	if (hash_bytes("foobar", 6) != hash_name("foobar") ||
	    hash_bytes("a\0b", 3) == hash_name("a") ||
	    hash_bytes("", 0) != hash_name(""))
		fail("hash_bytes", "not FNV-1a of the octets");
	/* One FNV-1a step on a word: the prime. */
	if (hash_more(0, 1) != 1099511628211ULL ||
	    hash_more(1, 1) != 0)
		fail("hash_more", "not (h ^ x) * prime");
}

static void
test_spread(void)
{
	long long v, lo = 1000, hi = -1;
	uint64_t h;

	/* splitmix64 seeded with 0: its first output. */
	if (hash_mix(0) != 0xe220a8397b1dcdafULL)
		fail("hash_mix", "not splitmix64's finaliser");
	want_ll("span 0", hash_spread(42, 0), 0);
	want_ll("span -5", hash_spread(42, -5), 0);
	want_ll("span 1", hash_spread(42, 1), 0);
	for (h = 0; h < 10000; h++) {
		v = hash_spread(hash_name("x") ^ h, 1000);
		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
	}
	want_range("lowest of 1000", lo, 0, 5);
	want_range("highest of 1000", hi, 995, 1000);
	v = hash_spread(7, 1LL << 40);
	want_range("span capped at 2^32 - 1", v, 0, 0xffffffffLL);
}

int
main(void)
{
	test_hash();
	test_bytes();
	test_spread();
	return unit_status();
}
