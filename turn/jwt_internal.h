/* Inside turn/ only.  jwt.c reads the compact JWS, jwt_key.c holds the key
 * and checks signatures (OpenSSL), jwt_claims.c checks the claims (jansson). */
#ifndef SANDBOX_INIT_TURN_JWT_INTERNAL_H
#define SANDBOX_INIT_TURN_JWT_INTERNAL_H

#include <stdbool.h>

#include "turn/jwt.h"

/* The longest signature accepted: RSA-8192.  RS256 keys above that are
 * refused when the verifier is configured. */
#define JWT_MAX_SIGNATURE_BYTES 1024

/* Copies a formatted reason (when reason is not NULL) and returns result, so
 * each refusal is one statement. */
__attribute__((format(printf, 4, 5)))
enum jwt_result jwt_refuse(enum jwt_result result, char *reason, size_t reason_size,
			   const char *format, ...);

enum jwt_algorithm jwt_verifier_algorithm(const struct jwt_verifier *verifier);

/* Whether signature is the configured key's signature of input (the ASCII
 * "header.payload"), with the configured algorithm only. */
bool jwt_signature_valid(const struct jwt_verifier *verifier, const unsigned char *input,
			 size_t input_length, const unsigned char *signature,
			 size_t signature_length);

/* Checks the decoded payload of a token whose signature has been verified. */
enum jwt_result jwt_claims_check(const unsigned char *payload, size_t length,
				 const struct jwt_expectations *expect, int64_t now,
				 struct jwt_claims *claims, char *reason, size_t reason_size);

#endif
