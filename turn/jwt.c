#include "turn/jwt.h"
#include "turn/jwt_internal.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Every part is bounded, so no buffer's size is the attacker's choice: a
 * header is a few short fields, the signature bound is in jwt_internal.h and
 * the payload is bounded by the token itself. */
#define MAX_HEADER_ENCODED 1024

static const char *const algorithm_names[] = {
	[JWT_ALG_HS256] = "HS256",
	[JWT_ALG_RS256] = "RS256",
	[JWT_ALG_ES256] = "ES256",
	[JWT_ALG_EDDSA] = "EdDSA",
};

static const char *const result_names[] = {
	[JWT_OK] = "ok",
	[JWT_INVALID] = "invalid",
	[JWT_SCOPE] = "scope",
	[JWT_REPLAYED] = "replayed",
	[JWT_REPLAY_CACHE_FULL] = "replay_cache_full",
};

int jwt_algorithm_parse(const char *name, enum jwt_algorithm *out)
{
	for (size_t i = 0; i < sizeof(algorithm_names) / sizeof(algorithm_names[0]); i++) {
		if (strcmp(name, algorithm_names[i]) == 0) {
			*out = (enum jwt_algorithm)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *jwt_algorithm_name(enum jwt_algorithm alg)
{
	if ((size_t)alg >= sizeof(algorithm_names) / sizeof(algorithm_names[0]))
		return "unknown";
	return algorithm_names[alg];
}

const char *jwt_result_name(enum jwt_result result)
{
	if ((size_t)result >= sizeof(result_names) / sizeof(result_names[0]))
		return "unknown";
	return result_names[result];
}

enum jwt_result jwt_refuse(enum jwt_result result, char *reason, size_t reason_size,
			   const char *format, ...)
{
	if (reason && reason_size > 0) {
		va_list args;
		va_start(args, format);
		vsnprintf(reason, reason_size, format, args);
		va_end(args);
	}
	return result;
}

/* ------------------------------------------------------------ compact form */

struct token_parts {
	const char *header, *payload, *signature;
	size_t header_length, payload_length, signature_length;
	size_t signing_input_length; /* header.payload, what the signature covers */
};

static int base64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

static size_t base64url_decoded_length(size_t length)
{
	return length / 4 * 3 + (length % 4 ? length % 4 - 1 : 0);
}

/* RFC 7515 section 2: base64url without padding.  Strict: only the URL-safe
 * alphabet, no padding, no whitespace, and the unused low bits of the last
 * character must be zero, so every decoded value has exactly one encoding
 * and a token cannot be re-spelled into a different string that verifies.
 * Returns the decoded length or -1. */
static long base64url_decode(const char *text, size_t length, unsigned char *out,
			     size_t out_size)
{
	uint32_t bits = 0;
	unsigned int bit_count = 0;
	size_t written = 0;

	if (length % 4 == 1 || base64url_decoded_length(length) > out_size)
		return -1;
	for (size_t i = 0; i < length; i++) {
		int value = base64url_value((unsigned char)text[i]);
		if (value < 0)
			return -1;
		bits = (bits << 6) | (uint32_t)value;
		bit_count += 6;
		if (bit_count >= 8) {
			bit_count -= 8;
			out[written++] = (unsigned char)(bits >> bit_count);
			bits &= (1u << bit_count) - 1;
		}
	}
	if (bits != 0)
		return -1;
	return (long)written;
}

static enum jwt_result split_token(const char *token, size_t length, struct token_parts *parts,
				   char *reason, size_t reason_size)
{
	const char *first_dot, *second_dot, *end = token + length;

	if (length == 0)
		return jwt_refuse(JWT_INVALID, reason, reason_size, "token is empty");
	if (length > JWT_MAX_TOKEN_LENGTH)
		return jwt_refuse(JWT_INVALID, reason, reason_size,
				  "token is %zu bytes, more than %d", length, JWT_MAX_TOKEN_LENGTH);
	first_dot = memchr(token, '.', length);
	second_dot = first_dot ? memchr(first_dot + 1, '.', (size_t)(end - first_dot - 1)) : NULL;
	if (!second_dot || memchr(second_dot + 1, '.', (size_t)(end - second_dot - 1)))
		return jwt_refuse(JWT_INVALID, reason, reason_size,
				  "token is not a compact JWS of three parts");
	parts->header = token;
	parts->header_length = (size_t)(first_dot - token);
	parts->payload = first_dot + 1;
	parts->payload_length = (size_t)(second_dot - parts->payload);
	parts->signature = second_dot + 1;
	parts->signature_length = (size_t)(end - parts->signature);
	parts->signing_input_length = (size_t)(second_dot - token);
	if (parts->header_length == 0 || parts->payload_length == 0 ||
	    parts->signature_length == 0)
		return jwt_refuse(JWT_INVALID, reason, reason_size, "token has an empty part");
	if (parts->header_length > MAX_HEADER_ENCODED)
		return jwt_refuse(JWT_INVALID, reason, reason_size,
				  "token header is longer than %d bytes", MAX_HEADER_ENCODED);
	return JWT_OK;
}

/* ------------------------------------------------------------ header */

/* RFC 8725 section 3.1: the algorithm is the verifier's choice; the header
 * may only agree with it.  "crit" names extensions that must be understood,
 * and none is (RFC 7515 section 4.1.11). */
static enum jwt_result check_header(const struct jwt_verifier *verifier,
				    const unsigned char *header, size_t length, char *reason,
				    size_t reason_size)
{
	const char *expected = jwt_algorithm_name(jwt_verifier_algorithm(verifier));
	enum jwt_result result = JWT_OK;
	json_error_t json_error;
	json_t *root, *alg, *typ;

	root = json_loadb((const char *)header, length, JSON_REJECT_DUPLICATES, &json_error);
	if (!json_is_object(root)) {
		result = jwt_refuse(JWT_INVALID, reason, reason_size,
				    "token header is not a JSON object without duplicate keys");
		goto out;
	}
	alg = json_object_get(root, "alg");
	if (!json_is_string(alg) || json_string_length(alg) != strlen(expected) ||
	    strcmp(json_string_value(alg), expected) != 0) {
		result = jwt_refuse(JWT_INVALID, reason, reason_size,
				    "token header alg is not the configured %s", expected);
		goto out;
	}
	typ = json_object_get(root, "typ");
	/* A media type: case-insensitive (RFC 7515 section 4.1.9). */
	if (typ && (!json_is_string(typ) || strcasecmp(json_string_value(typ), "JWT") != 0)) {
		result = jwt_refuse(JWT_INVALID, reason, reason_size,
				    "token header typ is not JWT");
		goto out;
	}
	if (json_object_get(root, "crit")) {
		result = jwt_refuse(JWT_INVALID, reason, reason_size,
				    "token header has crit; no extension is supported");
		goto out;
	}
out:
	json_decref(root);
	return result;
}

/* ------------------------------------------------------------ verify */

static enum jwt_result verify_parts(const struct jwt_verifier *verifier,
				    const struct token_parts *parts,
				    const struct jwt_expectations *expect, int64_t now,
				    struct jwt_claims *claims, char *reason, size_t reason_size)
{
	unsigned char header[MAX_HEADER_ENCODED];
	unsigned char signature[JWT_MAX_SIGNATURE_BYTES];
	unsigned char payload[JWT_MAX_TOKEN_LENGTH];
	long header_length, signature_length, payload_length;
	enum jwt_result result;

	header_length = base64url_decode(parts->header, parts->header_length, header,
					 sizeof(header));
	if (header_length < 0)
		return jwt_refuse(JWT_INVALID, reason, reason_size,
				  "token header is not canonical base64url");
	result = check_header(verifier, header, (size_t)header_length, reason, reason_size);
	if (result != JWT_OK)
		return result;
	signature_length = base64url_decode(parts->signature, parts->signature_length,
					    signature, sizeof(signature));
	if (signature_length < 0)
		return jwt_refuse(JWT_INVALID, reason, reason_size,
				  "token signature is not canonical base64url of at most %d bytes",
				  JWT_MAX_SIGNATURE_BYTES);
	payload_length = base64url_decode(parts->payload, parts->payload_length, payload,
					  sizeof(payload));
	if (payload_length < 0)
		return jwt_refuse(JWT_INVALID, reason, reason_size,
				  "token payload is not canonical base64url");
	/* Only signed claims are parsed: the payload's JSON is never looked
	 * at before the signature is known to be the issuer's. */
	if (!jwt_signature_valid(verifier, (const unsigned char *)parts->header,
				 parts->signing_input_length, signature,
				 (size_t)signature_length))
		return jwt_refuse(JWT_INVALID, reason, reason_size,
				  "token signature does not verify with the configured %s key",
				  jwt_algorithm_name(jwt_verifier_algorithm(verifier)));
	return jwt_claims_check(payload, (size_t)payload_length, expect, now, claims, reason,
				reason_size);
}

enum jwt_result jwt_verify(const struct jwt_verifier *verifier, const char *token, size_t length,
			   const struct jwt_expectations *expect, int64_t now,
			   struct jwt_claims *claims, char *reason, size_t reason_size)
{
	static const struct jwt_expectations nothing_expected;
	struct jwt_claims verified = { 0 };
	struct token_parts parts;
	enum jwt_result result;

	if (claims)
		memset(claims, 0, sizeof(*claims));
	if (!verifier || !token)
		return jwt_refuse(JWT_INVALID, reason, reason_size, "no verifier or no token");
	result = split_token(token, length, &parts, reason, reason_size);
	if (result != JWT_OK)
		return result;
	result = verify_parts(verifier, &parts, expect ? expect : &nothing_expected, now,
			      &verified, reason, reason_size);
	if (result != JWT_OK)
		return result;
	if (claims)
		*claims = verified;
	return jwt_refuse(JWT_OK, reason, reason_size, "token verified");
}
