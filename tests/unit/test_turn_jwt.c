/* Workload JWT verification against tokens minted by PyJWT
 * (tests/jwt/make_fixtures.py): each fixture's exact result, with the time
 * fixed so no test depends on the clock. */
#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "turn/jwt.h"

/* Keep in step with tests/jwt/make_fixtures.py. */
#define IAT INT64_C(1700000000)
#define EXP (IAT + 900)
#define NOW (IAT + 100)
#define JTI "01HZY3KX2V8W6Q4T5R7N9M0B1C"

enum verifier_kind { HS256, RS256, ES256, ED25519, ED448, VERIFIER_KINDS };

static struct jwt_verifier *verifiers[VERIFIER_KINDS];
static char fixture_dir[4096];
static char *hs256_secret;
static size_t hs256_secret_length;

static const struct jwt_expectations this_sandbox = {
	.session_id = "sess-7f3a",
	.tenant_id = "tenant-acme",
	.knowledge_graph_id = "kg-0042",
};

static char *read_fixture(const char *relative, size_t *length)
{
	char path[8192];
	FILE *file;
	char *data;
	long size;

	snprintf(path, sizeof(path), "%s/%s", fixture_dir, relative);
	file = fopen(path, "rbe");
	if (!file)
		fail_msg("cannot open fixture %s: %s", path, strerror(errno));
	fseek(file, 0, SEEK_END);
	size = ftell(file);
	rewind(file);
	data = malloc((size_t)size + 1);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)size, file), (size_t)size);
	data[size] = '\0';
	fclose(file);
	*length = (size_t)size;
	return data;
}

static char *read_token(const char *name, size_t *length)
{
	char relative[512];

	snprintf(relative, sizeof(relative), "tokens/%s.jwt", name);
	return read_fixture(relative, length);
}

static int new_verifier_from(enum jwt_algorithm alg, const char *key_file,
			     struct jwt_verifier **out, char *error, size_t error_size)
{
	size_t length;
	char *key = read_fixture(key_file, &length);
	int result = jwt_verifier_new(alg, (unsigned char *)key, length, out, error, error_size);

	free(key);
	return result;
}

static int setup_verifiers(void **state)
{
	static const struct {
		enum jwt_algorithm alg;
		const char *key;
	} keys[VERIFIER_KINDS] = {
		[HS256] = { JWT_ALG_HS256, "keys/test-hs256-secret.txt" },
		[RS256] = { JWT_ALG_RS256, "keys/test-rsa2048-public.pem" },
		[ES256] = { JWT_ALG_ES256, "keys/test-p256-public.pem" },
		[ED25519] = { JWT_ALG_EDDSA, "keys/test-ed25519-public.pem" },
		[ED448] = { JWT_ALG_EDDSA, "keys/test-ed448-public.pem" },
	};
	const char *override = getenv("SI_JWT_FIXTURES");
	char source[4096];
	char error[256];

	(void)state;
	snprintf(source, sizeof(source), "%s", __FILE__);
	if (override)
		snprintf(fixture_dir, sizeof(fixture_dir), "%s", override);
	else
		snprintf(fixture_dir, sizeof(fixture_dir), "%s/../jwt", dirname(source));
	for (int kind = 0; kind < VERIFIER_KINDS; kind++) {
		if (new_verifier_from(keys[kind].alg, keys[kind].key, &verifiers[kind], error,
				      sizeof(error)) != 0)
			fail_msg("verifier %d: %s", kind, error);
	}
	hs256_secret = read_fixture("keys/test-hs256-secret.txt", &hs256_secret_length);
	return 0;
}

static int teardown_verifiers(void **state)
{
	(void)state;
	for (int kind = 0; kind < VERIFIER_KINDS; kind++)
		jwt_verifier_free(verifiers[kind]);
	free(hs256_secret);
	return 0;
}

static void assert_not_contains(const char *text, const char *needle, size_t needle_length)
{
	if (needle_length > 0 && memmem(text, strlen(text), needle, needle_length))
		fail_msg("reason \"%s\" quotes secret or token material", text);
}

/* Whatever the outcome, the reason must not leak the token or the key, and
 * failed verifications must not hand out claims. */
static void assert_reason_and_claims_clean(const char *token, size_t length, const char *reason,
					   const struct jwt_claims *claims,
					   enum jwt_result result)
{
	const char *part = token;
	const char *end = token + length;

	assert_true(reason[0] != '\0');
	while (part < end) {
		const char *dot = memchr(part, '.', (size_t)(end - part));
		size_t part_length = (size_t)((dot ? dot : end) - part);
		assert_not_contains(reason, part, part_length < 12 ? part_length : 12);
		part = dot ? dot + 1 : end;
	}
	assert_not_contains(reason, hs256_secret, 12);
	if (result != JWT_OK) {
		assert_string_equal(claims->jti, "");
		assert_int_equal(claims->exp, 0);
		assert_int_equal(claims->iat, 0);
	}
}

static enum jwt_result verify_token_at(enum verifier_kind kind, const char *name, int64_t now,
				       const struct jwt_expectations *expect,
				       struct jwt_claims *claims, char *reason, size_t reason_size)
{
	size_t length;
	char *token = read_token(name, &length);
	enum jwt_result result;

	memset(claims, 0xa5, sizeof(*claims));
	result = jwt_verify(verifiers[kind], token, length, expect, now, claims, reason,
			    reason_size);
	assert_reason_and_claims_clean(token, length, reason, claims, result);
	free(token);
	return result;
}

static void expect_result_at(enum verifier_kind kind, const char *name, int64_t now,
			     const struct jwt_expectations *expect, enum jwt_result expected)
{
	struct jwt_claims claims;
	char reason[256];
	enum jwt_result result = verify_token_at(kind, name, now, expect, &claims, reason,
						 sizeof(reason));

	if (result != expected)
		fail_msg("%s: got %s (%s), expected %s", name, jwt_result_name(result), reason,
			 jwt_result_name(expected));
}

static void expect_result(enum verifier_kind kind, const char *name, enum jwt_result expected)
{
	expect_result_at(kind, name, NOW, &this_sandbox, expected);
}

static void expect_reason_mentions(enum verifier_kind kind, const char *name, int64_t now,
				   const char *word)
{
	struct jwt_claims claims;
	char reason[256];

	verify_token_at(kind, name, now, &this_sandbox, &claims, reason, sizeof(reason));
	if (!strstr(reason, word))
		fail_msg("%s: reason \"%s\" does not mention %s", name, reason, word);
}

/* ------------------------------------------------------------ algorithms */

static void test_algorithm_names_parse_exactly_as_jose_spells_them(void **state)
{
	static const char *const names[] = { "HS256", "RS256", "ES256", "EdDSA" };
	enum jwt_algorithm alg;

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(jwt_algorithm_parse(names[i], &alg), 0);
		assert_string_equal(jwt_algorithm_name(alg), names[i]);
	}
}

static void test_algorithm_none_and_misspellings_are_rejected_with_einval(void **state)
{
	static const char *const names[] = { "none", "None", "hs256", "EDDSA", "", "HS256 ",
					     "HS384", "PS256" };
	enum jwt_algorithm alg;

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_int_equal(jwt_algorithm_parse(names[i], &alg), -EINVAL);
}

/* ------------------------------------------------------------ configuration */

static void expect_config(enum jwt_algorithm alg, const char *key_file, int expected)
{
	struct jwt_verifier *verifier = NULL;
	char error[256] = "";
	int result = new_verifier_from(alg, key_file, &verifier, error, sizeof(error));

	if (result != expected)
		fail_msg("%s with %s: got %d (%s), expected %d", jwt_algorithm_name(alg), key_file,
			 result, error, expected);
	if (expected == 0) {
		assert_non_null(verifier);
	} else {
		assert_null(verifier);
		assert_true(error[0] != '\0');
		/* No line of a PEM body (they start "MI") may be quoted. */
		assert_null(strstr(error, "MI"));
	}
	jwt_verifier_free(verifier);
}

static void test_hs256_key_of_32_bytes_is_accepted(void **state)
{
	static const unsigned char key[32] = "0123456789abcdef0123456789abcdef";
	struct jwt_verifier *verifier;

	(void)state;
	assert_int_equal(jwt_verifier_new(JWT_ALG_HS256, key, 32, &verifier, NULL, 0), 0);
	jwt_verifier_free(verifier);
}

static void test_hs256_key_of_31_bytes_is_rejected_with_einval(void **state)
{
	static const unsigned char key[32] = "0123456789abcdef0123456789abcdef";
	struct jwt_verifier *verifier;
	char error[256];

	(void)state;
	assert_int_equal(jwt_verifier_new(JWT_ALG_HS256, key, 31, &verifier, error,
					  sizeof(error)), -EINVAL);
	assert_null(verifier);
	assert_non_null(strstr(error, "32"));
	assert_null(strstr(error, "0123456789"));
}

static void test_hs256_key_that_is_a_pem_public_key_is_rejected_with_einval(void **state)
{
	(void)state;
	expect_config(JWT_ALG_HS256, "keys/test-rsa2048-public.pem", -EINVAL);
	expect_config(JWT_ALG_HS256, "keys/test-hs256-secret.txt", 0);
}

static void test_hs256_key_that_is_an_openssh_public_key_is_rejected_with_einval(void **state)
{
	static const char key[] = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test";
	struct jwt_verifier *verifier;

	(void)state;
	assert_int_equal(jwt_verifier_new(JWT_ALG_HS256, (const unsigned char *)key,
					  strlen(key), &verifier, NULL, 0), -EINVAL);
}

static void test_rs256_accepts_rsa_2048_and_rejects_rsa_1024_with_einval(void **state)
{
	(void)state;
	expect_config(JWT_ALG_RS256, "keys/test-rsa2048-public.pem", 0);
	expect_config(JWT_ALG_RS256, "keys/test-rsa1024-public.pem", -EINVAL);
}

static void test_rsa_key_for_es256_is_a_config_error_with_einval(void **state)
{
	(void)state;
	expect_config(JWT_ALG_ES256, "keys/test-rsa2048-public.pem", -EINVAL);
	expect_config(JWT_ALG_ES256, "keys/test-p256-public.pem", 0);
}

static void test_p384_key_for_es256_is_a_config_error_with_einval(void **state)
{
	(void)state;
	expect_config(JWT_ALG_ES256, "keys/test-p384-public.pem", -EINVAL);
}

static void test_key_type_must_match_the_algorithm(void **state)
{
	(void)state;
	expect_config(JWT_ALG_RS256, "keys/test-p256-public.pem", -EINVAL);
	expect_config(JWT_ALG_RS256, "keys/test-ed25519-public.pem", -EINVAL);
	expect_config(JWT_ALG_EDDSA, "keys/test-p256-public.pem", -EINVAL);
	expect_config(JWT_ALG_EDDSA, "keys/test-rsa2048-public.pem", -EINVAL);
	expect_config(JWT_ALG_ES256, "keys/test-ed25519-public.pem", -EINVAL);
	expect_config(JWT_ALG_EDDSA, "keys/test-ed25519-public.pem", 0);
	expect_config(JWT_ALG_EDDSA, "keys/test-ed448-public.pem", 0);
}

static void test_private_key_pem_is_rejected_with_einval(void **state)
{
	(void)state;
	expect_config(JWT_ALG_RS256, "keys/test-rsa2048-private.pem", -EINVAL);
	expect_config(JWT_ALG_ES256, "keys/test-p256-private.pem", -EINVAL);
	expect_config(JWT_ALG_EDDSA, "keys/test-ed25519-private.pem", -EINVAL);
}

static void test_asymmetric_algorithm_with_a_non_pem_key_is_rejected_with_einval(void **state)
{
	(void)state;
	expect_config(JWT_ALG_RS256, "keys/test-hs256-secret.txt", -EINVAL);
	expect_config(JWT_ALG_EDDSA, "tokens/valid-eddsa-ed25519.jwt", -EINVAL);
}

/* ------------------------------------------------------------ valid tokens */

static void test_valid_hs256_token_is_accepted_with_its_claims(void **state)
{
	struct jwt_claims claims;
	char reason[256];

	(void)state;
	assert_int_equal(verify_token_at(HS256, "valid-hs256", NOW, &this_sandbox, &claims,
					 reason, sizeof(reason)), JWT_OK);
	assert_string_equal(claims.jti, JTI);
	assert_int_equal(claims.exp, EXP);
	assert_int_equal(claims.iat, IAT);
}

static void test_valid_token_of_each_algorithm_is_accepted(void **state)
{
	(void)state;
	expect_result(RS256, "valid-rs256", JWT_OK);
	expect_result(ES256, "valid-es256", JWT_OK);
	expect_result(ED25519, "valid-eddsa-ed25519", JWT_OK);
	expect_result(ED448, "valid-eddsa-ed448", JWT_OK);
}

static void test_token_signed_for_another_algorithm_is_invalid(void **state)
{
	static const char *const tokens[VERIFIER_KINDS] = {
		[HS256] = "valid-hs256", [RS256] = "valid-rs256", [ES256] = "valid-es256",
		[ED25519] = "valid-eddsa-ed25519", [ED448] = "valid-eddsa-ed448",
	};

	(void)state;
	for (int verifier = 0; verifier < VERIFIER_KINDS; verifier++) {
		for (int token = 0; token < VERIFIER_KINDS; token++) {
			if (token != verifier)
				expect_result(verifier, tokens[token], JWT_INVALID);
		}
	}
}

static void test_optional_header_and_claim_forms_are_accepted(void **state)
{
	(void)state;
	expect_result(HS256, "valid-hs256-without-typ", JWT_OK);
	expect_result(HS256, "valid-hs256-typ-lowercase", JWT_OK);
	expect_result(HS256, "valid-hs256-with-kid", JWT_OK);
	expect_result(HS256, "valid-hs256-aud-array", JWT_OK);
	expect_result(HS256, "valid-hs256-nbf-past", JWT_OK);
	expect_result(HS256, "valid-hs256-extra-scopes", JWT_OK);
}

static void test_fractional_exp_is_accepted_and_rounded_down(void **state)
{
	struct jwt_claims claims;
	char reason[256];

	(void)state;
	assert_int_equal(verify_token_at(HS256, "valid-hs256-fractional-exp", NOW, &this_sandbox,
					 &claims, reason, sizeof(reason)), JWT_OK);
	assert_int_equal(claims.exp, EXP);
}

static void test_token_is_read_to_its_length_not_to_a_nul(void **state)
{
	struct jwt_claims claims;
	size_t length;
	char *token = read_token("valid-hs256", &length);
	char *padded = malloc(length + 8);

	(void)state;
	memcpy(padded, token, length);
	memcpy(padded + length, ".junk\n", 7);
	assert_int_equal(jwt_verify(verifiers[HS256], padded, length, &this_sandbox, NOW, &claims,
				    NULL, 0), JWT_OK);
	assert_int_equal(jwt_verify(verifiers[HS256], padded, length + 1, &this_sandbox, NOW,
				    &claims, NULL, 0), JWT_INVALID);
	assert_int_equal(jwt_verify(verifiers[HS256], token, length + 1, &this_sandbox, NOW,
				    &claims, NULL, 0), JWT_INVALID); /* the NUL terminator */
	assert_int_equal(jwt_verify(verifiers[HS256], token, length - 1, &this_sandbox, NOW,
				    &claims, NULL, 0), JWT_INVALID);
	free(padded);
	free(token);
}

static void test_empty_or_missing_token_is_invalid(void **state)
{
	struct jwt_claims claims;
	char reason[256];

	(void)state;
	assert_int_equal(jwt_verify(verifiers[HS256], "", 0, &this_sandbox, NOW, &claims, reason,
				    sizeof(reason)), JWT_INVALID);
	assert_int_equal(jwt_verify(verifiers[HS256], NULL, 10, &this_sandbox, NOW, &claims,
				    reason, sizeof(reason)), JWT_INVALID);
	assert_int_equal(jwt_verify(NULL, "a.b.c", 5, &this_sandbox, NOW, &claims, reason,
				    sizeof(reason)), JWT_INVALID);
}

/* ------------------------------------------------------------ size */

static void test_token_of_exactly_8192_bytes_is_accepted(void **state)
{
	(void)state;
	expect_result(HS256, "valid-hs256-8192-bytes", JWT_OK);
}

static void test_token_over_8192_bytes_is_invalid_though_validly_signed(void **state)
{
	(void)state;
	expect_result(HS256, "huge-8193-bytes-hs256", JWT_INVALID);
	expect_result(HS256, "huge-64k-hs256", JWT_INVALID);
	expect_reason_mentions(HS256, "huge-8193-bytes-hs256", NOW, "8192");
}

/* ------------------------------------------------------------ time */

static void test_token_is_accepted_until_59_seconds_after_exp(void **state)
{
	(void)state;
	expect_result_at(HS256, "valid-hs256", EXP - 1, &this_sandbox, JWT_OK);
	expect_result_at(HS256, "valid-hs256", EXP + JWT_LEEWAY_SECONDS - 1, &this_sandbox,
			 JWT_OK);
}

static void test_token_is_invalid_60_seconds_after_exp(void **state)
{
	(void)state;
	expect_result_at(HS256, "valid-hs256", EXP + JWT_LEEWAY_SECONDS, &this_sandbox,
			 JWT_INVALID);
	expect_reason_mentions(HS256, "valid-hs256", EXP + JWT_LEEWAY_SECONDS, "expired");
}

static void test_expired_token_is_invalid(void **state)
{
	(void)state;
	expect_result(HS256, "expired-hs256", JWT_INVALID);
	expect_reason_mentions(HS256, "expired-hs256", NOW, "expired");
}

static void test_token_issued_up_to_60_seconds_ahead_is_accepted(void **state)
{
	(void)state;
	expect_result_at(HS256, "valid-hs256", IAT - JWT_LEEWAY_SECONDS, &this_sandbox, JWT_OK);
}

static void test_token_issued_61_seconds_ahead_is_invalid(void **state)
{
	(void)state;
	expect_result_at(HS256, "valid-hs256", IAT - JWT_LEEWAY_SECONDS - 1, &this_sandbox,
			 JWT_INVALID);
	expect_result(HS256, "future-iat-hs256", JWT_INVALID);
	expect_reason_mentions(HS256, "future-iat-hs256", NOW, "iat");
}

static void test_future_nbf_is_invalid_and_past_nbf_is_accepted(void **state)
{
	(void)state;
	expect_result(HS256, "future-nbf-hs256", JWT_INVALID);
	expect_result(HS256, "valid-hs256-nbf-past", JWT_OK);
}

static void test_missing_or_non_numeric_times_are_invalid(void **state)
{
	(void)state;
	expect_result(HS256, "missing-exp-hs256", JWT_INVALID);
	expect_result(HS256, "missing-iat-hs256", JWT_INVALID);
	expect_result(HS256, "string-exp-hs256", JWT_INVALID);
	expect_result(HS256, "boolean-iat-hs256", JWT_INVALID);
}

static void test_far_future_exp_saturates_instead_of_overflowing(void **state)
{
	struct jwt_claims claims;
	char reason[256];

	(void)state;
	assert_int_equal(verify_token_at(HS256, "huge-exp-hs256", NOW, &this_sandbox, &claims,
					 reason, sizeof(reason)), JWT_OK);
	assert_true(claims.exp == INT64_MAX);
	assert_int_equal(verify_token_at(HS256, "max-integer-exp-hs256", INT64_MAX - 1,
					 &this_sandbox, &claims, reason, sizeof(reason)),
			 JWT_OK);
}

/* ------------------------------------------------------------ issuer, audience, jti */

static void test_wrong_or_missing_issuer_is_invalid(void **state)
{
	(void)state;
	expect_result(HS256, "wrong-iss-hs256", JWT_INVALID);
	expect_result(HS256, "missing-iss-hs256", JWT_INVALID);
}

static void test_audience_must_contain_extraction_workload(void **state)
{
	(void)state;
	expect_result(HS256, "wrong-aud-hs256", JWT_INVALID);
	expect_result(HS256, "missing-aud-hs256", JWT_INVALID);
	expect_result(HS256, "aud-array-without-audience-hs256", JWT_INVALID);
	expect_result(HS256, "aud-array-with-number-hs256", JWT_INVALID);
	expect_result(HS256, "valid-hs256-aud-array", JWT_OK);
}

static void test_jti_must_be_a_string_of_1_to_128_bytes(void **state)
{
	struct jwt_claims claims;
	char reason[256];

	(void)state;
	expect_result(HS256, "missing-jti-hs256", JWT_INVALID);
	expect_result(HS256, "empty-jti-hs256", JWT_INVALID);
	expect_result(HS256, "jti-129-bytes-hs256", JWT_INVALID);
	expect_result(HS256, "numeric-jti-hs256", JWT_INVALID);
	assert_int_equal(verify_token_at(HS256, "valid-hs256-jti-128-bytes", NOW, &this_sandbox,
					 &claims, reason, sizeof(reason)), JWT_OK);
	assert_int_equal(strlen(claims.jti), 128);
}

/* ------------------------------------------------------------ scopes */

static void test_token_for_another_session_tenant_or_graph_is_a_scope_failure(void **state)
{
	(void)state;
	expect_result(HS256, "wrong-session-scope-hs256", JWT_SCOPE);
	expect_result(HS256, "wrong-tenant-scope-hs256", JWT_SCOPE);
	expect_result(HS256, "wrong-graph-scope-hs256", JWT_SCOPE);
	expect_reason_mentions(HS256, "wrong-session-scope-hs256", NOW, "session");
	expect_reason_mentions(HS256, "wrong-tenant-scope-hs256", NOW, "tenant");
	expect_reason_mentions(HS256, "wrong-graph-scope-hs256", NOW, "knowledge_graph");
}

static void test_scopes_match_exactly_not_by_prefix(void **state)
{
	(void)state;
	expect_result(HS256, "session-scope-with-suffix-hs256", JWT_SCOPE);
	expect_result(HS256, "session-scope-prefix-only-hs256", JWT_SCOPE);
}

static void test_missing_workload_chat_scope_is_a_scope_failure(void **state)
{
	static const struct jwt_expectations nothing = { 0 };

	(void)state;
	expect_result(HS256, "missing-workload-chat-scope-hs256", JWT_SCOPE);
	expect_result_at(HS256, "missing-workload-chat-scope-hs256", NOW, &nothing, JWT_SCOPE);
	expect_result(HS256, "missing-scopes-hs256", JWT_SCOPE);
}

static void test_identity_scopes_are_required_only_when_configured(void **state)
{
	static const struct jwt_expectations nothing = { 0 };
	static const struct jwt_expectations session_only = { .session_id = "sess-7f3a" };

	(void)state;
	expect_result_at(HS256, "valid-hs256-only-workload-chat", NOW, &nothing, JWT_OK);
	expect_result_at(HS256, "valid-hs256-only-workload-chat", NOW, NULL, JWT_OK);
	expect_result_at(HS256, "valid-hs256-only-workload-chat", NOW, &session_only, JWT_SCOPE);
	expect_result_at(HS256, "wrong-tenant-scope-hs256", NOW, &session_only, JWT_OK);
}

static void test_malformed_scopes_are_invalid(void **state)
{
	(void)state;
	expect_result(HS256, "string-scopes-hs256", JWT_INVALID);
	expect_result(HS256, "scopes-with-number-hs256", JWT_INVALID);
}

static void test_expired_token_for_another_session_is_invalid_not_scope(void **state)
{
	(void)state;
	expect_result_at(HS256, "wrong-session-scope-hs256", EXP + JWT_LEEWAY_SECONDS,
			 &this_sandbox, JWT_INVALID);
}

/* ------------------------------------------------------------ header attacks */

static void test_alg_none_is_invalid_for_every_verifier(void **state)
{
	(void)state;
	for (int kind = 0; kind < VERIFIER_KINDS; kind++) {
		expect_result(kind, "alg-none", JWT_INVALID);
		expect_result(kind, "alg-none-with-hs256-signature", JWT_INVALID);
	}
}

/* The attack: take the verifier's RSA public key (public, after all), use it
 * as an HMAC secret and claim alg HS256.  A verifier that let the token pick
 * the algorithm would accept it. */
static void test_hs256_token_keyed_with_the_rsa_public_key_is_invalid(void **state)
{
	(void)state;
	expect_result(RS256, "alg-confusion-hs256-with-rsa-public-key", JWT_INVALID);
	expect_reason_mentions(RS256, "alg-confusion-hs256-with-rsa-public-key", NOW, "alg");
	expect_result(RS256, "valid-rs256", JWT_OK);
}

static void test_duplicate_keys_are_invalid(void **state)
{
	(void)state;
	expect_result(HS256, "duplicate-alg-in-header-hs256", JWT_INVALID);
	expect_result(HS256, "duplicate-iss-in-payload-hs256", JWT_INVALID);
}

static void test_crit_header_is_invalid(void **state)
{
	(void)state;
	expect_result(HS256, "crit-header-hs256", JWT_INVALID);
	expect_result(HS256, "empty-crit-header-hs256", JWT_INVALID);
	expect_reason_mentions(HS256, "crit-header-hs256", NOW, "crit");
}

static void test_typ_other_than_jwt_is_invalid(void **state)
{
	(void)state;
	expect_result(HS256, "typ-at-jwt-hs256", JWT_INVALID);
}

static void test_header_or_payload_that_is_not_a_json_object_is_invalid(void **state)
{
	(void)state;
	expect_result(HS256, "header-not-object-hs256", JWT_INVALID);
	expect_result(HS256, "header-not-json-hs256", JWT_INVALID);
	expect_result(HS256, "payload-not-object-hs256", JWT_INVALID);
	expect_result(HS256, "payload-not-json-hs256", JWT_INVALID);
}

/* ------------------------------------------------------------ signatures */

static void test_flipped_signature_bit_is_invalid_for_every_algorithm(void **state)
{
	(void)state;
	expect_result(HS256, "bad-signature-hs256", JWT_INVALID);
	expect_result(RS256, "bad-signature-rs256", JWT_INVALID);
	expect_result(ES256, "bad-signature-es256", JWT_INVALID);
	expect_result(ED25519, "bad-signature-eddsa", JWT_INVALID);
	expect_reason_mentions(HS256, "bad-signature-hs256", NOW, "signature");
}

static void test_token_signed_with_another_key_is_invalid(void **state)
{
	(void)state;
	expect_result(HS256, "other-key-hs256", JWT_INVALID);
	expect_result(RS256, "other-key-rs256", JWT_INVALID);
	expect_result(ES256, "other-key-es256", JWT_INVALID);
	expect_result(ED25519, "other-key-eddsa", JWT_INVALID);
}

static void test_es256_signature_in_der_instead_of_r_s_is_invalid(void **state)
{
	(void)state;
	expect_result(ES256, "der-signature-es256", JWT_INVALID);
	expect_result(ES256, "valid-es256", JWT_OK);
}

static void test_signature_moved_onto_another_payload_is_invalid(void **state)
{
	(void)state;
	expect_result(HS256, "signature-of-other-payload-hs256", JWT_INVALID);
}

/* ------------------------------------------------------------ form */

static void test_truncated_tokens_are_invalid(void **state)
{
	(void)state;
	expect_result(HS256, "truncated-signature-hs256", JWT_INVALID);
	expect_result(HS256, "truncated-to-two-parts-hs256", JWT_INVALID);
	expect_result(HS256, "truncated-mid-payload-hs256", JWT_INVALID);
	expect_result(HS256, "empty-signature-hs256", JWT_INVALID);
	expect_result(HS256, "four-parts-hs256", JWT_INVALID);
}

static void test_characters_outside_base64url_are_invalid(void **state)
{
	(void)state;
	expect_result(HS256, "padded-signature-hs256", JWT_INVALID);
	expect_result(HS256, "standard-alphabet-hs256", JWT_INVALID);
	expect_result(HS256, "space-inside-hs256", JWT_INVALID);
	expect_result(HS256, "trailing-newline-hs256", JWT_INVALID);
}

static void test_non_canonical_base64url_is_invalid(void **state)
{
	(void)state;
	expect_result(HS256, "non-canonical-base64-signature-hs256", JWT_INVALID);
}

/* ------------------------------------------------------------ threads */

struct verify_loop {
	const char *token;
	size_t length;
	int accepted;
};

static void *verify_many(void *argument)
{
	struct verify_loop *loop = argument;

	for (int i = 0; i < 50; i++) {
		struct jwt_claims claims;
		if (jwt_verify(verifiers[ES256], loop->token, loop->length, &this_sandbox, NOW,
			       &claims, NULL, 0) == JWT_OK)
			loop->accepted++;
	}
	return NULL;
}

static void test_one_verifier_serves_concurrent_threads(void **state)
{
	struct verify_loop loops[4];
	pthread_t threads[4];
	size_t length;
	char *token = read_token("valid-es256", &length);

	(void)state;
	for (int i = 0; i < 4; i++) {
		loops[i] = (struct verify_loop){ .token = token, .length = length };
		assert_int_equal(pthread_create(&threads[i], NULL, verify_many, &loops[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(threads[i], NULL);
		assert_int_equal(loops[i].accepted, 50);
	}
	free(token);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_algorithm_names_parse_exactly_as_jose_spells_them),
		cmocka_unit_test(test_algorithm_none_and_misspellings_are_rejected_with_einval),
		cmocka_unit_test(test_hs256_key_of_32_bytes_is_accepted),
		cmocka_unit_test(test_hs256_key_of_31_bytes_is_rejected_with_einval),
		cmocka_unit_test(test_hs256_key_that_is_a_pem_public_key_is_rejected_with_einval),
		cmocka_unit_test(test_hs256_key_that_is_an_openssh_public_key_is_rejected_with_einval),
		cmocka_unit_test(test_rs256_accepts_rsa_2048_and_rejects_rsa_1024_with_einval),
		cmocka_unit_test(test_rsa_key_for_es256_is_a_config_error_with_einval),
		cmocka_unit_test(test_p384_key_for_es256_is_a_config_error_with_einval),
		cmocka_unit_test(test_key_type_must_match_the_algorithm),
		cmocka_unit_test(test_private_key_pem_is_rejected_with_einval),
		cmocka_unit_test(test_asymmetric_algorithm_with_a_non_pem_key_is_rejected_with_einval),
		cmocka_unit_test(test_valid_hs256_token_is_accepted_with_its_claims),
		cmocka_unit_test(test_valid_token_of_each_algorithm_is_accepted),
		cmocka_unit_test(test_token_signed_for_another_algorithm_is_invalid),
		cmocka_unit_test(test_optional_header_and_claim_forms_are_accepted),
		cmocka_unit_test(test_fractional_exp_is_accepted_and_rounded_down),
		cmocka_unit_test(test_token_is_read_to_its_length_not_to_a_nul),
		cmocka_unit_test(test_empty_or_missing_token_is_invalid),
		cmocka_unit_test(test_token_of_exactly_8192_bytes_is_accepted),
		cmocka_unit_test(test_token_over_8192_bytes_is_invalid_though_validly_signed),
		cmocka_unit_test(test_token_is_accepted_until_59_seconds_after_exp),
		cmocka_unit_test(test_token_is_invalid_60_seconds_after_exp),
		cmocka_unit_test(test_expired_token_is_invalid),
		cmocka_unit_test(test_token_issued_up_to_60_seconds_ahead_is_accepted),
		cmocka_unit_test(test_token_issued_61_seconds_ahead_is_invalid),
		cmocka_unit_test(test_future_nbf_is_invalid_and_past_nbf_is_accepted),
		cmocka_unit_test(test_missing_or_non_numeric_times_are_invalid),
		cmocka_unit_test(test_far_future_exp_saturates_instead_of_overflowing),
		cmocka_unit_test(test_wrong_or_missing_issuer_is_invalid),
		cmocka_unit_test(test_audience_must_contain_extraction_workload),
		cmocka_unit_test(test_jti_must_be_a_string_of_1_to_128_bytes),
		cmocka_unit_test(test_token_for_another_session_tenant_or_graph_is_a_scope_failure),
		cmocka_unit_test(test_scopes_match_exactly_not_by_prefix),
		cmocka_unit_test(test_missing_workload_chat_scope_is_a_scope_failure),
		cmocka_unit_test(test_identity_scopes_are_required_only_when_configured),
		cmocka_unit_test(test_malformed_scopes_are_invalid),
		cmocka_unit_test(test_expired_token_for_another_session_is_invalid_not_scope),
		cmocka_unit_test(test_alg_none_is_invalid_for_every_verifier),
		cmocka_unit_test(test_hs256_token_keyed_with_the_rsa_public_key_is_invalid),
		cmocka_unit_test(test_duplicate_keys_are_invalid),
		cmocka_unit_test(test_crit_header_is_invalid),
		cmocka_unit_test(test_typ_other_than_jwt_is_invalid),
		cmocka_unit_test(test_header_or_payload_that_is_not_a_json_object_is_invalid),
		cmocka_unit_test(test_flipped_signature_bit_is_invalid_for_every_algorithm),
		cmocka_unit_test(test_token_signed_with_another_key_is_invalid),
		cmocka_unit_test(test_es256_signature_in_der_instead_of_r_s_is_invalid),
		cmocka_unit_test(test_signature_moved_onto_another_payload_is_invalid),
		cmocka_unit_test(test_truncated_tokens_are_invalid),
		cmocka_unit_test(test_characters_outside_base64url_are_invalid),
		cmocka_unit_test(test_non_canonical_base64url_is_invalid),
		cmocka_unit_test(test_one_verifier_serves_concurrent_threads),
	};

	return cmocka_run_group_tests(tests, setup_verifiers, teardown_verifiers);
}
