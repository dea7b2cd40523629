/* The secrets of the configuration: read once from their files or variables,
 * then every secret variable is removed from our own environment. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "init/config.h"
#include "init/config_internal.h"

#define SECRET_FILE_LIMIT (64 * 1024)

static bool is_secret_variable(const char *name, size_t length)
{
	static const char *const prefixes[] = { "KARTOGRAPH_RUNTIME_AUTH_TOKEN", "KARTOGRAPH_WORKLOAD_TOKEN" };
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (length >= strlen(prefixes[i]) && strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return memmem(name, length, "SIGNING_KEY", strlen("SIGNING_KEY")) != NULL;
}

static int read_secret_file(const char *label, const char *path, unsigned char **out, size_t *length,
			    char *error, size_t size)
{
	int result = 0;
	unsigned char *buffer = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return config_fail(error, size, "%s: cannot open \"%s\": %s", label, path, strerror(errno));

	buffer = malloc(SECRET_FILE_LIMIT + 1);
	if (!buffer) {
		result = config_fail(error, size, "%s: out of memory", label);
		goto out;
	}
	size_t used = 0;
	for (;;) {
		ssize_t got = read(fd, buffer + used, SECRET_FILE_LIMIT + 1 - used);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			result = config_fail(error, size, "%s: cannot read \"%s\": %s", label, path, strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		used += (size_t)got;
		if (used > SECRET_FILE_LIMIT) {
			result = config_fail(error, size, "%s: \"%s\" is larger than %d bytes", label, path, SECRET_FILE_LIMIT);
			goto out;
		}
	}
	buffer[used] = '\0';
	*out = buffer;
	*length = used;
	buffer = NULL;
out:
	if (buffer) {
		explicit_bzero(buffer, SECRET_FILE_LIMIT + 1);
		free(buffer);
	}
	close(fd);
	return result;
}

/* Tokens arrive from files written by `echo`; the compare ignores surrounding
 * white space, so strip it once here. */
static void trim_in_place(char *text)
{
	size_t length = strlen(text);
	while (length > 0 && strchr(" \t\r\n", text[length - 1]))
		text[--length] = '\0';
	size_t start = strspn(text, " \t\r\n");
	memmove(text, text + start, length - start + 1);
}

static int take_auth_token(struct config *config, char *error, size_t size)
{
	if (config->auth_token_file) {
		unsigned char *content;
		size_t length;
		int result = read_secret_file("--auth-token-file", config->auth_token_file, &content,
					      &length, error, size);
		if (result < 0)
			return result;
		if (memchr(content, '\0', length)) {
			explicit_bzero(content, length);
			free(content);
			return config_fail(error, size, "--auth-token-file: \"%s\" contains a NUL byte",
				    config->auth_token_file);
		}
		config->auth_token = (char *)content;
	} else if (getenv("KARTOGRAPH_RUNTIME_AUTH_TOKEN")) {
		config->auth_token = strdup(getenv("KARTOGRAPH_RUNTIME_AUTH_TOKEN"));
		if (!config->auth_token)
			return config_fail(error, size, "out of memory");
	} else {
		return 0;
	}
	trim_in_place(config->auth_token);
	if (config->auth_token[0] == '\0')
		return config_fail(error, size, "the runtime auth token (%s) is empty",
			    config->auth_token_file ? "--auth-token-file" : "KARTOGRAPH_RUNTIME_AUTH_TOKEN");
	return 0;
}

static int take_jwt_key(struct config *config, char *error, size_t size)
{
	if (config->jwt_key_file)
		return read_secret_file("--jwt-key-file", config->jwt_key_file, &config->jwt_key,
					&config->jwt_key_length, error, size);
	const char *value = getenv("KARTOGRAPH_WORKLOAD_TOKEN_SIGNING_KEY");
	if (!value)
		return 0;
	config->jwt_key_length = strlen(value);
	config->jwt_key = (unsigned char *)strdup(value);
	return config->jwt_key ? 0 : config_fail(error, size, "out of memory");
}

static int scrub_secret_variables(char *error, size_t size)
{
	for (;;) {
		char name[256] = "";
		for (char **entry = environ; entry && *entry; entry++) {
			const char *equals = strchr(*entry, '=');
			size_t length = equals ? (size_t)(equals - *entry) : strlen(*entry);
			if (is_secret_variable(*entry, length) && length < sizeof(name)) {
				memcpy(name, *entry, length);
				name[length] = '\0';
				break;
			}
		}
		if (!name[0])
			return 0;
		if (unsetenv(name) < 0)
			return config_fail(error, size, "cannot remove %s from the environment: %s", name,
				    strerror(errno));
	}
}

int config_take_secrets(struct config *config, char *error, size_t size)
{
	if (getenv("KARTOGRAPH_WORKLOAD_TOKEN"))
		return config_fail(error, size, "KARTOGRAPH_WORKLOAD_TOKEN is set in the environment: the workload "
					 "JWT travels per turn in the request body, never in an environment; unset it");
	int result = take_auth_token(config, error, size);
	if (result == 0)
		result = take_jwt_key(config, error, size);
	if (result == 0)
		result = scrub_secret_variables(error, size);
	return result;
}

void config_release(struct config *config)
{
	if (config->auth_token) {
		explicit_bzero(config->auth_token, strlen(config->auth_token));
		free(config->auth_token);
	}
	if (config->jwt_key) {
		explicit_bzero(config->jwt_key, config->jwt_key_length);
		free(config->jwt_key);
	}
	free(config->pass_env);
	free(config->pass_env_list);
	config->pass_env_list = NULL;
	config->auth_token = NULL;
	config->jwt_key = NULL;
	config->pass_env = NULL;
}
