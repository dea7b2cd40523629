/* Compiles the rule table (seccomp_rules.c) into one BPF program with
 * libseccomp, before any fork, and loads it in children with a raw syscall. */
#include "landlock/seccomp.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "landlock/seccomp_rules.h"

/* Enough for the complement of a handful of values in 32 bits. */
#define MAX_COMPARISONS 128

struct comparison_list {
	struct scmp_arg_cmp items[MAX_COMPARISONS];
	unsigned int count;
};

__attribute__((format(printf, 3, 4)))
static int fail(struct confinement_error *error, int rc, const char *format, ...)
{
	va_list arguments;
	int used;

	if (!error)
		return rc;
	used = snprintf(error->message, sizeof(error->message), "seccomp: ");
	va_start(arguments, format);
	used += vsnprintf(error->message + used, sizeof(error->message) - (size_t)used, format,
			  arguments);
	va_end(arguments);
	if ((size_t)used < sizeof(error->message))
		snprintf(error->message + used, sizeof(error->message) - (size_t)used, ": %s",
			 strerror(-rc));
	return rc;
}

/* Every comparison is a masked equality on the lower half: libseccomp 2.5.4
 * has no masked "not equal", and a plain 64-bit comparison could be dodged
 * with garbage in the upper half, which the kernel drops from an int. */
static int push_comparison(struct comparison_list *list, unsigned int index, uint32_t mask,
			   uint32_t value)
{
	if (list->count == MAX_COMPARISONS)
		return -E2BIG;
	list->items[list->count++] = (struct scmp_arg_cmp){
		.arg = index, .op = SCMP_CMP_MASKED_EQ, .datum_a = mask, .datum_b = value,
	};
	return 0;
}

static bool lists_a_value_in(const struct argument_condition *condition, uint64_t first,
			    uint64_t end)
{
	for (unsigned int i = 0; i < condition->value_count; i++) {
		if (condition->values[i] >= first && condition->values[i] < end)
			return true;
	}
	return false;
}

static int push_any_of(struct comparison_list *list, const struct argument_condition *condition)
{
	for (unsigned int i = 0; i < condition->value_count; i++) {
		int rc = push_comparison(list, condition->index, condition->mask,
					 condition->values[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The largest aligned power-of-two block at start that stays inside the
 * field and holds no listed value: one masked comparison covers it. */
static uint64_t free_block_size(const struct argument_condition *condition, uint64_t start,
				uint64_t end)
{
	uint64_t size = 1;

	while (start % (size * 2) == 0 && start + size * 2 <= end &&
	       !lists_a_value_in(condition, start, start + size * 2))
		size *= 2;
	return size;
}

/* "None of" as the complement of the listed values, cut into aligned
 * blocks: a few dozen comparisons for a handful of values. */
static int push_none_of(struct comparison_list *list, const struct argument_condition *condition)
{
	uint64_t end = (uint64_t)condition->mask + 1;

	if ((condition->mask & end) != 0)
		return -EINVAL;
	for (uint64_t start = 0; start < end;) {
		if (lists_a_value_in(condition, start, start + 1)) {
			start++;
			continue;
		}
		uint64_t size = free_block_size(condition, start, end);
		int rc = push_comparison(list, condition->index,
					 condition->mask & ~(uint32_t)(size - 1), (uint32_t)start);
		if (rc < 0)
			return rc;
		start += size;
	}
	return 0;
}

static int push_any_bit(struct comparison_list *list, const struct argument_condition *condition)
{
	for (unsigned int bit = 0; bit < 32; bit++) {
		uint32_t flag = (uint32_t)1 << bit;

		if (condition->mask & flag) {
			int rc = push_comparison(list, condition->index, flag, flag);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/* The condition as alternatives: it holds when any one comparison does. */
static int expand_condition(const struct argument_condition *condition,
			    struct comparison_list *list)
{
	list->count = 0;
	for (unsigned int i = 0; i < condition->value_count; i++) {
		if (condition->values[i] & ~condition->mask)
			return -EINVAL;
	}
	switch (condition->match) {
	case MATCH_NOTHING:
		return 0;
	case MATCH_ANY_OF:
		return push_any_of(list, condition);
	case MATCH_NONE_OF:
		return push_none_of(list, condition);
	case MATCH_ANY_BIT:
		return push_any_bit(list, condition);
	}
	return -EINVAL;
}

static int add_comparisons(scmp_filter_ctx context, const struct seccomp_rule *rule, int number,
			   unsigned int count, const struct scmp_arg_cmp *comparisons)
{
	return seccomp_rule_add_exact_array(context, SCMP_ACT_ERRNO((uint32_t)rule->error), number,
					    count, comparisons);
}

/* Two conditions are ANDed: one libseccomp rule per pair of alternatives. */
static int add_rule_alternatives(scmp_filter_ctx context, const struct seccomp_rule *rule,
				 int number, const struct comparison_list *first,
				 const struct comparison_list *second)
{
	int rc = 0;

	if (first->count == 0)
		return add_comparisons(context, rule, number, 0, NULL);
	for (unsigned int i = 0; i < first->count && rc == 0; i++) {
		if (second->count == 0) {
			rc = add_comparisons(context, rule, number, 1, &first->items[i]);
			continue;
		}
		for (unsigned int j = 0; j < second->count && rc == 0; j++) {
			struct scmp_arg_cmp pair[2] = { first->items[i], second->items[j] };
			rc = add_comparisons(context, rule, number, 2, pair);
		}
	}
	return rc;
}

static int resolve_syscall(const struct seccomp_rule *rule)
{
	int number = seccomp_syscall_resolve_name(rule->syscall);

	if (number == __NR_SCMP_ERROR && rule->number_if_unknown > 0)
		number = rule->number_if_unknown;
	return number;
}

static int add_rule(scmp_filter_ctx context, const struct seccomp_rule *rule,
		    struct confinement_error *error)
{
	struct comparison_list first, second;
	int number = resolve_syscall(rule);
	int rc;

	if (number == __NR_SCMP_ERROR)
		return fail(error, -EINVAL, "libseccomp does not know the syscall %s",
			    rule->syscall);
	rc = expand_condition(&rule->when[0], &first);
	if (rc == 0)
		rc = expand_condition(&rule->when[1], &second);
	if (rc < 0)
		return fail(error, rc, "bad condition in the rule for %s", rule->syscall);
	rc = add_rule_alternatives(context, rule, number, &first, &second);
	if (rc < 0)
		return fail(error, rc, "libseccomp refused the rule for %s", rule->syscall);
	return 0;
}

static int configure_context(scmp_filter_ctx context, struct confinement_error *error)
{
	/* Another ABI (i386 through int 0x80, x32) numbers syscalls differently,
	 * so no rule below would match it: kill instead.  libseccomp sends x32
	 * numbers (nr & 0x40000000) on x86_64 to this action too. */
	int rc = seccomp_attr_set(context, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (rc < 0)
		return fail(error, rc, "setting the bad-architecture action to kill_process");
	/* A binary search over the syscall numbers keeps the path of every
	 * allowed call (nearly all of them) short. */
	rc = seccomp_attr_set(context, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (rc < 0)
		return fail(error, rc, "asking libseccomp for a binary-tree filter");
	return 0;
}

static int read_exported(int fd, struct sock_fprog *program, struct confinement_error *error)
{
	struct stat status;
	struct sock_filter *filter;
	size_t size, done = 0;

	if (fstat(fd, &status) < 0)
		return fail(error, -errno, "fstat of the exported program");
	size = (size_t)status.st_size;
	if (size == 0 || size % sizeof(*filter) != 0)
		return fail(error, -EINVAL, "exported program of %zu bytes", size);
	/* The kernel refuses longer programs; say so here, not in every child. */
	if (size / sizeof(*filter) > BPF_MAXINSNS)
		return fail(error, -E2BIG, "program of %zu instructions", size / sizeof(*filter));
	filter = malloc(size);
	if (!filter)
		return fail(error, -ENOMEM, "reading the exported program");
	while (done < size) {
		ssize_t got = pread(fd, (char *)filter + done, size - done, (off_t)done);
		if (got <= 0) {
			int rc = got < 0 ? -errno : -EIO;
			free(filter);
			return fail(error, rc, "reading the exported program");
		}
		done += (size_t)got;
	}
	program->filter = filter;
	program->len = (unsigned short)(size / sizeof(*filter));
	return 0;
}

/* libseccomp 2.5.4 exports only to a file descriptor: a memfd keeps the
 * program off any filesystem. */
static int export_program(scmp_filter_ctx context, struct sock_fprog *program,
			  struct confinement_error *error)
{
	int fd = memfd_create("sandbox-init-seccomp", MFD_CLOEXEC);
	int rc;

	if (fd < 0)
		return fail(error, -errno, "memfd_create for the exported program");
	rc = seccomp_export_bpf(context, fd);
	if (rc < 0)
		fail(error, rc, "seccomp_export_bpf");
	else
		rc = read_exported(fd, program, error);
	close(fd);
	return rc;
}

static int add_all_rules(scmp_filter_ctx context, struct confinement_error *error)
{
	for (size_t i = 0; i < seccomp_rule_count; i++) {
		int rc = add_rule(context, &seccomp_rules[i], error);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int seccomp_program_build(struct seccomp_program *out, struct confinement_error *error)
{
	scmp_filter_ctx context;
	int rc;

	*out = (struct seccomp_program){ 0 };
	context = seccomp_init(SCMP_ACT_ALLOW);
	if (!context)
		return fail(error, -ENOMEM, "seccomp_init");
	rc = configure_context(context, error);
	if (rc == 0)
		rc = add_all_rules(context, error);
	if (rc == 0)
		rc = export_program(context, &out->program, error);
	seccomp_release(context);
	return rc;
}

int seccomp_program_load(const struct seccomp_program *program)
{
	if (!program->program.filter || program->program.len == 0)
		return -EINVAL;
	/* Flags 0: no TSYNC, the child is single-threaded; no SPEC_ALLOW, so the
	 * kernel keeps its speculative store bypass mitigation for the workload. */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program->program) != 0)
		return -errno;
	return 0;
}

void seccomp_program_release(struct seccomp_program *program)
{
	free(program->program.filter);
	program->program.filter = NULL;
	program->program.len = 0;
}
