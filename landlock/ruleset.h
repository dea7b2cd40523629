/* The Landlock ruleset of a confinement plan: negotiated with the kernel and
 * built once, before any fork; a spawned child only enforces it.
 * Internal to landlock/ (and its tests). */
#ifndef SANDBOX_INIT_LANDLOCK_RULESET_H
#define SANDBOX_INIT_LANDLOCK_RULESET_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "landlock/landlock.h"

/* What the policy asks of Landlock.  Paths must be absolute. */
struct ruleset_spec {
	const char *const *read_only;  /* read and execute */
	size_t read_only_count;
	const char *const *read_write; /* read and write; execute only with allow_exec_writable */
	size_t read_write_count;
	bool allow_exec_writable;
	const uint16_t *connect_ports; /* the only TCP ports connect() may reach; bind is denied */
	size_t connect_port_count;
	enum enforcement enforcement;  /* UNSET is taken as best_effort, as OpenShell does */
	int max_abi;                   /* 0: as the kernel says; > 0 caps it; < 0: pretend no Landlock */
};

struct landlock_ruleset {
	int ruleset_fd;              /* O_CLOEXEC; -1 when Landlock is not enforced */
	int abi;                     /* the ABI the ruleset was built for */
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
	uint32_t restrict_flags;
	bool degraded;               /* best_effort left something asked for unenforced */
	json_t *receipt;             /* owned; the Landlock part of the enforcement receipt */
};

/* What a Landlock ABI lets us handle: the result of the negotiation. */
struct ruleset_features {
	uint64_t access_fs;
	uint64_t access_net;
	uint64_t scoped;
	uint32_t restrict_flags;
};

/* The kernel's Landlock ABI version, 0 when Landlock is unavailable. */
int landlock_abi_version(void);

/* Everything sandbox-init asks of Landlock, minus what ABI `abi` lacks
 * (all zero for abi <= 0). */
void ruleset_features_for_abi(int abi, struct ruleset_features *features);

/* Appends to `skipped` a {"what","why"} entry for each right or scope the
 * policy needs that `features` (negotiated for `abi`) lacks, and lists them
 * in `summary`.  Returns how many, or -ENOMEM. */
int ruleset_list_unenforceable(int abi, const struct ruleset_features *features, json_t *skipped,
			       char *summary, size_t size);

/* Returns 0; -EINVAL for a bad spec; -EPERM when hard_requirement cannot be
 * met (error names what and why); another -errno when a system call fails.
 * On failure *out holds nothing to release. */
int ruleset_build(const struct ruleset_spec *spec, struct landlock_ruleset *out,
		  struct confinement_error *error);

/* In a forked child, after no_new_privs: async-signal-safe, one raw system
 * call.  A ruleset without a fd (best_effort on a kernel without Landlock)
 * is a no-op.  Returns 0 or -errno. */
int ruleset_apply(const struct landlock_ruleset *ruleset);

void ruleset_release(struct landlock_ruleset *ruleset);

/* The receipt's names for rights and scopes: a JSON array of strings, or
 * NULL when out of memory. */
json_t *ruleset_access_fs_names(uint64_t access);
json_t *ruleset_access_net_names(uint64_t access);
json_t *ruleset_scope_names(uint64_t scoped);

#endif
