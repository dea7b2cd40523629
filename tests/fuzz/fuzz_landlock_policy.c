/* Feeds arbitrary bytes to both policy parsers.  Beyond memory safety (ASan,
 * UBSan) it checks the loader's promises, aborting when one is broken:
 * failure leaves the output zeroed with a message naming the input; success
 * yields normalised absolute paths, sorted unique ports in 1..65535, and
 * endpoints in the form the plan compiler relies on. */
#include "landlock/policy.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool condition)
{
	if (!condition)
		abort();
}

static bool is_zeroed(const void *data, size_t size)
{
	const unsigned char *bytes = data;

	for (size_t i = 0; i < size; i++)
		if (bytes[i])
			return false;
	return true;
}

static void check_failure(int ret, const void *out, size_t size,
			  const struct confinement_error *error)
{
	check(ret == -EINVAL || ret == -ENOMEM || ret == -EFBIG);
	check(is_zeroed(out, size));
	check(strncmp(error->message, "fuzz:", 5) == 0);
	check(memchr(error->message, '\0', sizeof(error->message)) != NULL);
}

static void check_normal_path(const char *path)
{
	size_t length = strlen(path);

	check(path[0] == '/');
	check(length == 1 || path[length - 1] != '/');
	check(!strstr(path, "//"));
	check(!strstr(path, "/./") && !strstr(path, "/../"));
	check(length < 2 || strcmp(path + length - 2, "/.") != 0);
	check(length < 3 || strcmp(path + length - 3, "/..") != 0);
}

static void check_sandbox(const struct sandbox_policy *policy)
{
	for (size_t i = 0; i < policy->read_only_count; i++)
		check_normal_path(policy->read_only[i]);
	for (size_t i = 0; i < policy->read_write_count; i++) {
		check_normal_path(policy->read_write[i]);
		check(strcmp(policy->read_write[i], "/") != 0);
	}
	for (size_t i = 0; i < policy->connect_port_count; i++) {
		check(policy->connect_ports[i] >= 1);
		check(i == 0 || policy->connect_ports[i - 1] < policy->connect_ports[i]);
	}
	check(!policy->run_as_user || policy->run_as_user[0]);
	check(!policy->run_as_group || policy->run_as_group[0]);
}

static void check_mode(const struct mode_policy *policy)
{
	for (size_t i = 0; i < policy->endpoint_count; i++) {
		check(policy->endpoints[i].host[0] != '\0');
		check(!strchr(policy->endpoints[i].host, ':'));
		check(policy->endpoints[i].port >= 1);
		check(policy->endpoints[i].access[0] != '\0');
	}
	for (size_t i = 0; i < policy->l7_allowed_path_count; i++)
		check(policy->l7_allowed_paths[i][0] == '/');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct confinement_error error;
	struct sandbox_policy sandbox;
	struct mode_policy mode;
	const char *text = (const char *)data;
	int ret;

	memset(&error, 0, sizeof(error));
	ret = policy_parse_sandbox("fuzz", text, size, &sandbox, &error);
	if (ret == 0)
		check_sandbox(&sandbox);
	else
		check_failure(ret, &sandbox, sizeof(sandbox), &error);
	sandbox_policy_release(&sandbox);

	memset(&error, 0, sizeof(error));
	ret = policy_parse_mode("fuzz", text, size, &mode, &error);
	if (ret == 0)
		check_mode(&mode);
	else
		check_failure(ret, &mode, sizeof(mode), &error);
	mode_policy_release(&mode);
	return 0;
}
