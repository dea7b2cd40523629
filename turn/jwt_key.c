#include "turn/jwt.h"
#include "turn/jwt_internal.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEY_LENGTH 65536
#define MIN_RSA_BITS 2048
#define HS256_SIGNATURE_BYTES 32
#define ES256_COORDINATE_BYTES 32

struct jwt_verifier {
	enum jwt_algorithm alg;
	unsigned char *secret; /* HS256 */
	size_t secret_length;
	EVP_PKEY *public_key;  /* the others */
};

/* ------------------------------------------------------------ configuration */

static int config_error(char *error, size_t error_size, const char *format, ...)
	__attribute__((format(printf, 3, 4)));

static int config_error(char *error, size_t error_size, const char *format, ...)
{
	if (error && error_size > 0) {
		va_list args;
		va_start(args, format);
		vsnprintf(error, error_size, format, args);
		va_end(args);
	}
	ERR_clear_error();
	return -EINVAL;
}

static bool contains(const unsigned char *data, size_t length, const char *needle)
{
	return memmem(data, length, needle, strlen(needle)) != NULL;
}

static bool starts_with(const unsigned char *data, size_t length, const char *prefix)
{
	size_t prefix_length = strlen(prefix);
	return length >= prefix_length && memcmp(data, prefix, prefix_length) == 0;
}

/* A public key used as an HMAC secret lets anyone who can read it forge
 * tokens: that is the alg-confusion attack turned into a configuration
 * mistake, so it is refused as PyJWT refuses it. */
static bool looks_like_public_key(const unsigned char *key, size_t length)
{
	return contains(key, length, "-----BEGIN ") || starts_with(key, length, "ssh-") ||
	       starts_with(key, length, "ecdsa-sha2-");
}

static int configure_secret(struct jwt_verifier *verifier, const unsigned char *key,
			    size_t length, char *error, size_t error_size)
{
	if (length < JWT_MIN_HS256_KEY_LENGTH)
		return config_error(error, error_size,
				    "HS256 key is %zu bytes; at least %d are required", length,
				    JWT_MIN_HS256_KEY_LENGTH);
	if (length > MAX_KEY_LENGTH)
		return config_error(error, error_size, "HS256 key is larger than %d bytes",
				    MAX_KEY_LENGTH);
	if (looks_like_public_key(key, length))
		return config_error(error, error_size,
				    "HS256 key looks like a public key; HS256 needs the shared secret");
	verifier->secret = malloc(length);
	if (!verifier->secret)
		return -ENOMEM;
	memcpy(verifier->secret, key, length);
	verifier->secret_length = length;
	return 0;
}

static int check_key_type(enum jwt_algorithm alg, EVP_PKEY *key, char *error, size_t error_size)
{
	const char *alg_name = jwt_algorithm_name(alg);
	const char *type = EVP_PKEY_get0_type_name(key);
	char group[64] = "";

	switch (alg) {
	case JWT_ALG_RS256:
		if (!EVP_PKEY_is_a(key, "RSA"))
			break;
		/* RFC 7518 section 3.3: keys of 2048 bits or larger MUST be used. */
		if (EVP_PKEY_get_bits(key) < MIN_RSA_BITS)
			return config_error(error, error_size,
					    "RS256 key has %d bits; at least %d are required",
					    EVP_PKEY_get_bits(key), MIN_RSA_BITS);
		/* Its signatures must fit the signature bound. */
		if (EVP_PKEY_get_size(key) > JWT_MAX_SIGNATURE_BYTES)
			return config_error(error, error_size,
					    "RS256 key has %d bits; at most %d are supported",
					    EVP_PKEY_get_bits(key), 8 * JWT_MAX_SIGNATURE_BYTES);
		return 0;
	case JWT_ALG_ES256:
		if (!EVP_PKEY_is_a(key, "EC"))
			break;
		if (!EVP_PKEY_get_group_name(key, group, sizeof(group), NULL) ||
		    strcmp(group, "prime256v1") != 0)
			return config_error(error, error_size,
					    "ES256 key is on curve %s; ES256 is P-256 only",
					    group[0] ? group : "(unknown)");
		return 0;
	case JWT_ALG_EDDSA:
		if (EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448"))
			return 0;
		break;
	case JWT_ALG_HS256:
		break;
	}
	return config_error(error, error_size, "%s cannot use a %s key", alg_name,
			    type ? type : "(unknown type)");
}

static int configure_public_key(struct jwt_verifier *verifier, const unsigned char *key,
				size_t length, char *error, size_t error_size)
{
	const char *alg_name = jwt_algorithm_name(verifier->alg);
	BIO *bio;
	int result;

	if (length > MAX_KEY_LENGTH)
		return config_error(error, error_size, "%s key is larger than %d bytes", alg_name,
				    MAX_KEY_LENGTH);
	/* The verifier needs only the public half; a private key here would
	 * put the issuer's signing power inside the sandbox. */
	if (contains(key, length, "PRIVATE KEY-----"))
		return config_error(error, error_size,
				    "%s key is a private key; give the PEM public key only", alg_name);
	bio = BIO_new_mem_buf(key, (int)length);
	if (!bio)
		return -ENOMEM;
	verifier->public_key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (!verifier->public_key)
		return config_error(error, error_size,
				    "%s key is not a PEM public key (-----BEGIN PUBLIC KEY-----)",
				    alg_name);
	result = check_key_type(verifier->alg, verifier->public_key, error, error_size);
	ERR_clear_error();
	return result;
}

int jwt_verifier_new(enum jwt_algorithm alg, const unsigned char *key, size_t key_length,
		     struct jwt_verifier **out, char *error, size_t error_size)
{
	struct jwt_verifier *verifier;
	int result;

	*out = NULL;
	if ((unsigned int)alg > JWT_ALG_EDDSA)
		return config_error(error, error_size, "unknown JWT algorithm %d", (int)alg);
	if (!key)
		return config_error(error, error_size, "%s key is missing", jwt_algorithm_name(alg));
	verifier = calloc(1, sizeof(*verifier));
	if (!verifier)
		return -ENOMEM;
	verifier->alg = alg;
	if (alg == JWT_ALG_HS256)
		result = configure_secret(verifier, key, key_length, error, error_size);
	else
		result = configure_public_key(verifier, key, key_length, error, error_size);
	if (result < 0) {
		jwt_verifier_free(verifier);
		return result;
	}
	*out = verifier;
	return 0;
}

void jwt_verifier_free(struct jwt_verifier *verifier)
{
	if (!verifier)
		return;
	if (verifier->secret)
		OPENSSL_cleanse(verifier->secret, verifier->secret_length);
	free(verifier->secret);
	EVP_PKEY_free(verifier->public_key);
	free(verifier);
}

enum jwt_algorithm jwt_verifier_algorithm(const struct jwt_verifier *verifier)
{
	return verifier->alg;
}

/* ------------------------------------------------------------ signature */

static bool digest_verify(EVP_PKEY *key, const EVP_MD *digest, const unsigned char *input,
			  size_t input_length, const unsigned char *signature,
			  size_t signature_length)
{
	EVP_MD_CTX *context = EVP_MD_CTX_new();
	bool valid = false;

	if (!context)
		return false;
	if (EVP_DigestVerifyInit(context, NULL, digest, NULL, key) == 1)
		valid = EVP_DigestVerify(context, signature, signature_length, input,
					 input_length) == 1;
	EVP_MD_CTX_free(context);
	return valid;
}

static bool hs256_valid(const struct jwt_verifier *verifier, const unsigned char *input,
			size_t input_length, const unsigned char *signature,
			size_t signature_length)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_length = 0;

	if (signature_length != HS256_SIGNATURE_BYTES)
		return false;
	if (!HMAC(EVP_sha256(), verifier->secret, (int)verifier->secret_length, input,
		  input_length, mac, &mac_length) || mac_length != HS256_SIGNATURE_BYTES)
		return false;
	/* Constant time: a byte-by-byte early exit would let a client find a
	 * valid MAC for its own payload one byte at a time. */
	return CRYPTO_memcmp(mac, signature, HS256_SIGNATURE_BYTES) == 0;
}

static bool rs256_valid(const struct jwt_verifier *verifier, const unsigned char *input,
			size_t input_length, const unsigned char *signature,
			size_t signature_length)
{
	if (signature_length != (size_t)EVP_PKEY_get_size(verifier->public_key))
		return false;
	return digest_verify(verifier->public_key, EVP_sha256(), input, input_length, signature,
			     signature_length);
}

/* JWS carries ECDSA signatures as fixed-width R||S (RFC 7518 section 3.4);
 * EVP wants the DER SEQUENCE of two INTEGERs.  A DER signature in the token
 * is refused by the length check, as the RFC requires. */
static bool es256_valid(const struct jwt_verifier *verifier, const unsigned char *input,
			size_t input_length, const unsigned char *signature,
			size_t signature_length)
{
	unsigned char der[2 * ES256_COORDINATE_BYTES + 16];
	unsigned char *cursor = der;
	ECDSA_SIG *ecdsa = NULL;
	BIGNUM *r = NULL, *s = NULL;
	bool valid = false;
	int der_length;

	if (signature_length != 2 * ES256_COORDINATE_BYTES)
		return false;
	ecdsa = ECDSA_SIG_new();
	r = BN_bin2bn(signature, ES256_COORDINATE_BYTES, NULL);
	s = BN_bin2bn(signature + ES256_COORDINATE_BYTES, ES256_COORDINATE_BYTES, NULL);
	if (!ecdsa || !r || !s || ECDSA_SIG_set0(ecdsa, r, s) != 1)
		goto out;
	r = s = NULL; /* owned by ecdsa now */
	der_length = i2d_ECDSA_SIG(ecdsa, NULL);
	if (der_length <= 0 || (size_t)der_length > sizeof(der))
		goto out;
	if (i2d_ECDSA_SIG(ecdsa, &cursor) != der_length)
		goto out;
	valid = digest_verify(verifier->public_key, EVP_sha256(), input, input_length, der,
			      (size_t)der_length);
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(ecdsa);
	return valid;
}

bool jwt_signature_valid(const struct jwt_verifier *verifier, const unsigned char *input,
			 size_t input_length, const unsigned char *signature,
			 size_t signature_length)
{
	bool valid = false;

	switch (verifier->alg) {
	case JWT_ALG_HS256:
		valid = hs256_valid(verifier, input, input_length, signature, signature_length);
		break;
	case JWT_ALG_RS256:
		valid = rs256_valid(verifier, input, input_length, signature, signature_length);
		break;
	case JWT_ALG_ES256:
		valid = es256_valid(verifier, input, input_length, signature, signature_length);
		break;
	case JWT_ALG_EDDSA:
		/* Ed25519 and Ed448 hash internally: no digest is given. */
		valid = digest_verify(verifier->public_key, NULL, input, input_length, signature,
				      signature_length);
		break;
	}
	/* A failed verification leaves errors in this thread's queue; they
	 * must not surface later as someone else's failure. */
	ERR_clear_error();
	return valid;
}
