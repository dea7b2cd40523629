/* The seccomp layer of the confinement plan: one BPF program, built from a
 * table of rules at start-up and loaded unchanged into every child.
 *
 * Internal to landlock/ (the plan and its tests include it); the rest of
 * sandbox-init sees seccomp only through landlock/landlock.h. */
#ifndef SANDBOX_INIT_LANDLOCK_SECCOMP_H
#define SANDBOX_INIT_LANDLOCK_SECCOMP_H

#include <jansson.h>
#include <linux/filter.h>

#include "landlock/landlock.h"

/* The exported program.  program.filter is heap memory owned by this struct;
 * it never changes after seccomp_program_build(), so children forked at any
 * time may load it. */
struct seccomp_program {
	struct sock_fprog program;
};

/* Before any fork: compiles the rule table with libseccomp, exports the BPF
 * into memory and releases libseccomp's context.  Returns 0, -ENOMEM, -E2BIG
 * when the program exceeds the kernel's instruction limit, or the -errno
 * libseccomp or the kernel gave; error names the step and the syscall. */
int seccomp_program_build(struct seccomp_program *out, struct confinement_error *error);

/* In a forked child, after no_new_privs: installs the program on top of any
 * filter already in force.  One raw syscall, no allocation, so it is
 * async-signal-safe.  Returns 0 or -errno (-EINVAL when never built). */
int seccomp_program_load(const struct seccomp_program *program);

/* Frees the program; safe to call twice and on a zeroed struct. */
void seccomp_program_release(struct seccomp_program *program);

/* The profile for the enforcement receipt, a new reference (NULL when out of
 * memory), built from the same table as the filter:
 * {"profile":"sandbox-init-default", "default_action":"allow",
 *  "kill_process":[...], "instructions":N,
 *  "denied":[{"syscall":"ptrace","errno":"EPERM","why":"..."}, ...],
 *  "conditional":[{"syscall":"socket","errno":"EPERM","when":[...],"why":"..."}, ...],
 *  "allowed_on_purpose":[{"syscall":"name_to_handle_at","why":"..."}, ...]} */
json_t *seccomp_program_describe(const struct seccomp_program *program);

#endif
