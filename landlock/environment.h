/* The environment of a confined child: an allow-list (contract, section 3),
 * built once before fork.  Secrets never pass, whatever the patterns say.
 *
 * Internal to landlock/: the plan compiler and its tests include this header. */
#ifndef SANDBOX_INIT_LANDLOCK_ENVIRONMENT_H
#define SANDBOX_INIT_LANDLOCK_ENVIRONMENT_H

#include "landlock/landlock.h"

#include <stdbool.h>

/* Used when the supervisor's environment has no PATH. */
#define ENVIRONMENT_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct environment_plan {
	char **envp;     /* NULL-terminated "NAME=value" copies, for execve */
	/* {"passed":["PATH","HOME",...],"dropped":3,"path":"inherited"|"default"}:
	 * names only, never a value. */
	json_t *receipt;
};

/* supervisor_environment: NULL-terminated "NAME=value" entries (NULL for none).
 * pass_patterns: extra fnmatch(3) patterns on names (--pass-env), NULL-terminated,
 * may be NULL.  The first of several entries with one name wins, as getenv(3)
 * would have it.  Returns 0, -EINVAL for an empty pattern or one containing
 * '=' (error names it), or -ENOMEM. */
int environment_build(const char *const *supervisor_environment,
		      const char *const *pass_patterns, struct environment_plan *out,
		      struct confinement_error *error);
void environment_release(struct environment_plan *plan);

/* The supervisor's own secrets, to read once and then remove from its
 * environment: the runtime token, the workload token, any signing key
 * (compared ignoring case). */
bool environment_is_secret(const char *name);

#endif
