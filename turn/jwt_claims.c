#include "turn/jwt_internal.h"

#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#define SCOPE_WORKLOAD_CHAT "workload:chat"

enum rounding { ROUND_DOWN, ROUND_UP };

static int64_t saturating_add(int64_t a, int64_t b)
{
	int64_t sum;

	if (__builtin_add_overflow(a, b, &sum))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return sum;
}

static long long saturating_difference(int64_t a, int64_t b)
{
	int64_t difference;

	if (__builtin_sub_overflow(a, b, &difference))
		return b < 0 ? INT64_MAX : INT64_MIN;
	return difference;
}

/* NumericDate (RFC 7519 section 2) may be fractional.  exp is rounded down
 * and iat/nbf up, so rounding can only make a token expire sooner or start
 * later: it never extends a token's life.  Huge values saturate. */
static bool numeric_date(const json_t *value, enum rounding rounding, int64_t *out)
{
	/* 2^63 is exactly representable; every double below it converts. */
	const double limit = 9223372036854775808.0;
	double real, truncated;

	if (json_is_integer(value)) {
		*out = json_integer_value(value);
		return true;
	}
	if (!json_is_real(value))
		return false;
	real = json_real_value(value);
	if (real >= limit) {
		*out = INT64_MAX;
		return true;
	}
	if (real < -limit) {
		*out = INT64_MIN;
		return true;
	}
	*out = (int64_t)real;
	truncated = (double)*out;
	if (rounding == ROUND_DOWN && truncated > real)
		*out -= 1;
	if (rounding == ROUND_UP && truncated < real)
		*out += 1;
	return true;
}

static bool string_equals(const json_t *value, const char *expected)
{
	return json_is_string(value) && json_string_length(value) == strlen(expected) &&
	       strcmp(json_string_value(value), expected) == 0;
}

/* RFC 7519 section 4.1.3: a single string or an array of strings; every
 * element must be a string, a malformed array is not skimmed for a match. */
static bool audience_accepted(const json_t *audience)
{
	bool found = false;
	size_t index;
	json_t *element;

	if (json_is_string(audience))
		return string_equals(audience, JWT_AUDIENCE);
	if (!json_is_array(audience))
		return false;
	json_array_foreach(audience, index, element) {
		if (!json_is_string(element))
			return false;
		if (string_equals(element, JWT_AUDIENCE))
			found = true;
	}
	return found;
}

static enum jwt_result check_identity(const json_t *root, char *reason, size_t reason_size)
{
	if (!string_equals(json_object_get(root, "iss"), JWT_ISSUER))
		return jwt_refuse(JWT_INVALID, reason, reason_size,
				  "token iss is not \"" JWT_ISSUER "\"");
	if (!audience_accepted(json_object_get(root, "aud")))
		return jwt_refuse(JWT_INVALID, reason, reason_size,
				  "token aud does not contain \"" JWT_AUDIENCE "\"");
	return JWT_OK;
}

static enum jwt_result check_times(const json_t *root, int64_t now, struct jwt_claims *claims,
				   char *reason, size_t reason_size)
{
	const json_t *not_before = json_object_get(root, "nbf");
	int64_t nbf;

	if (!numeric_date(json_object_get(root, "exp"), ROUND_DOWN, &claims->exp))
		return jwt_refuse(JWT_INVALID, reason, reason_size,
				  "token exp is missing or not a number");
	if (!numeric_date(json_object_get(root, "iat"), ROUND_UP, &claims->iat))
		return jwt_refuse(JWT_INVALID, reason, reason_size,
				  "token iat is missing or not a number");
	/* RFC 7519 section 4.1.4: not accepted on or after exp. */
	if (now >= saturating_add(claims->exp, JWT_LEEWAY_SECONDS))
		return jwt_refuse(JWT_INVALID, reason, reason_size,
				  "token expired %lld s ago (leeway %d s)",
				  saturating_difference(now, claims->exp), JWT_LEEWAY_SECONDS);
	if (claims->iat > saturating_add(now, JWT_LEEWAY_SECONDS))
		return jwt_refuse(JWT_INVALID, reason, reason_size,
				  "token iat is %lld s in the future (leeway %d s)",
				  saturating_difference(claims->iat, now), JWT_LEEWAY_SECONDS);
	if (!not_before)
		return JWT_OK;
	if (!numeric_date(not_before, ROUND_UP, &nbf))
		return jwt_refuse(JWT_INVALID, reason, reason_size, "token nbf is not a number");
	if (nbf > saturating_add(now, JWT_LEEWAY_SECONDS))
		return jwt_refuse(JWT_INVALID, reason, reason_size,
				  "token nbf is %lld s in the future (leeway %d s)",
				  saturating_difference(nbf, now), JWT_LEEWAY_SECONDS);
	return JWT_OK;
}

static enum jwt_result copy_jti(const json_t *root, struct jwt_claims *claims, char *reason,
				size_t reason_size)
{
	const json_t *jti = json_object_get(root, "jti");
	size_t length;

	/* The replay cache keys on it: without one a token could be replayed
	 * at will; an unbounded one would let a token inflate the cache. */
	if (!json_is_string(jti))
		return jwt_refuse(JWT_INVALID, reason, reason_size,
				  "token jti is missing or not a string");
	length = json_string_length(jti);
	if (length == 0 || length > JWT_MAX_JTI_LENGTH)
		return jwt_refuse(JWT_INVALID, reason, reason_size,
				  "token jti is not 1 to %d bytes", JWT_MAX_JTI_LENGTH);
	memcpy(claims->jti, json_string_value(jti), length);
	claims->jti[length] = '\0';
	return JWT_OK;
}

static bool scope_is(const json_t *scope, const char *prefix, const char *id)
{
	const char *text = json_string_value(scope);
	size_t prefix_length = strlen(prefix), id_length = strlen(id);

	return json_string_length(scope) == prefix_length + id_length &&
	       memcmp(text, prefix, prefix_length) == 0 &&
	       memcmp(text + prefix_length, id, id_length) == 0;
}

static bool scope_granted(const json_t *scopes, const char *prefix, const char *id)
{
	size_t index;
	json_t *scope;

	json_array_foreach(scopes, index, scope) {
		if (scope_is(scope, prefix, id))
			return true;
	}
	return false;
}

static bool all_strings(const json_t *array)
{
	size_t index;
	json_t *element;

	json_array_foreach(array, index, element) {
		if (!json_is_string(element))
			return false;
	}
	return true;
}

/* Scopes bind the token to this sandbox: a token the API minted for another
 * session, tenant or graph must not drive this one. */
static enum jwt_result check_scopes(const json_t *root, const struct jwt_expectations *expect,
				    char *reason, size_t reason_size)
{
	const struct {
		const char *prefix, *id, *name;
	} required[] = {
		{ "session:", expect->session_id, "session" },
		{ "tenant:", expect->tenant_id, "tenant" },
		{ "knowledge_graph:", expect->knowledge_graph_id, "knowledge_graph" },
		{ SCOPE_WORKLOAD_CHAT, "", SCOPE_WORKLOAD_CHAT },
	};
	const json_t *scopes = json_object_get(root, "scopes");

	if (!scopes)
		return jwt_refuse(JWT_SCOPE, reason, reason_size, "token grants no scopes");
	if (!json_is_array(scopes) || !all_strings(scopes))
		return jwt_refuse(JWT_INVALID, reason, reason_size,
				  "token scopes is not an array of strings");
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (required[i].id && !scope_granted(scopes, required[i].prefix, required[i].id))
			return jwt_refuse(JWT_SCOPE, reason, reason_size,
					  "token lacks the %s scope of this sandbox",
					  required[i].name);
	}
	return JWT_OK;
}

enum jwt_result jwt_claims_check(const unsigned char *payload, size_t length,
				 const struct jwt_expectations *expect, int64_t now,
				 struct jwt_claims *claims, char *reason, size_t reason_size)
{
	enum jwt_result result;
	json_error_t json_error;
	json_t *root;

	root = json_loadb((const char *)payload, length, JSON_REJECT_DUPLICATES, &json_error);
	if (!json_is_object(root)) {
		result = jwt_refuse(JWT_INVALID, reason, reason_size,
				    "token payload is not a JSON object without duplicate keys");
		goto out;
	}
	/* Every JWT_INVALID check comes before the scopes, so JWT_SCOPE (403)
	 * is only ever said of a token that is otherwise good. */
	result = check_identity(root, reason, reason_size);
	if (result == JWT_OK)
		result = check_times(root, now, claims, reason, reason_size);
	if (result == JWT_OK)
		result = copy_jti(root, claims, reason, reason_size);
	if (result == JWT_OK)
		result = check_scopes(root, expect, reason, reason_size);
out:
	json_decref(root);
	return result;
}
