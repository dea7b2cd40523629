/* The jti replay cache: reuse refused, expiry frees, full cache fails closed,
 * and adversarial jtis cost a bounded number of probes (counted, not timed). */
#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "turn/jwt.h"
#include "turn/replay.h"

#define NOW INT64_C(1700000100)
#define EXP (NOW + 800)

static struct jwt_claims claims_for(const char *jti, int64_t exp)
{
	struct jwt_claims claims = { .exp = exp, .iat = NOW - 100 };

	snprintf(claims.jti, sizeof(claims.jti), "%s", jti);
	return claims;
}

static enum jwt_result record(struct replay_cache *cache, const char *jti, int64_t exp,
			      int64_t now)
{
	struct jwt_claims claims = claims_for(jti, exp);

	return replay_cache_record(cache, &claims, now);
}

static struct replay_cache *new_cache(size_t capacity)
{
	struct replay_cache *cache = NULL;

	assert_int_equal(replay_cache_new(capacity, &cache), 0);
	assert_non_null(cache);
	return cache;
}

/* ------------------------------------------------------------ reuse */

static void test_first_use_of_a_jti_is_recorded(void **state)
{
	struct replay_cache *cache = new_cache(16);

	(void)state;
	assert_int_equal(record(cache, "01HZY3KX2V8W6Q4T5R7N9M0B1C", EXP, NOW), JWT_OK);
	assert_int_equal(replay_cache_count(cache), 1);
	replay_cache_free(cache);
}

static void test_second_use_of_a_jti_is_refused_as_replayed(void **state)
{
	struct replay_cache *cache = new_cache(16);

	(void)state;
	assert_int_equal(record(cache, "01HZY3KX2V8W6Q4T5R7N9M0B1C", EXP, NOW), JWT_OK);
	assert_int_equal(record(cache, "01HZY3KX2V8W6Q4T5R7N9M0B1C", EXP, NOW + 1), JWT_REPLAYED);
	/* A different token carrying the same jti is the same replay. */
	assert_int_equal(record(cache, "01HZY3KX2V8W6Q4T5R7N9M0B1C", EXP + 500, NOW + 2),
			 JWT_REPLAYED);
	assert_int_equal(replay_cache_count(cache), 1);
	replay_cache_free(cache);
}

static void test_jtis_are_compared_byte_for_byte(void **state)
{
	struct replay_cache *cache = new_cache(16);

	(void)state;
	assert_int_equal(record(cache, "abc", EXP, NOW), JWT_OK);
	assert_int_equal(record(cache, "abC", EXP, NOW), JWT_OK);
	assert_int_equal(record(cache, "abc ", EXP, NOW), JWT_OK);
	assert_int_equal(record(cache, "ab", EXP, NOW), JWT_OK);
	assert_int_equal(record(cache, "abc", EXP, NOW), JWT_REPLAYED);
	assert_int_equal(record(cache, "abC", EXP, NOW), JWT_REPLAYED);
	assert_int_equal(replay_cache_count(cache), 4);
	replay_cache_free(cache);
}

static void test_claims_without_a_jti_are_refused_and_not_recorded(void **state)
{
	struct replay_cache *cache = new_cache(16);
	struct jwt_claims unterminated = claims_for("x", EXP);

	(void)state;
	assert_int_equal(record(cache, "", EXP, NOW), JWT_INVALID);
	memset(unterminated.jti, 'x', sizeof(unterminated.jti));
	assert_int_equal(replay_cache_record(cache, &unterminated, NOW), JWT_INVALID);
	assert_int_equal(replay_cache_count(cache), 0);
	replay_cache_free(cache);
}

/* ------------------------------------------------------------ expiry */

static void test_jti_stays_refused_until_exp_plus_leeway(void **state)
{
	struct replay_cache *cache = new_cache(16);

	(void)state;
	assert_int_equal(record(cache, "jti-1", EXP, NOW), JWT_OK);
	assert_int_equal(record(cache, "jti-1", EXP, EXP), JWT_REPLAYED);
	assert_int_equal(record(cache, "jti-1", EXP, EXP + JWT_LEEWAY_SECONDS - 1), JWT_REPLAYED);
	replay_cache_free(cache);
}

/* From exp + leeway the token itself no longer verifies, so its jti need not
 * be remembered. */
static void test_expiry_frees_the_jti(void **state)
{
	struct replay_cache *cache = new_cache(16);
	int64_t later = EXP + JWT_LEEWAY_SECONDS;

	(void)state;
	assert_int_equal(record(cache, "jti-1", EXP, NOW), JWT_OK);
	assert_int_equal(record(cache, "jti-1", later + 900, later), JWT_OK);
	assert_int_equal(record(cache, "jti-1", later + 900, later + 1), JWT_REPLAYED);
	assert_int_equal(replay_cache_count(cache), 1);
	replay_cache_free(cache);
}

static void test_exp_near_int64_max_is_remembered_without_overflow(void **state)
{
	struct replay_cache *cache = new_cache(16);

	(void)state;
	assert_int_equal(record(cache, "forever", INT64_MAX, NOW), JWT_OK);
	assert_int_equal(record(cache, "forever", INT64_MAX, INT64_MAX - 1), JWT_REPLAYED);
	replay_cache_free(cache);
}

/* ------------------------------------------------------------ full cache */

static void fill(struct replay_cache *cache, const char *prefix, size_t count, int64_t exp)
{
	char jti[64];

	for (size_t i = 0; i < count; i++) {
		snprintf(jti, sizeof(jti), "%s-%zu", prefix, i);
		assert_int_equal(record(cache, jti, exp, NOW), JWT_OK);
	}
}

static void test_full_cache_refuses_a_new_jti_while_every_entry_is_live(void **state)
{
	struct replay_cache *cache = new_cache(4);

	(void)state;
	fill(cache, "live", 4, EXP);
	assert_int_equal(record(cache, "newcomer", EXP, NOW + 10), JWT_REPLAY_CACHE_FULL);
	/* Nothing live was evicted to make room. */
	assert_int_equal(record(cache, "live-0", EXP, NOW + 10), JWT_REPLAYED);
	assert_int_equal(record(cache, "live-3", EXP, NOW + 10), JWT_REPLAYED);
	assert_int_equal(replay_cache_count(cache), 4);
	replay_cache_free(cache);
}

static void test_full_cache_drops_expired_entries_to_admit_a_new_jti(void **state)
{
	struct replay_cache *cache = new_cache(4);
	int64_t short_exp = NOW + 100, after_short = short_exp + JWT_LEEWAY_SECONDS;

	(void)state;
	fill(cache, "short", 2, short_exp);
	fill(cache, "long", 2, EXP);
	assert_int_equal(record(cache, "newcomer", EXP, after_short - 1), JWT_REPLAY_CACHE_FULL);
	assert_int_equal(record(cache, "newcomer", EXP, after_short), JWT_OK);
	assert_int_equal(replay_cache_count(cache), 3);
	assert_int_equal(record(cache, "long-0", EXP, after_short), JWT_REPLAYED);
	assert_int_equal(record(cache, "long-1", EXP, after_short), JWT_REPLAYED);
	assert_int_equal(record(cache, "newcomer", EXP, after_short), JWT_REPLAYED);
	assert_int_equal(record(cache, "second", EXP, after_short), JWT_OK);
	assert_int_equal(record(cache, "third", EXP, after_short), JWT_REPLAY_CACHE_FULL);
	replay_cache_free(cache);
}

static void test_every_live_jti_is_still_found_after_expired_ones_are_dropped(void **state)
{
	enum { CAPACITY = 512, LIVE = (CAPACITY + 2) / 3 };
	struct replay_cache *cache = new_cache(CAPACITY);
	char jti[64];
	int64_t then = NOW + 200 + JWT_LEEWAY_SECONDS;

	(void)state;
	/* Interleaved lifetimes, so the survivors are scattered through the
	 * table and every probe chain is rebuilt. */
	for (size_t i = 0; i < CAPACITY; i++) {
		snprintf(jti, sizeof(jti), "mixed-%zu", i);
		assert_int_equal(record(cache, jti, i % 3 == 0 ? EXP : NOW + 200, NOW), JWT_OK);
	}
	assert_int_equal(record(cache, "trigger", EXP, then), JWT_OK);
	assert_int_equal(replay_cache_count(cache), 1 + LIVE);
	for (size_t i = 0; i < CAPACITY; i += 3) {
		snprintf(jti, sizeof(jti), "mixed-%zu", i);
		assert_int_equal(record(cache, jti, EXP, then), JWT_REPLAYED);
	}
	/* The dropped ones are free again, up to the capacity. */
	for (size_t i = 1; replay_cache_count(cache) < CAPACITY; i += i % 3 == 1 ? 1 : 2) {
		snprintf(jti, sizeof(jti), "mixed-%zu", i);
		assert_int_equal(record(cache, jti, EXP, then), JWT_OK);
	}
	assert_int_equal(record(cache, "one-too-many", EXP, then), JWT_REPLAY_CACHE_FULL);
	replay_cache_free(cache);
}

static void test_capacity_outside_its_bounds_is_rejected_with_einval(void **state)
{
	struct replay_cache *cache;

	(void)state;
	assert_int_equal(replay_cache_new(0, &cache), -EINVAL);
	assert_null(cache);
	assert_int_equal(replay_cache_new(REPLAY_CACHE_MAX_CAPACITY + 1, &cache), -EINVAL);
	assert_int_equal(replay_cache_new(REPLAY_CACHE_DEFAULT_CAPACITY, &cache), 0);
	replay_cache_free(cache);
}

/* ------------------------------------------------------------ flooding */

static uint32_t polynomial_hash(const char *text)
{
	uint32_t hash = 0;

	while (*text)
		hash = hash * 31 + (unsigned char)*text++;
	return hash;
}

/* "Aa" and "BB" hash alike under h = 31h + c, so all 4096 strings of twelve
 * such blocks collide: against an unkeyed polynomial hash they would pile
 * into one chain and cost 4096 * 4096 / 2 probes. */
static void colliding_jti(unsigned int index, char jti[25])
{
	for (int block = 0; block < 12; block++)
		memcpy(jti + 2 * block, (index >> block) & 1 ? "BB" : "Aa", 2);
	jti[24] = '\0';
}

static void test_jtis_colliding_under_a_plain_hash_cost_few_probes(void **state)
{
	enum { COUNT = 4096 };
	struct replay_cache *cache = new_cache(COUNT);
	char jti[25], first[25];
	uint64_t before;

	(void)state;
	colliding_jti(0, first);
	for (unsigned int i = 0; i < COUNT; i++) {
		colliding_jti(i, jti);
		assert_int_equal(polynomial_hash(jti), polynomial_hash(first));
		assert_int_equal(record(cache, jti, EXP, NOW), JWT_OK);
	}
	assert_true(replay_cache_probes(cache) <= 3 * COUNT);
	before = replay_cache_probes(cache);
	for (unsigned int i = 0; i < COUNT; i++) {
		colliding_jti(i, jti);
		assert_int_equal(record(cache, jti, EXP, NOW), JWT_REPLAYED);
	}
	assert_true(replay_cache_probes(cache) - before <= 3 * COUNT);
	replay_cache_free(cache);
}

static void test_sequential_ulid_like_jtis_cost_few_probes(void **state)
{
	enum { COUNT = 4096 };
	struct replay_cache *cache = new_cache(COUNT);
	char jti[32];

	(void)state;
	for (unsigned int i = 0; i < COUNT; i++) {
		snprintf(jti, sizeof(jti), "01HZY3KX2V8W6Q4T5R7N%06u", i);
		assert_int_equal(record(cache, jti, EXP, NOW), JWT_OK);
	}
	assert_true(replay_cache_probes(cache) <= 3 * COUNT);
	replay_cache_free(cache);
}

/* ------------------------------------------------------------ threads */

enum { RACED_JTIS = 50000, RACING_THREADS = 2 };

/* A spinning barrier releases the threads within nanoseconds of each other
 * (a futex barrier wakes them one after another, too slowly to race). */
struct spin_barrier {
	atomic_int arrived;
	atomic_int generation;
};

static void spin_barrier_wait(struct spin_barrier *barrier)
{
	int generation = atomic_load(&barrier->generation);

	if (atomic_fetch_add(&barrier->arrived, 1) == RACING_THREADS - 1) {
		atomic_store(&barrier->arrived, 0);
		atomic_fetch_add(&barrier->generation, 1);
		return;
	}
	while (atomic_load(&barrier->generation) == generation)
		sched_yield();
}

struct race {
	struct replay_cache *cache;
	struct spin_barrier *start;
	int admitted;
	int refused_as_replayed;
};

/* Every thread presents the same jtis, released together for each one, so
 * each record races the other threads' records of the same jti. */
static void *record_after_barrier(void *argument)
{
	struct race *race = argument;
	char jti[32];

	for (int i = 0; i < RACED_JTIS; i++) {
		snprintf(jti, sizeof(jti), "raced-%d", i);
		spin_barrier_wait(race->start);
		enum jwt_result result = record(race->cache, jti, EXP, NOW);
		if (result == JWT_OK)
			race->admitted++;
		else if (result == JWT_REPLAYED)
			race->refused_as_replayed++;
	}
	return NULL;
}

static void test_concurrent_uses_of_one_jti_admit_exactly_one(void **state)
{
	struct replay_cache *cache = new_cache(RACED_JTIS);
	struct spin_barrier start = { 0 };
	pthread_t threads[RACING_THREADS];
	struct race races[RACING_THREADS];
	int admitted = 0, refused = 0;

	(void)state;
	for (int i = 0; i < RACING_THREADS; i++) {
		races[i] = (struct race){ .cache = cache, .start = &start };
		assert_int_equal(pthread_create(&threads[i], NULL, record_after_barrier, &races[i]),
				 0);
	}
	for (int i = 0; i < RACING_THREADS; i++) {
		pthread_join(threads[i], NULL);
		admitted += races[i].admitted;
		refused += races[i].refused_as_replayed;
	}
	assert_int_equal(admitted, RACED_JTIS);
	assert_int_equal(refused, RACED_JTIS * (RACING_THREADS - 1));
	assert_int_equal(replay_cache_count(cache), RACED_JTIS);
	replay_cache_free(cache);
}

/* ------------------------------------------------------------ with jwt_verify */

static char *read_fixture(const char *relative, size_t *length)
{
	char source[4096], path[8192];
	const char *override = getenv("SI_JWT_FIXTURES");
	FILE *file;
	char *data;
	long size;

	snprintf(source, sizeof(source), "%s", __FILE__);
	if (override)
		snprintf(path, sizeof(path), "%s/%s", override, relative);
	else
		snprintf(path, sizeof(path), "%s/../jwt/%s", dirname(source), relative);
	file = fopen(path, "rbe");
	if (!file)
		fail_msg("cannot open fixture %s: %s", path, strerror(errno));
	fseek(file, 0, SEEK_END);
	size = ftell(file);
	rewind(file);
	data = malloc((size_t)size + 1);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)size, file), (size_t)size);
	fclose(file);
	*length = (size_t)size;
	return data;
}

static enum jwt_result verify_then_record(struct jwt_verifier *verifier,
					  struct replay_cache *cache, const char *token_file)
{
	static const struct jwt_expectations this_sandbox = {
		"sess-7f3a", "tenant-acme", "kg-0042"
	};
	struct jwt_claims claims;
	size_t length;
	char *token = read_fixture(token_file, &length);
	enum jwt_result result = jwt_verify(verifier, token, length, &this_sandbox, NOW, &claims,
					    NULL, 0);

	free(token);
	if (result != JWT_OK)
		return result;
	return replay_cache_record(cache, &claims, NOW);
}

static void test_verified_token_presented_twice_is_replayed(void **state)
{
	struct replay_cache *cache = new_cache(16);
	struct jwt_verifier *verifier;
	size_t length;
	char *secret = read_fixture("keys/test-hs256-secret.txt", &length);

	(void)state;
	assert_int_equal(jwt_verifier_new(JWT_ALG_HS256, (unsigned char *)secret, length,
					  &verifier, NULL, 0), 0);
	assert_int_equal(verify_then_record(verifier, cache, "tokens/valid-hs256.jwt"), JWT_OK);
	assert_int_equal(verify_then_record(verifier, cache, "tokens/valid-hs256.jwt"),
			 JWT_REPLAYED);
	jwt_verifier_free(verifier);
	free(secret);
	replay_cache_free(cache);
}

/* A forged token must not occupy a slot: it would let an attacker fill the
 * cache, or burn the jti of a real token before it is used. */
static void test_token_failing_verification_leaves_no_entry(void **state)
{
	struct replay_cache *cache = new_cache(16);
	struct jwt_verifier *verifier;
	size_t length;
	char *secret = read_fixture("keys/test-hs256-secret.txt", &length);

	(void)state;
	assert_int_equal(jwt_verifier_new(JWT_ALG_HS256, (unsigned char *)secret, length,
					  &verifier, NULL, 0), 0);
	assert_int_equal(verify_then_record(verifier, cache, "tokens/bad-signature-hs256.jwt"),
			 JWT_INVALID);
	assert_int_equal(replay_cache_count(cache), 0);
	/* Same jti, genuine token: still admitted once. */
	assert_int_equal(verify_then_record(verifier, cache, "tokens/valid-hs256.jwt"), JWT_OK);
	jwt_verifier_free(verifier);
	free(secret);
	replay_cache_free(cache);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_use_of_a_jti_is_recorded),
		cmocka_unit_test(test_second_use_of_a_jti_is_refused_as_replayed),
		cmocka_unit_test(test_jtis_are_compared_byte_for_byte),
		cmocka_unit_test(test_claims_without_a_jti_are_refused_and_not_recorded),
		cmocka_unit_test(test_jti_stays_refused_until_exp_plus_leeway),
		cmocka_unit_test(test_expiry_frees_the_jti),
		cmocka_unit_test(test_exp_near_int64_max_is_remembered_without_overflow),
		cmocka_unit_test(test_full_cache_refuses_a_new_jti_while_every_entry_is_live),
		cmocka_unit_test(test_full_cache_drops_expired_entries_to_admit_a_new_jti),
		cmocka_unit_test(test_every_live_jti_is_still_found_after_expired_ones_are_dropped),
		cmocka_unit_test(test_capacity_outside_its_bounds_is_rejected_with_einval),
		cmocka_unit_test(test_jtis_colliding_under_a_plain_hash_cost_few_probes),
		cmocka_unit_test(test_sequential_ulid_like_jtis_cost_few_probes),
		cmocka_unit_test(test_concurrent_uses_of_one_jti_admit_exactly_one),
		cmocka_unit_test(test_verified_token_presented_twice_is_replayed),
		cmocka_unit_test(test_token_failing_verification_leaves_no_entry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
