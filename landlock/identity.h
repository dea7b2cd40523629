/* Identity, capabilities, rlimits and no_new_privs of a confined child.
 *
 * identity_plan_build() runs before fork: it resolves names, decides what this
 * process is allowed to change and fixes every value.  The identity_apply_*
 * steps run in the forked child, in the order they are declared here, and use
 * raw syscalls only (glibc's setresuid() and friends signal every thread to keep
 * their credentials in sync, which is not async-signal-safe).
 *
 * Internal to landlock/: the plan compiler and its tests include this header. */
#ifndef SANDBOX_INIT_LANDLOCK_IDENTITY_H
#define SANDBOX_INIT_LANDLOCK_IDENTITY_H

#include "landlock/landlock.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

#define IDENTITY_MAX_GROUPS 64

struct identity_plan {
	/* setgroups/setresgid/setresuid to the ids below; false when no identity
	 * was asked for, when the one asked for is already ours, or when it had to
	 * be skipped (unprivileged, best_effort). */
	bool change_identity;
	/* The ids the workload runs with, changed or not (for the receipt and the
	 * checks after the switch). */
	uid_t uid;
	gid_t gid;
	gid_t groups[IDENTITY_MAX_GROUPS];
	size_t group_count;

	bool privileged;              /* CAP_SETUID and CAP_SETGID are effective */
	bool drop_bounding_set;       /* CAP_SETPCAP is effective: empty the bounding set */
	bool keep_capabilities;       /* keep CAP_SETPCAP across setresuid for the drop after it */
	bool set_securebits;
	unsigned long securebits;     /* the value for PR_SET_SECUREBITS */
	int last_capability;          /* the kernel's CAP_LAST_CAP */

	struct rlimit core, nofile, nproc;

	bool degraded;                /* best_effort left something unenforced */
	/* {"uid":65534,"gid":65534,"groups":[65534],"identity":"changed"|"unchanged",
	 *  "privileged":true,
	 *  "capabilities":{"effective":[],"permitted":[],"inheritable":[],"ambient":[],
	 *                  "bounding":"emptied"|"unchanged (unprivileged)"|...},
	 *  "no_new_privs":true,"securebits":["noroot",...],
	 *  "rlimits":{"core":[0,0],"nofile":[4096,4096],"nproc":[4096,4096]},
	 *  "skipped":[{"what":"...","why":"..."}]} */
	json_t *receipt;
};

/* run_as_user / run_as_group: a name or a numeric id, NULL for "as we are".
 * A user without a group runs with the user's primary group and supplementary
 * groups.  ENFORCEMENT_UNSET is taken as best_effort.
 * Returns 0; -EINVAL for an unknown name or a bad id; -E2BIG for more than
 * IDENTITY_MAX_GROUPS groups; -EPERM under hard_requirement when this process
 * may not take the identity asked for; -ENOMEM.  error says which and why. */
int identity_plan_build(const char *run_as_user, const char *run_as_group,
			enum enforcement enforcement, struct identity_plan *out,
			struct confinement_error *error);
void identity_plan_release(struct identity_plan *plan);

/* Child only, in this order; each returns 0 or -errno. */
int identity_apply_rlimits(const struct identity_plan *plan);
/* setgroups, setresgid, setresuid, then checks the kernel holds exactly those
 * ids (-ENOTRECOVERABLE when it does not).  A no-op when !change_identity. */
int identity_apply_user(const struct identity_plan *plan);
/* Locks the securebits, empties the bounding set (when privileged), clears the
 * ambient set and empties effective/permitted/inheritable, then checks they are
 * empty and, for a non-root uid, that setuid(0) fails (-ENOTRECOVERABLE if not). */
int identity_drop_capabilities(const struct identity_plan *plan);
int identity_set_no_new_privs(void);

#endif
