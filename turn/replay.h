/* The workload JWT replay cache: each jti is remembered until its token could
 * no longer verify anyway (exp + JWT_LEEWAY_SECONDS), so a captured token
 * cannot start a second turn.
 *
 * Bounded: at most capacity live jtis.  When full, expired entries are dropped
 * first; if every entry is still live, the new token is refused with
 * JWT_REPLAY_CACHE_FULL.  Evicting a live jti instead would reopen the replay
 * window for that token, which is exactly what the cache exists to close, so
 * it fails closed.  (Filling it takes `capacity` distinct, validly signed,
 * unexpired tokens: 4096 tokens within one 15-minute lifetime is far beyond
 * one-turn-at-a-time traffic.)
 *
 * Lookups hash the jti with SipHash-2-4 keyed from getrandom(), so a client
 * cannot choose jtis that collide and turn each lookup into a linear scan.
 * All functions are thread-safe. */
#ifndef SANDBOX_INIT_TURN_REPLAY_H
#define SANDBOX_INIT_TURN_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "turn/jwt.h"

#define REPLAY_CACHE_DEFAULT_CAPACITY 4096
#define REPLAY_CACHE_MAX_CAPACITY (1u << 20)

struct replay_cache;

/* Returns 0, -EINVAL (capacity 0 or above the maximum), -ENOMEM, or the
 * -errno of getrandom(). */
int replay_cache_new(size_t capacity, struct replay_cache **out);
void replay_cache_free(struct replay_cache *cache);

/* Call only with the claims of a token jwt_verify() returned JWT_OK for, so
 * a forged token can never occupy a slot.  Returns JWT_OK (jti recorded
 * until claims->exp + leeway), JWT_REPLAYED (jti seen, still live; compared
 * byte for byte) or JWT_REPLAY_CACHE_FULL; JWT_INVALID for claims without
 * a jti, which jwt_verify() never returns with JWT_OK. */
enum jwt_result replay_cache_record(struct replay_cache *cache, const struct jwt_claims *claims,
				    int64_t now);

/* Entries held, live or expired but not yet dropped. */
size_t replay_cache_count(struct replay_cache *cache);

/* Hash-table slots examined since creation: lookups, inserts and rebuilds.
 * For tests and metrics; average probes per record stay small whatever the
 * jtis are. */
uint64_t replay_cache_probes(struct replay_cache *cache);

#endif
