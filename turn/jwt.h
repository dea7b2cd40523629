/* Workload JWT verification (contract section 2, "Workload JWT").
 *
 * A verifier is configured once, at start-up, with the one accepted algorithm
 * and its key; the algorithm is never taken from a token.  jwt_verify() then
 * checks a compact JWS and its claims.  Replay protection is the separate
 * jti cache in turn/replay.h, fed only with the claims of a verified token.
 *
 * Only turn/ knows JWTs: this header and turn/replay.h are the interface. */
#ifndef SANDBOX_INIT_TURN_JWT_H
#define SANDBOX_INIT_TURN_JWT_H

#include <stddef.h>
#include <stdint.h>

#define JWT_ISSUER "kartograph"
#define JWT_AUDIENCE "extraction-workload"
#define JWT_LEEWAY_SECONDS 60
#define JWT_MAX_TOKEN_LENGTH 8192
#define JWT_MAX_JTI_LENGTH 128
#define JWT_MIN_HS256_KEY_LENGTH 32

enum jwt_algorithm {
	JWT_ALG_HS256,
	JWT_ALG_RS256,
	JWT_ALG_ES256,
	JWT_ALG_EDDSA, /* Ed25519 or Ed448 (RFC 8037) */
};

enum jwt_result {
	JWT_OK,
	JWT_INVALID,           /* form, signature, time, issuer, audience, jti: 401 */
	JWT_SCOPE,             /* authentic and current, but not for this session: 403 */
	JWT_REPLAYED,          /* jti already used (turn/replay.h): 401 */
	JWT_REPLAY_CACHE_FULL, /* every slot holds a live jti (turn/replay.h): refuse, 503 */
};

/* "HS256", "RS256", "ES256", "EdDSA", exactly as JOSE spells them (names are
 * case-sensitive, RFC 7515 section 4.1.1); "none" is not an algorithm here.
 * Returns 0 or -EINVAL. */
int jwt_algorithm_parse(const char *name, enum jwt_algorithm *out);
const char *jwt_algorithm_name(enum jwt_algorithm alg);

/* "ok", "invalid", "scope", "replayed", "replay_cache_full": for logs and metrics. */
const char *jwt_result_name(enum jwt_result result);

struct jwt_verifier;

/* HS256: key is the raw shared secret, at least 32 bytes, and must not be a
 * PEM or OpenSSH public key.  RS256 (RSA >= 2048 bits), ES256 (P-256) and
 * EdDSA (Ed25519, Ed448): key is a PEM "PUBLIC KEY" (SubjectPublicKeyInfo)
 * whose type matches alg.  Returns 0, -EINVAL (error says what is wrong,
 * never quoting the key) or -ENOMEM.  The key bytes are copied. */
int jwt_verifier_new(enum jwt_algorithm alg, const unsigned char *key, size_t key_length,
		     struct jwt_verifier **out, char *error, size_t error_size);
void jwt_verifier_free(struct jwt_verifier *verifier);

/* The scopes a token must grant besides "workload:chat": "session:<id>",
 * "tenant:<id>" and "knowledge_graph:<id>" for each id that is not NULL
 * (an empty string is an id: map an unset identity to NULL). */
struct jwt_expectations {
	const char *session_id;
	const char *tenant_id;
	const char *knowledge_graph_id;
};

struct jwt_claims {
	char jti[JWT_MAX_JTI_LENGTH + 1];
	int64_t exp; /* seconds since the epoch, rounded down */
	int64_t iat;
};

/* Verifies token (length bytes, not NUL-terminated) at time now (seconds
 * since the epoch).  expect NULL checks only "workload:chat".  Returns
 * JWT_OK, JWT_INVALID or JWT_SCOPE; JWT_SCOPE only for a token that passed
 * every other check.  claims (may be NULL) is filled on JWT_OK and zeroed
 * otherwise.  reason (may be NULL) receives one line for the log; it
 * never contains the token, any part of it, or key material.
 * Safe to call from several threads on one verifier. */
enum jwt_result jwt_verify(const struct jwt_verifier *verifier, const char *token, size_t length,
			   const struct jwt_expectations *expect, int64_t now,
			   struct jwt_claims *claims, char *reason, size_t reason_size);

#endif
