/* Fuzzes the workload JWT verifier two ways with every input:
 * 1. the bytes as a token, against an HS256 and an ES256 verifier (form,
 *    base64url, header JSON, signature paths);
 * 2. the bytes as "header\npayload" JSON, signed here with the HS256 test
 *    secret, so the claims parser behind the signature check is reached too.
 * Seed it with tests/jwt/tokens/ and decoded payloads of those tokens. */
#include <openssl/hmac.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "turn/jwt.h"
#include "turn/replay.h"

#define NOW INT64_C(1700000100)

/* TEST key material, as in tests/jwt/keys/ (any P-256 key would do). */
static const char hs256_secret[] = "fuzzing-secret-fuzzing-secret-fuzzing-secret";
static const char es256_public_pem[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8nDJJGzbdifgWf+ux+73ZXU/LmlG\n"
	"FLWqv8SZQVLO/+eZvd+cWgtqrSFf5VB7UXnEwgRQU8RLwn8A3AE37bxbiw==\n"
	"-----END PUBLIC KEY-----\n";

static const struct jwt_expectations this_sandbox = {
	.session_id = "sess-7f3a",
	.tenant_id = "tenant-acme",
	.knowledge_graph_id = "kg-0042",
};

static struct jwt_verifier *hs256, *es256;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (jwt_verifier_new(JWT_ALG_HS256, (const unsigned char *)hs256_secret,
			     strlen(hs256_secret), &hs256, NULL, 0) != 0 ||
	    jwt_verifier_new(JWT_ALG_ES256, (const unsigned char *)es256_public_pem,
			     strlen(es256_public_pem), &es256, NULL, 0) != 0)
		__builtin_trap();
	return 0;
}

static size_t base64url_encode(const uint8_t *data, size_t length, char *out)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint32_t bits = 0;
	unsigned int bit_count = 0;
	size_t written = 0;

	for (size_t i = 0; i < length; i++) {
		bits = (bits << 8) | data[i];
		bit_count += 8;
		while (bit_count >= 6) {
			bit_count -= 6;
			out[written++] = alphabet[(bits >> bit_count) & 0x3f];
		}
	}
	if (bit_count > 0)
		out[written++] = alphabet[(bits << (6 - bit_count)) & 0x3f];
	return written;
}

/* The verifier's promises, whatever the input. */
static void check_outcome(enum jwt_result result, const struct jwt_claims *claims,
			  const char *reason, size_t reason_size)
{
	size_t jti_length = strnlen(claims->jti, sizeof(claims->jti));
	int64_t expires_at;

	if (result != JWT_OK && result != JWT_INVALID && result != JWT_SCOPE)
		__builtin_trap();
	if (strnlen(reason, reason_size) >= reason_size || reason[0] == '\0')
		__builtin_trap();
	if (result != JWT_OK && (jti_length != 0 || claims->exp != 0 || claims->iat != 0))
		__builtin_trap();
	if (result == JWT_OK && (jti_length == 0 || jti_length > JWT_MAX_JTI_LENGTH))
		__builtin_trap();
	if (result == JWT_OK &&
	    !__builtin_add_overflow(claims->exp, JWT_LEEWAY_SECONDS, &expires_at) &&
	    NOW >= expires_at)
		__builtin_trap();
}

static void verify_and_check(const struct jwt_verifier *verifier, const char *token,
			     size_t length)
{
	struct jwt_claims claims;
	char reason[128];
	enum jwt_result result = jwt_verify(verifier, token, length, &this_sandbox, NOW, &claims,
					    reason, sizeof(reason));
	struct replay_cache *cache;

	check_outcome(result, &claims, reason, sizeof(reason));
	if (result != JWT_OK)
		return;
	if (replay_cache_new(4, &cache) != 0)
		__builtin_trap();
	if (replay_cache_record(cache, &claims, NOW) != JWT_OK ||
	    replay_cache_record(cache, &claims, NOW) != JWT_REPLAYED)
		__builtin_trap();
	replay_cache_free(cache);
}

static void verify_signed(const uint8_t *data, size_t size)
{
	static const char default_header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	const uint8_t *newline = memchr(data, '\n', size);
	const uint8_t *header = (const uint8_t *)default_header, *payload = data;
	size_t header_length = strlen(default_header), payload_length = size;
	static char token[3 * JWT_MAX_TOKEN_LENGTH];
	unsigned char mac[32];
	unsigned int mac_length;
	size_t length = 0;

	if (newline) {
		header = data;
		header_length = (size_t)(newline - data);
		payload = newline + 1;
		payload_length = size - header_length - 1;
	}
	if ((header_length + payload_length) / 3 * 4 + 64 > JWT_MAX_TOKEN_LENGTH * 2)
		return;
	length += base64url_encode(header, header_length, token);
	token[length++] = '.';
	length += base64url_encode(payload, payload_length, token + length);
	if (!HMAC(EVP_sha256(), hs256_secret, (int)strlen(hs256_secret),
		  (const unsigned char *)token, length, mac, &mac_length))
		__builtin_trap();
	token[length++] = '.';
	length += base64url_encode(mac, mac_length, token + length);
	verify_and_check(hs256, token, length);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	verify_and_check(hs256, (const char *)data, size);
	verify_and_check(es256, (const char *)data, size);
	verify_signed(data, size);
	return 0;
}
