#include "turn/replay.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

struct replay_entry {
	uint64_t hash;
	int64_t expires_at; /* exp + leeway: from then on the token cannot verify */
	size_t length;
	char jti[JWT_MAX_JTI_LENGTH];
};

struct replay_cache {
	pthread_mutex_t lock;
	uint64_t key[2];
	size_t capacity;
	size_t count;
	struct replay_entry *entries; /* entries[0..count) in use */
	uint32_t *slots;              /* open addressing: entry index + 1, 0 is empty */
	size_t slot_mask;
	int64_t earliest_expiry;      /* a lower bound of every entry's expires_at */
	uint64_t probes;
};

/* ------------------------------------------------------------ SipHash-2-4 */

static uint64_t rotate_left(uint64_t value, unsigned int bits)
{
	return (value << bits) | (value >> (64 - bits));
}

static void sip_round(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = rotate_left(v[1], 13) ^ v[0];
	v[0] = rotate_left(v[0], 32);
	v[2] += v[3];
	v[3] = rotate_left(v[3], 16) ^ v[2];
	v[0] += v[3];
	v[3] = rotate_left(v[3], 21) ^ v[0];
	v[2] += v[1];
	v[1] = rotate_left(v[1], 17) ^ v[2];
	v[2] = rotate_left(v[2], 32);
}

static uint64_t load_little_endian(const unsigned char *bytes, size_t length)
{
	uint64_t value = 0;

	for (size_t i = 0; i < length; i++)
		value |= (uint64_t)bytes[i] << (8 * i);
	return value;
}

static void sip_absorb(uint64_t v[4], uint64_t block)
{
	v[3] ^= block;
	sip_round(v);
	sip_round(v);
	v[0] ^= block;
}

static uint64_t siphash24(const uint64_t key[2], const void *data, size_t length)
{
	const unsigned char *bytes = data;
	uint64_t v[4] = {
		key[0] ^ 0x736f6d6570736575ULL,
		key[1] ^ 0x646f72616e646f6dULL,
		key[0] ^ 0x6c7967656e657261ULL,
		key[1] ^ 0x7465646279746573ULL,
	};
	size_t tail = length % 8;

	for (size_t offset = 0; offset + 8 <= length; offset += 8)
		sip_absorb(v, load_little_endian(bytes + offset, 8));
	sip_absorb(v, ((uint64_t)length << 56) |
			      load_little_endian(bytes + length - tail, tail));
	v[2] ^= 0xff;
	for (int i = 0; i < 4; i++)
		sip_round(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* ------------------------------------------------------------ table */

static size_t slot_count_for(size_t capacity)
{
	size_t slots = 16;

	/* At most half full: linear probing then averages under three probes
	 * per miss. */
	while (slots < 2 * capacity)
		slots *= 2;
	return slots;
}

/* Returns the slot holding jti, or the empty slot where it would go. */
static size_t find_slot(struct replay_cache *cache, uint64_t hash, const char *jti,
			size_t length)
{
	size_t slot = hash & cache->slot_mask;

	for (;;) {
		uint32_t index = cache->slots[slot];
		cache->probes++;
		if (index == 0)
			return slot;
		const struct replay_entry *entry = &cache->entries[index - 1];
		if (entry->hash == hash && entry->length == length &&
		    memcmp(entry->jti, jti, length) == 0)
			return slot;
		slot = (slot + 1) & cache->slot_mask;
	}
}

static void place_entry(struct replay_cache *cache, size_t index)
{
	const struct replay_entry *entry = &cache->entries[index];
	size_t slot = find_slot(cache, entry->hash, entry->jti, entry->length);

	cache->slots[slot] = (uint32_t)(index + 1);
}

/* Drops every entry whose token can no longer verify and rebuilds the slots:
 * linear probing cannot simply blank a slot in the middle of a chain. */
static void drop_expired(struct replay_cache *cache, int64_t now)
{
	size_t kept = 0;

	cache->earliest_expiry = INT64_MAX;
	for (size_t i = 0; i < cache->count; i++) {
		if (now >= cache->entries[i].expires_at)
			continue;
		if (cache->entries[i].expires_at < cache->earliest_expiry)
			cache->earliest_expiry = cache->entries[i].expires_at;
		if (kept != i)
			cache->entries[kept] = cache->entries[i];
		kept++;
	}
	cache->count = kept;
	memset(cache->slots, 0, (cache->slot_mask + 1) * sizeof(cache->slots[0]));
	for (size_t i = 0; i < kept; i++)
		place_entry(cache, i);
}

static int64_t expiry_of(const struct jwt_claims *claims)
{
	int64_t expires_at;

	if (__builtin_add_overflow(claims->exp, (int64_t)JWT_LEEWAY_SECONDS, &expires_at))
		return INT64_MAX;
	return expires_at;
}

static void add_entry(struct replay_cache *cache, size_t slot, uint64_t hash,
		      const char *jti, size_t length, int64_t expires_at)
{
	struct replay_entry *entry = &cache->entries[cache->count];

	entry->hash = hash;
	entry->expires_at = expires_at;
	entry->length = length;
	memcpy(entry->jti, jti, length);
	cache->slots[slot] = (uint32_t)(cache->count + 1);
	cache->count++;
	if (expires_at < cache->earliest_expiry)
		cache->earliest_expiry = expires_at;
}

static enum jwt_result record_locked(struct replay_cache *cache, const char *jti, size_t length,
				     int64_t expires_at, int64_t now)
{
	uint64_t hash = siphash24(cache->key, jti, length);
	size_t slot = find_slot(cache, hash, jti, length);
	uint32_t index = cache->slots[slot];

	if (index != 0) {
		struct replay_entry *entry = &cache->entries[index - 1];
		if (now < entry->expires_at)
			return JWT_REPLAYED;
		/* The earlier token with this jti is dead: reuse its entry. */
		entry->expires_at = expires_at;
		if (expires_at < cache->earliest_expiry)
			cache->earliest_expiry = expires_at;
		return JWT_OK;
	}
	if (cache->count == cache->capacity) {
		if (now < cache->earliest_expiry)
			return JWT_REPLAY_CACHE_FULL;
		drop_expired(cache, now);
		if (cache->count == cache->capacity)
			return JWT_REPLAY_CACHE_FULL;
		slot = find_slot(cache, hash, jti, length);
	}
	add_entry(cache, slot, hash, jti, length, expires_at);
	return JWT_OK;
}

/* ------------------------------------------------------------ interface */

int replay_cache_new(size_t capacity, struct replay_cache **out)
{
	struct replay_cache *cache;
	int result;

	*out = NULL;
	if (capacity == 0 || capacity > REPLAY_CACHE_MAX_CAPACITY)
		return -EINVAL;
	cache = calloc(1, sizeof(*cache));
	if (!cache)
		return -ENOMEM;
	pthread_mutex_init(&cache->lock, NULL);
	cache->capacity = capacity;
	cache->earliest_expiry = INT64_MAX;
	cache->slot_mask = slot_count_for(capacity) - 1;
	cache->entries = calloc(capacity, sizeof(cache->entries[0]));
	cache->slots = calloc(cache->slot_mask + 1, sizeof(cache->slots[0]));
	if (!cache->entries || !cache->slots) {
		result = -ENOMEM;
		goto fail;
	}
	if (getrandom(cache->key, sizeof(cache->key), 0) != (ssize_t)sizeof(cache->key)) {
		result = errno ? -errno : -EIO;
		goto fail;
	}
	*out = cache;
	return 0;
fail:
	replay_cache_free(cache);
	return result;
}

void replay_cache_free(struct replay_cache *cache)
{
	if (!cache)
		return;
	pthread_mutex_destroy(&cache->lock);
	free(cache->entries);
	free(cache->slots);
	free(cache);
}

enum jwt_result replay_cache_record(struct replay_cache *cache, const struct jwt_claims *claims,
				    int64_t now)
{
	size_t length = strnlen(claims->jti, sizeof(claims->jti));
	enum jwt_result result;

	/* jwt_verify() never yields such claims; refuse rather than key the
	 * cache on an empty or unterminated jti. */
	if (length == 0 || length > JWT_MAX_JTI_LENGTH)
		return JWT_INVALID;
	pthread_mutex_lock(&cache->lock);
	result = record_locked(cache, claims->jti, length, expiry_of(claims), now);
	pthread_mutex_unlock(&cache->lock);
	return result;
}

size_t replay_cache_count(struct replay_cache *cache)
{
	size_t count;

	pthread_mutex_lock(&cache->lock);
	count = cache->count;
	pthread_mutex_unlock(&cache->lock);
	return count;
}

uint64_t replay_cache_probes(struct replay_cache *cache)
{
	uint64_t probes;

	pthread_mutex_lock(&cache->lock);
	probes = cache->probes;
	pthread_mutex_unlock(&cache->lock);
	return probes;
}
