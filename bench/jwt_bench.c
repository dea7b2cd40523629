/* Benchmark: workload JWT verifications per second.
 *   jwt-bench ALG KEY_FILE TOKEN SECONDS
 * Prints verifications per second; the token must verify (exit 1 if not). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "turn/jwt.h"

static double seconds_now(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static unsigned char *read_file(const char *path, size_t *length)
{
	FILE *file = fopen(path, "rb");
	if (!file)
		return NULL;
	unsigned char *data = malloc(65536);
	*length = data ? fread(data, 1, 65536, file) : 0;
	fclose(file);
	return data;
}

int main(int argc, char **argv)
{
	if (argc != 5)
		return 2;
	enum jwt_algorithm algorithm;
	size_t key_length;
	unsigned char *key = read_file(argv[2], &key_length);
	struct jwt_verifier *verifier;
	char error[256];
	if (!key || jwt_algorithm_parse(argv[1], &algorithm) < 0 ||
	    jwt_verifier_new(algorithm, key, key_length, &verifier, error, sizeof(error)) < 0) {
		fprintf(stderr, "jwt-bench: bad key or algorithm\n");
		return 1;
	}
	const char *token = argv[3];
	struct jwt_expectations expect = { 0 };
	struct jwt_claims claims;
	char reason[256];
	double budget = atof(argv[4]), start = seconds_now(), elapsed;
	long count = 0;
	do {
		for (int i = 0; i < 100; i++, count++)
			if (jwt_verify(verifier, token, strlen(token), &expect, (int64_t)time(NULL), &claims, reason,
				       sizeof(reason)) != JWT_OK) {
				fprintf(stderr, "jwt-bench: token did not verify: %s\n", reason);
				return 1;
			}
		elapsed = seconds_now() - start;
	} while (elapsed < budget);
	printf("%.0f\n", (double)count / elapsed);
	jwt_verifier_free(verifier);
	free(key);
	return 0;
}
