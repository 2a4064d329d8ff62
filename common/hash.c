/* hash: FNV-1a and splitmix64 for stable choices (see hash.h). */
#include <string.h>

#include "hash.h"

#define HASH_FNV_OFFSET 14695981039346656037ULL
#define HASH_FNV_PRIME  1099511628211ULL

uint64_t
hash_bytes(const void *p, size_t len)
{
	const unsigned char *b = p;
	uint64_t h = HASH_FNV_OFFSET;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ b[i]) * HASH_FNV_PRIME;
	return h;
}

uint64_t
hash_name(const char *s)
{
	return hash_bytes(s, strlen(s));
}

uint64_t
hash_more(uint64_t h, uint64_t x)
{
	return (h ^ x) * HASH_FNV_PRIME;
}

uint64_t
hash_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

long long
hash_spread(uint64_t h, long long span)
{
	if (span <= 0)
		return 0;
	if (span > 0xffffffffLL)
		span = 0xffffffffLL;
	return (long long)(((hash_mix(h) >> 32) * (uint64_t)span) >> 32);
}

unsigned long
hash_shard(const char *name, unsigned long n)
{
	return n == 0 ? 1 : (unsigned long)(hash_name(name) % n) + 1;
}
