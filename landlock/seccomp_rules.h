/* The seccomp rule table as data, shared by the compiler and the describer
 * in seccomp.c.  Private to landlock/seccomp*.c and their tests. */
#ifndef SANDBOX_INIT_LANDLOCK_SECCOMP_RULES_H
#define SANDBOX_INIT_LANDLOCK_SECCOMP_RULES_H

#include <stddef.h>
#include <stdint.h>

enum argument_match {
	MATCH_NOTHING = 0,	/* unused slot: no condition */
	MATCH_ANY_OF,		/* (argument & mask) is one of values */
	MATCH_NONE_OF,		/* (argument & mask) is none of values; mask is 2^n - 1 */
	MATCH_ANY_BIT,		/* argument has at least one bit of mask set */
};

/* Only the lower 32 bits of an argument are ever compared. */
struct argument_condition {
	unsigned int index;
	enum argument_match match;
	uint32_t mask;
	uint32_t values[6];
	unsigned int value_count;
};

/* The call fails with error when every condition in when holds (a rule
 * without conditions always applies). */
struct seccomp_rule {
	const char *syscall;
	int number_if_unknown;	/* for syscalls newer than libseccomp; 0: none */
	int error;
	struct argument_condition when[2];
	const char *why;
};

extern const struct seccomp_rule seccomp_rules[];
extern const size_t seccomp_rule_count;

/* Decisions to leave a call allowed, with only syscall and why set. */
extern const struct seccomp_rule seccomp_allowed_on_purpose[];
extern const size_t seccomp_allowed_on_purpose_count;

#endif
