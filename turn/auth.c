#include "turn/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

/* SHA-256: a fixed-size digest of each side, so the comparison below takes
 * the same time whatever the lengths (memcmp or strcmp on the raw values
 * leaks the length of the matching prefix, and a length check first leaks
 * the token's length). */
#define DIGEST_SIZE 32

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 9110 section 5.5: optional white space around a field value is not
 * part of it; proxies and clients may add it. */
static void trim_blanks(const char **value, size_t *length)
{
	while (*length > 0 && is_blank((*value)[0])) {
		(*value)++;
		(*length)--;
	}
	while (*length > 0 && is_blank((*value)[*length - 1]))
		(*length)--;
}

static bool digest(const void *data, size_t length, unsigned char out[DIGEST_SIZE])
{
	unsigned int size = 0;

	return EVP_Digest(data, length, out, &size, EVP_sha256(), NULL) == 1 &&
	       size == DIGEST_SIZE;
}

bool turn_auth_matches(const char *expected, const char *presented, size_t presented_length)
{
	unsigned char expected_digest[DIGEST_SIZE], presented_digest[DIGEST_SIZE];
	bool matches = false;

	/* Fail closed: an unset token must not be matched by an empty header,
	 * the mistake that let every caller in before. */
	if (!expected || expected[0] == '\0' || !presented)
		return false;
	trim_blanks(&presented, &presented_length);
	if (presented_length == 0)
		return false;
	if (digest(expected, strlen(expected), expected_digest) &&
	    digest(presented, presented_length, presented_digest))
		matches = CRYPTO_memcmp(expected_digest, presented_digest, DIGEST_SIZE) == 0;
	OPENSSL_cleanse(expected_digest, sizeof(expected_digest));
	OPENSSL_cleanse(presented_digest, sizeof(presented_digest));
	return matches;
}
