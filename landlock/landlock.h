/* Confinement: the policies are loaded and compiled once, before any fork, into
 * an immutable plan; each spawned child only applies it.
 *
 * This header is the whole interface of landlock/: nothing else in the folder
 * is included from outside it. */
#ifndef SANDBOX_INIT_LANDLOCK_H
#define SANDBOX_INIT_LANDLOCK_H

#include <jansson.h>
#include <stdbool.h>

enum enforcement {
	ENFORCEMENT_UNSET = 0,
	ENFORCEMENT_BEST_EFFORT,       /* "best_effort", alias "soft" */
	ENFORCEMENT_HARD_REQUIREMENT,  /* "hard_requirement" */
};

/* One line naming the input (file:line: field) and what is wrong with it. */
struct confinement_error {
	char message[512];
};

struct confinement_inputs {
	const char *sandbox_policy_path; /* OpenShell policy; NULL: the built-in default */
	const char *mode_policy_path;    /* Kartograph mode policy; NULL: no TCP connect but the proxy */
	const char *workspace;           /* read-write in the default policy and with include_workdir */
	const char *state_dir;           /* sandbox-init's own state; kept out of every child's reach */
	enum enforcement enforcement;    /* UNSET: as the policies say */
	bool allow_exec_writable;
	const char *const *pass_env;     /* extra environment allow-list patterns, NULL-terminated */
	const char *const *environment;  /* the supervisor's environment, secrets already removed */
};

struct confinement_plan;

/* Returns 0, -EINVAL for a bad input, -EPERM when hard_requirement cannot be
 * met on this kernel; error says which and why. */
int plan_compile(const struct confinement_inputs *inputs, struct confinement_plan **plan,
		 struct confinement_error *error);
void plan_free(struct confinement_plan *plan);

/* The enforcement receipt (contract section 4); a new reference. */
json_t *plan_receipt(const struct confinement_plan *plan);

/* True when best_effort left something the policy asked for unenforced. */
bool plan_degraded(const struct confinement_plan *plan);

/* The child's whole environment (the allow-list applied), for execve. */
char *const *plan_environment(const struct confinement_plan *plan);

/* In a freshly forked, single-threaded child only: async-signal-safe, raw
 * syscalls, no allocation.  Applies rlimits, identity, capabilities,
 * no_new_privs, Landlock and seccomp, in that order.  On failure returns
 * -errno and names the step in *failed_step (a static string). */
int plan_apply(const struct confinement_plan *plan, const char **failed_step);

#endif
