/* Policy loading: the OpenShell sandbox policy (--policy) and the Kartograph
 * mode policies (--policy-dir/<mode>.yaml), read strictly with libyaml into
 * plain structures the plan compiler consumes.
 *
 * Every loader either fills *out completely and returns 0, or leaves *out
 * zeroed, returns -errno and puts one line in error->message naming the input,
 * the line and the field: "tests/policies/bad.yaml:7: filesystem_policy.read_write[2]:
 * path must be absolute: \"tmp\"".
 *   -EINVAL  bad content (syntax, schema, values)
 *   -EFBIG   input larger than POLICY_MAX_SIZE
 *   -ENOMEM  out of memory
 *   -ENOENT, -EACCES, -EISDIR, ...  the file could not be read */
#ifndef SANDBOX_INIT_LANDLOCK_POLICY_H
#define SANDBOX_INIT_LANDLOCK_POLICY_H

#include "landlock/landlock.h" /* enum enforcement, struct confinement_error */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A policy is a short hand-written file; anything bigger is a mistake or an attack. */
#define POLICY_MAX_SIZE (1024 * 1024)

/* OpenShell sandbox policy.  Paths are absolute and normalised: no "//", no
 * "." or ".." components, no trailing "/" except for "/" itself. */
struct sandbox_policy {
	/* Add the workspace to read_write.  OpenShell's rule: true when the file
	 * has no filesystem_policy, false when the section omits it. */
	bool include_workdir;
	char **read_only;
	size_t read_only_count;
	char **read_write;
	size_t read_write_count;
	enum enforcement compatibility;   /* landlock.compatibility; UNSET when absent */
	char *run_as_user, *run_as_group; /* name or decimal id; NULL: identity unchanged */
	uint16_t *connect_ports;          /* every endpoint port in network_policies, */
	size_t connect_port_count;        /* sorted ascending, each once */
};

/* "host:port:access" from a mode policy's endpoints list. */
struct mode_endpoint {
	char *host;   /* DNS name, may start with a "*" label ("*.github.com") */
	uint16_t port;
	char *access; /* "read-only", "read-write" or "full" (OpenShell's presets) */
};

/* Kartograph mode policy. */
struct mode_policy {
	char *name;                   /* NULL when absent */
	char *description;            /* NULL when absent */
	enum enforcement enforcement; /* "soft" is BEST_EFFORT; UNSET when absent */
	struct mode_endpoint *endpoints;
	size_t endpoint_count;
	char **l7_allowed_paths;      /* HTTP path globs, each starting with "/" */
	size_t l7_allowed_path_count;
};

/* name is the input's name used in error messages (a path, or "<inline>"). */
int policy_load_sandbox(const char *path, struct sandbox_policy *out,
			struct confinement_error *error);
int policy_parse_sandbox(const char *name, const char *text, size_t length,
			 struct sandbox_policy *out, struct confinement_error *error);
int policy_load_mode(const char *path, struct mode_policy *out, struct confinement_error *error);
int policy_parse_mode(const char *name, const char *text, size_t length, struct mode_policy *out,
		      struct confinement_error *error);

/* The built-in default, as OpenShell's: read-only /usr /lib /lib64 /bin /sbin
 * /etc /app /proc /dev/urandom; read-write /tmp /dev/null and the workspace
 * (already listed, so include_workdir is false); identity unchanged;
 * compatibility UNSET; no connect ports.  -EINVAL when workspace is NULL,
 * "/", or not an absolute path without "..". */
int policy_default_sandbox(const char *workspace, struct sandbox_policy *out);

/* Free everything and zero the structure; safe on a zeroed structure. */
void sandbox_policy_release(struct sandbox_policy *policy);
void mode_policy_release(struct mode_policy *policy);

#endif
