/* Policy files: reading them safely, the built-in default, releasing. */
#include "landlock/policy.h"
#include "landlock/policy_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int reject_file(const char *path, struct confinement_error *error, int ret,
		       const char *what)
{
	const char *description = strerrordesc_np(-ret);

	snprintf(error->message, sizeof(error->message), "%s: %s: %s", path, what,
		 description ? description : "unknown error");
	return ret;
}

/* O_NONBLOCK: a FIFO planted at the policy path must not hang start-up;
 * it is then refused as not a regular file. */
static int open_policy_file(const char *path, struct confinement_error *error)
{
	struct stat status;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return reject_file(path, error, -errno, "cannot open");
	if (fstat(fd, &status) < 0) {
		int ret = reject_file(path, error, -errno, "cannot stat");
		close(fd);
		return ret;
	}
	if (!S_ISREG(status.st_mode)) {
		close(fd);
		return reject_file(path, error, S_ISDIR(status.st_mode) ? -EISDIR : -EINVAL,
				   "not a regular file");
	}
	return fd;
}

/* Reads at most one byte past the limit, whatever the file claims its size
 * is: it may grow between fstat and read. */
static int read_policy_file(const char *path, char **text, size_t *length,
			    struct confinement_error *error)
{
	const struct policy_reader reader = { .name = path, .error = error };
	size_t used = 0;
	char *buffer = NULL;
	int fd, ret = 0;

	fd = open_policy_file(path, error);
	if (fd < 0)
		return fd;
	buffer = malloc(POLICY_MAX_SIZE + 1);
	if (!buffer) {
		ret = policy_out_of_memory(&reader);
		goto out;
	}
	while (used <= POLICY_MAX_SIZE) {
		ssize_t got = read(fd, buffer + used, POLICY_MAX_SIZE + 1 - used);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			ret = reject_file(path, error, -errno, "cannot read");
			goto out;
		}
		if (got == 0)
			break;
		used += (size_t)got;
	}
	if (used > POLICY_MAX_SIZE) {
		ret = policy_reject_too_large(&reader, used);
		goto out;
	}
	*text = buffer;
	*length = used;
	buffer = NULL;
out:
	free(buffer);
	close(fd);
	return ret;
}

int policy_load_sandbox(const char *path, struct sandbox_policy *out,
			struct confinement_error *error)
{
	char *text = NULL;
	size_t length = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = read_policy_file(path, &text, &length, error);
	if (ret == 0)
		ret = policy_parse_sandbox(path, text, length, out, error);
	free(text);
	return ret;
}

int policy_load_mode(const char *path, struct mode_policy *out, struct confinement_error *error)
{
	char *text = NULL;
	size_t length = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = read_policy_file(path, &text, &length, error);
	if (ret == 0)
		ret = policy_parse_mode(path, text, length, out, error);
	free(text);
	return ret;
}

static int copy_paths(const char *const *paths, size_t count, char ***copies,
		      size_t *copy_count)
{
	*copies = calloc(count, sizeof(**copies));
	if (!*copies)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		(*copies)[i] = strdup(paths[i]);
		if (!(*copies)[i])
			return -ENOMEM;
		*copy_count = i + 1;
	}
	return 0;
}

/* OpenShell's restrictive_default_policy() plus /lib64, /bin and /sbin,
 * which a Debian-based image needs to exec anything. */
int policy_default_sandbox(const char *workspace, struct sandbox_policy *out)
{
	static const char *const read_only[] = {
		"/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc", "/app", "/proc", "/dev/urandom",
	};
	const char *read_write[] = { "/tmp", "/dev/null", NULL };
	const char *reason;
	char *normal = NULL;
	struct sandbox_policy policy = { 0 };
	int ret;

	memset(out, 0, sizeof(*out));
	if (!workspace)
		return -EINVAL;
	ret = policy_normalise_path(workspace, strlen(workspace), &normal, &reason);
	if (ret < 0)
		return ret;
	/* A workspace of "/" would make the whole filesystem writable. */
	if (strcmp(normal, "/") == 0) {
		free(normal);
		return -EINVAL;
	}
	read_write[2] = normal;
	ret = copy_paths(read_only, sizeof(read_only) / sizeof(read_only[0]), &policy.read_only,
			 &policy.read_only_count);
	if (ret == 0)
		ret = copy_paths(read_write, sizeof(read_write) / sizeof(read_write[0]),
				 &policy.read_write, &policy.read_write_count);
	free(normal);
	if (ret == 0) {
		*out = policy;
		memset(&policy, 0, sizeof(policy));
	}
	sandbox_policy_release(&policy);
	return ret;
}

static void free_strings(char **strings, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(strings[i]);
	free(strings);
}

void sandbox_policy_release(struct sandbox_policy *policy)
{
	free_strings(policy->read_only, policy->read_only_count);
	free_strings(policy->read_write, policy->read_write_count);
	free(policy->run_as_user);
	free(policy->run_as_group);
	free(policy->connect_ports);
	memset(policy, 0, sizeof(*policy));
}

void mode_policy_release(struct mode_policy *policy)
{
	for (size_t i = 0; i < policy->endpoint_count; i++) {
		free(policy->endpoints[i].host);
		free(policy->endpoints[i].access);
	}
	free(policy->endpoints);
	free_strings(policy->l7_allowed_paths, policy->l7_allowed_path_count);
	free(policy->name);
	free(policy->description);
	memset(policy, 0, sizeof(*policy));
}
