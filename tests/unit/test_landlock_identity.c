/* Identity, capabilities, rlimits and no_new_privs, in the kernel: each case
 * forks a child that applies a plan and reports what the kernel then says
 * about it (getres[ug]id, getgroups, /proc/self/status, getrlimit, prctl). */
#include "landlock/identity.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define NOBODY 65534
#define OTHER_ID 65533
#define NO_ACCOUNT_ID 4000000

/* What a child saw; written to the parent through a pipe. */
struct observation {
	int build_rc;
	bool degraded;
	bool change_identity;
	char message[512];
	char receipt[4096];
	int step_rc[4];
	uid_t uid[3];
	gid_t gid[3];
	int group_count;
	gid_t groups[IDENTITY_MAX_GROUPS];
	uint64_t cap_effective, cap_permitted, cap_inheritable, cap_bounding, cap_ambient;
	int no_new_privs;
	int securebits;
	int clear_securebits_errno;
	struct rlimit core, nofile, nproc;
	int raise_nofile_errno;
	int lower_nofile_errno;
	int open_errno;
	int setuid_root_errno;
};

struct scenario {
	const char *user;
	const char *group;
	enum enforcement enforcement;
	uid_t drop_to_first;     /* 0: stay root; else become this uid/gid before building */
	bool build_in_parent;
	const struct identity_plan *plan;
	bool apply;
	bool only_apply_user;
	rlim_t nofile_hard_first; /* 0: leave the inherited limit */
	bool drop_setpcap_first;  /* as Kubernetes' "capabilities: drop: [SETPCAP]" */
	unsigned long securebits_first; /* a parent's locks, set before building */
	const char *open_path;    /* a file to open after the steps, NULL for none */
};

static uint64_t status_hex(const char *status, const char *field)
{
	const char *line = strstr(status, field);

	return line ? strtoull(line + strlen(field), NULL, 16) : UINT64_MAX;
}

static void observe_status(struct observation *seen)
{
	char status[8192] = "";
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		ssize_t length = read(fd, status, sizeof(status) - 1);
		status[length > 0 ? length : 0] = '\0';
		close(fd);
	}
	seen->cap_inheritable = status_hex(status, "\nCapInh:");
	seen->cap_permitted = status_hex(status, "\nCapPrm:");
	seen->cap_effective = status_hex(status, "\nCapEff:");
	seen->cap_bounding = status_hex(status, "\nCapBnd:");
	seen->cap_ambient = status_hex(status, "\nCapAmb:");
	seen->no_new_privs = (int)status_hex(status, "\nNoNewPrivs:");
}

static bool is_root_with_capabilities(void)
{
	const uint64_t needed = (1ULL << CAP_SETUID) | (1ULL << CAP_SETGID) |
				(1ULL << CAP_SETPCAP) | (1ULL << CAP_DAC_OVERRIDE);
	struct observation self;

	observe_status(&self);
	return geteuid() == 0 && (self.cap_effective & needed) == needed;
}

#define REQUIRE_ROOT()                                                                   \
	do {                                                                             \
		if (!is_root_with_capabilities()) {                                      \
			print_message("skipped: needs root with CAP_SETUID, CAP_SETGID, " \
				      "CAP_SETPCAP and CAP_DAC_OVERRIDE\n");             \
			skip();                                                          \
		}                                                                        \
	} while (0)

static int errno_of(long rc)
{
	return rc < 0 ? errno : 0;
}

static void observe_limits(struct observation *seen)
{
	getrlimit(RLIMIT_CORE, &seen->core);
	getrlimit(RLIMIT_NOFILE, &seen->nofile);
	getrlimit(RLIMIT_NPROC, &seen->nproc);
	struct rlimit higher = { seen->nofile.rlim_max + 1, seen->nofile.rlim_max + 1 };
	seen->raise_nofile_errno = errno_of(prlimit(0, RLIMIT_NOFILE, &higher, NULL));
	struct rlimit lower = { seen->nofile.rlim_max / 2, seen->nofile.rlim_max / 2 };
	seen->lower_nofile_errno = errno_of(prlimit(0, RLIMIT_NOFILE, &lower, NULL));
}

/* Everything the kernel says about this process, the setuid(0) attempt last
 * since it changes the process when it works. */
static void observe(const struct scenario *scenario, struct observation *seen)
{
	syscall(SYS_getresuid, &seen->uid[0], &seen->uid[1], &seen->uid[2]);
	syscall(SYS_getresgid, &seen->gid[0], &seen->gid[1], &seen->gid[2]);
	seen->group_count = getgroups(IDENTITY_MAX_GROUPS, seen->groups);
	observe_status(seen);
	seen->securebits = prctl(PR_GET_SECUREBITS);
	seen->clear_securebits_errno = errno_of(prctl(PR_SET_SECUREBITS, 0UL));
	observe_limits(seen);
	if (scenario->open_path) {
		int fd = open(scenario->open_path, O_RDONLY | O_CLOEXEC);
		seen->open_errno = errno_of(fd);
		if (fd >= 0)
			close(fd);
	}
	seen->setuid_root_errno = errno_of(syscall(SYS_setuid, 0));
}

static void drop_to(uid_t id)
{
	gid_t group = id;

	if (syscall(SYS_setgroups, 1, &group) < 0 || syscall(SYS_setresgid, id, id, id) < 0 ||
	    syscall(SYS_setresuid, id, id, id) < 0)
		_exit(3);
}

static void drop_setpcap(void)
{
	struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (prctl(PR_CAPBSET_DROP, CAP_SETPCAP) < 0 || syscall(SYS_capget, &header, data) < 0)
		_exit(5);
	data[0].effective &= ~(1U << CAP_SETPCAP);
	data[0].permitted &= ~(1U << CAP_SETPCAP);
	if (syscall(SYS_capset, &header, data) < 0)
		_exit(5);
}

static void apply(const struct scenario *scenario, const struct identity_plan *plan,
		  struct observation *seen)
{
	seen->step_rc[0] = scenario->only_apply_user ? 0 : identity_apply_rlimits(plan);
	seen->step_rc[1] = identity_apply_user(plan);
	if (scenario->only_apply_user)
		return;
	seen->step_rc[2] = identity_drop_capabilities(plan);
	seen->step_rc[3] = identity_set_no_new_privs();
}

static void run_scenario(const struct scenario *scenario, struct observation *seen)
{
	struct confinement_error error = { "" };
	struct identity_plan built;
	const struct identity_plan *plan = scenario->plan;

	if (scenario->nofile_hard_first) {
		struct rlimit limit = { scenario->nofile_hard_first, scenario->nofile_hard_first };
		setrlimit(RLIMIT_NOFILE, &limit);
	}
	if (scenario->securebits_first && prctl(PR_SET_SECUREBITS, scenario->securebits_first) < 0)
		_exit(6);
	if (scenario->drop_setpcap_first)
		drop_setpcap();
	if (scenario->drop_to_first)
		drop_to(scenario->drop_to_first);
	if (!plan) {
		seen->build_rc = identity_plan_build(scenario->user, scenario->group,
						     scenario->enforcement, &built, &error);
		snprintf(seen->message, sizeof(seen->message), "%s", error.message);
		if (seen->build_rc < 0)
			return;
		char *text = json_dumps(built.receipt, JSON_COMPACT);
		snprintf(seen->receipt, sizeof(seen->receipt), "%s", text ? text : "");
		free(text);
		seen->degraded = built.degraded;
		seen->change_identity = built.change_identity;
		plan = &built;
	}
	if (scenario->apply)
		apply(scenario, plan, seen);
	observe(scenario, seen);
	if (plan == &built)
		identity_plan_release(&built);
}

static void run_in_child(const struct scenario *scenario, struct observation *seen)
{
	int pipe_fds[2];
	int status = 0;

	memset(seen, 0, sizeof(*seen));
	assert_int_equal(pipe2(pipe_fds, O_CLOEXEC), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct observation mine;
		memset(&mine, 0, sizeof(mine));
		close(pipe_fds[0]);
		run_scenario(scenario, &mine);
		_exit(write(pipe_fds[1], &mine, sizeof(mine)) == sizeof(mine) ? 0 : 4);
	}
	close(pipe_fds[1]);
	ssize_t got = read(pipe_fds[0], seen, sizeof(*seen));
	close(pipe_fds[0]);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(got, sizeof(*seen));
}

static void assert_all_steps_succeeded(const struct observation *seen)
{
	for (int i = 0; i < 4; i++)
		assert_int_equal(seen->step_rc[i], 0);
}

static void build_plan(const char *user, const char *group, struct identity_plan *plan)
{
	struct confinement_error error = { "" };
	int rc = identity_plan_build(user, group, ENFORCEMENT_HARD_REQUIREMENT, plan, &error);

	if (rc != 0)
		print_message("identity_plan_build: %s\n", error.message);
	assert_int_equal(rc, 0);
}

static void run_plan_for(const char *user, const char *group, struct observation *seen)
{
	struct identity_plan plan;

	build_plan(user, group, &plan);
	struct scenario scenario = { .plan = &plan, .apply = true };
	run_in_child(&scenario, seen);
	identity_plan_release(&plan);
	assert_all_steps_succeeded(seen);
}

static void test_nobody_plan_sets_every_uid_gid_and_only_nobodys_groups(void **state)
{
	struct observation seen;

	(void)state;
	REQUIRE_ROOT();
	run_plan_for("nobody", NULL, &seen);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(seen.uid[i], NOBODY);
		assert_int_equal(seen.gid[i], NOBODY);
	}
	assert_int_equal(seen.group_count, 1);
	assert_int_equal(seen.groups[0], NOBODY);
}

static void test_setuid_zero_fails_with_eperm_after_switching_to_nobody(void **state)
{
	struct observation seen;

	(void)state;
	REQUIRE_ROOT();
	run_plan_for("nobody", "nogroup", &seen);
	assert_int_equal(seen.setuid_root_errno, EPERM);
}

static void test_setuid_zero_succeeds_in_a_root_child_without_the_plan(void **state)
{
	struct scenario scenario = { .apply = false, .user = "nobody" };
	struct observation seen;

	(void)state;
	REQUIRE_ROOT();
	run_in_child(&scenario, &seen);
	assert_int_equal(seen.build_rc, 0);
	assert_int_equal(seen.setuid_root_errno, 0);
}

static void test_every_capability_set_is_empty_after_the_drop(void **state)
{
	struct observation seen;

	(void)state;
	REQUIRE_ROOT();
	run_plan_for("nobody", NULL, &seen);
	assert_int_equal(seen.cap_effective, 0);
	assert_int_equal(seen.cap_permitted, 0);
	assert_int_equal(seen.cap_inheritable, 0);
	assert_int_equal(seen.cap_bounding, 0);
	assert_int_equal(seen.cap_ambient, 0);
}

static void test_capability_sets_are_full_in_a_root_child_without_the_plan(void **state)
{
	struct scenario scenario = { .apply = false };
	struct observation seen;

	(void)state;
	REQUIRE_ROOT();
	run_in_child(&scenario, &seen);
	assert_true(seen.cap_effective & (1ULL << CAP_SETUID));
	assert_true(seen.cap_bounding & (1ULL << CAP_SETPCAP));
}

/* A file only its owner may read: root reads it through CAP_DAC_OVERRIDE. */
#define PRIVATE_FILE_TEMPLATE "/tmp/si-identity-XXXXXX"

static void make_private_file(char path[sizeof(PRIVATE_FILE_TEMPLATE)])
{
	memcpy(path, PRIVATE_FILE_TEMPLATE, sizeof(PRIVATE_FILE_TEMPLATE));
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(fchown(fd, NOBODY, NOBODY), 0);
	assert_int_equal(fchmod(fd, 0600), 0);
	close(fd);
}

static void test_root_without_capabilities_cannot_open_another_users_file_eacces(void **state)
{
	struct identity_plan plan;
	struct observation seen;

	(void)state;
	REQUIRE_ROOT();
	char path[sizeof(PRIVATE_FILE_TEMPLATE)];

	make_private_file(path);
	build_plan(NULL, NULL, &plan);
	struct scenario scenario = { .plan = &plan, .apply = true, .open_path = path };
	run_in_child(&scenario, &seen);
	identity_plan_release(&plan);
	unlink(path);
	assert_all_steps_succeeded(&seen);
	assert_int_equal(seen.uid[1], 0);
	assert_int_equal(seen.cap_effective, 0);
	assert_int_equal(seen.open_errno, EACCES);
}

static void test_root_with_capabilities_opens_another_users_file(void **state)
{
	struct observation seen;

	(void)state;
	REQUIRE_ROOT();
	char path[sizeof(PRIVATE_FILE_TEMPLATE)];

	make_private_file(path);
	struct scenario scenario = { .apply = false, .open_path = path };
	run_in_child(&scenario, &seen);
	unlink(path);
	assert_int_equal(seen.open_errno, 0);
}

static void test_securebits_are_locked_so_the_workload_cannot_clear_them_eperm(void **state)
{
	const int expected = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
			     SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
			     SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
	struct observation seen;

	(void)state;
	REQUIRE_ROOT();
	run_plan_for(NULL, NULL, &seen);
	assert_int_equal(seen.securebits, expected);
	assert_int_equal(seen.clear_securebits_errno, EPERM);
}

static void test_securebits_can_be_changed_in_a_root_child_without_the_plan(void **state)
{
	struct scenario scenario = { .apply = false };
	struct observation seen;

	(void)state;
	REQUIRE_ROOT();
	run_in_child(&scenario, &seen);
	assert_int_equal(seen.securebits, 0);
	assert_int_equal(seen.clear_securebits_errno, 0);
}

static void test_no_new_privs_is_set_by_the_last_step(void **state)
{
	struct scenario scenario = { .apply = false };
	struct observation seen;

	(void)state;
	REQUIRE_ROOT();
	run_in_child(&scenario, &seen);
	assert_int_equal(seen.no_new_privs, 0);
	run_plan_for("nobody", NULL, &seen);
	assert_int_equal(seen.no_new_privs, 1);
}

static void assert_limit(const struct rlimit *limit, rlim_t soft, rlim_t hard)
{
	assert_int_equal(limit->rlim_cur, soft);
	assert_int_equal(limit->rlim_max, hard);
}

static void test_rlimits_are_core_zero_and_nofile_nproc_4096(void **state)
{
	struct observation seen;

	(void)state;
	REQUIRE_ROOT();
	struct rlimit nofile, nproc;
	getrlimit(RLIMIT_NOFILE, &nofile);
	getrlimit(RLIMIT_NPROC, &nproc);
	if (nofile.rlim_max < 4096 || nproc.rlim_max < 4096) {
		print_message("skipped: this shell's hard limits are below 4096\n");
		skip();
	}
	run_plan_for("nobody", NULL, &seen);
	assert_limit(&seen.core, 0, 0);
	assert_limit(&seen.nofile, 4096, 4096);
	assert_limit(&seen.nproc, 4096, 4096);
	/* Without CAP_SYS_RESOURCE the workload can lower its limits, not raise them. */
	assert_int_equal(seen.raise_nofile_errno, EPERM);
	assert_int_equal(seen.lower_nofile_errno, 0);
}

static void test_rlimits_never_exceed_the_inherited_hard_limit(void **state)
{
	struct scenario scenario = { .user = "nobody", .enforcement = ENFORCEMENT_HARD_REQUIREMENT,
				     .apply = true, .nofile_hard_first = 1000 };
	struct observation seen;

	(void)state;
	REQUIRE_ROOT();
	run_in_child(&scenario, &seen);
	assert_int_equal(seen.build_rc, 0);
	assert_all_steps_succeeded(&seen);
	assert_limit(&seen.nofile, 1000, 1000);
	assert_non_null(strstr(seen.receipt, "\"nofile\":[1000,1000]"));
}

static void assert_same_identity(const struct identity_plan *a, const struct identity_plan *b)
{
	assert_int_equal(a->uid, b->uid);
	assert_int_equal(a->gid, b->gid);
	assert_int_equal(a->group_count, b->group_count);
	assert_memory_equal(a->groups, b->groups, a->group_count * sizeof(gid_t));
}

static void test_numeric_ids_resolve_like_names(void **state)
{
	struct identity_plan by_name, by_number;

	(void)state;
	REQUIRE_ROOT();
	build_plan("nobody", "nogroup", &by_name);
	build_plan("65534", "65534", &by_number);
	assert_int_equal(by_name.uid, NOBODY);
	assert_int_equal(by_name.gid, NOBODY);
	assert_true(by_name.change_identity);
	assert_same_identity(&by_name, &by_number);
	identity_plan_release(&by_name);
	identity_plan_release(&by_number);
}

/* A user listed as a member of a group other than its primary one. */
static bool find_user_with_supplementary_group(char *name, size_t size, gid_t *primary,
					       gid_t *supplementary)
{
	struct group *group;
	bool found = false;

	setgrent();
	while (!found && (group = getgrent()) != NULL) {
		for (char **member = group->gr_mem; !found && *member; member++) {
			struct passwd *user = getpwnam(*member);
			if (!user || user->pw_gid == group->gr_gid)
				continue;
			snprintf(name, size, "%s", *member);
			*primary = user->pw_gid;
			*supplementary = group->gr_gid;
			found = true;
		}
	}
	endgrent();
	return found;
}

static bool holds(const gid_t *groups, int count, gid_t gid)
{
	for (int i = 0; i < count; i++) {
		if (groups[i] == gid)
			return true;
	}
	return false;
}

static void test_user_alone_gets_primary_and_supplementary_groups(void **state)
{
	char name[256];
	gid_t primary = 0, supplementary = 0;
	struct observation seen;

	(void)state;
	REQUIRE_ROOT();
	if (!find_user_with_supplementary_group(name, sizeof(name), &primary, &supplementary)) {
		print_message("skipped: no user in /etc/group has a supplementary group\n");
		skip();
	}
	run_plan_for(name, NULL, &seen);
	assert_int_equal(seen.gid[0], primary);
	assert_int_equal(seen.group_count, 2);
	assert_true(holds(seen.groups, seen.group_count, primary));
	assert_true(holds(seen.groups, seen.group_count, supplementary));
}

static void test_group_alone_changes_the_gid_and_keeps_the_uid(void **state)
{
	struct observation seen;

	(void)state;
	REQUIRE_ROOT();
	run_plan_for(NULL, "nogroup", &seen);
	assert_int_equal(seen.uid[0], 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(seen.gid[i], NOBODY);
	assert_int_equal(seen.group_count, 1);
	assert_int_equal(seen.groups[0], NOBODY);
}

static void assert_build_fails(const char *user, const char *group, int expected_rc,
			       const char *expected_text)
{
	struct confinement_error error = { "" };
	struct identity_plan plan;

	assert_int_equal(identity_plan_build(user, group, ENFORCEMENT_BEST_EFFORT, &plan, &error),
			 expected_rc);
	assert_non_null(strstr(error.message, expected_text));
	assert_null(plan.receipt);
}

static void test_unknown_user_fails_with_einval_naming_it(void **state)
{
	(void)state;
	assert_build_fails("no-such-user-h4", NULL, -EINVAL, "\"no-such-user-h4\": no such user");
}

static void test_unknown_group_fails_with_einval_naming_it(void **state)
{
	(void)state;
	assert_build_fails("nobody", "no-such-group-h4", -EINVAL,
			   "\"no-such-group-h4\": no such group");
}

static void test_uid_that_means_unchanged_to_the_kernel_is_rejected_einval(void **state)
{
	(void)state;
	assert_build_fails("4294967295", "0", -EINVAL, "not a valid user id");
	assert_build_fails("0", "4294967295", -EINVAL, "not a valid group id");
}

static void test_numeric_uid_without_account_and_group_fails_einval(void **state)
{
	(void)state;
	if (getpwuid(NO_ACCOUNT_ID)) {
		print_message("skipped: uid %d has an account here\n", NO_ACCOUNT_ID);
		skip();
	}
	assert_build_fails("4000000", NULL, -EINVAL, "set process.run_as_group");
}

static void test_numeric_uid_without_account_runs_with_the_given_group(void **state)
{
	struct observation seen;

	(void)state;
	REQUIRE_ROOT();
	run_plan_for("4000000", "4000000", &seen);
	assert_int_equal(seen.uid[0], NO_ACCOUNT_ID);
	assert_int_equal(seen.gid[0], NO_ACCOUNT_ID);
	assert_int_equal(seen.group_count, 1);
	assert_int_equal(seen.setuid_root_errno, EPERM);
}

/* The unprivileged cases run as nobody when the tests run as root (the child
 * drops there before building the plan) and as the tests' own identity when
 * they do not, so both ways of starting sandbox-init are covered. */
struct unprivileged {
	uid_t uid;
	gid_t gid;
	uint64_t bounding;
	char own_uid[16], own_gid[16], other[16];
};

static void prepare_unprivileged(struct scenario *scenario, struct unprivileged *self)
{
	struct observation parent;

	observe_status(&parent);
	self->bounding = parent.cap_bounding;
	if (is_root_with_capabilities()) {
		scenario->drop_to_first = NOBODY;
		self->uid = self->gid = NOBODY;
	} else if (parent.cap_effective & ((1ULL << CAP_SETUID) | (1ULL << CAP_SETGID))) {
		print_message("skipped: not root, yet holds CAP_SETUID or CAP_SETGID\n");
		skip();
	} else {
		self->uid = geteuid();
		self->gid = getegid();
	}
	snprintf(self->own_uid, sizeof(self->own_uid), "%u", (unsigned)self->uid);
	snprintf(self->own_gid, sizeof(self->own_gid), "%u", (unsigned)self->gid);
	snprintf(self->other, sizeof(self->other), "%u",
		 self->uid == OTHER_ID ? OTHER_ID - 1 : OTHER_ID);
}

static void assert_contains(const char *text, const char *format, ...)
	__attribute__((format(printf, 2, 3)));

static void assert_contains(const char *text, const char *format, ...)
{
	char expected[256];
	va_list args;

	va_start(args, format);
	vsnprintf(expected, sizeof(expected), format, args);
	va_end(args);
	if (!strstr(text, expected))
		print_message("expected \"%s\" in %s\n", expected, text);
	assert_non_null(strstr(text, expected));
}

static void test_unprivileged_best_effort_skips_another_identity_and_records_it(void **state)
{
	struct scenario scenario = { .enforcement = ENFORCEMENT_BEST_EFFORT, .apply = true };
	struct unprivileged self;
	struct observation seen;

	(void)state;
	prepare_unprivileged(&scenario, &self);
	scenario.user = scenario.group = self.other;
	run_in_child(&scenario, &seen);
	assert_int_equal(seen.build_rc, 0);
	assert_true(seen.degraded);
	assert_false(seen.change_identity);
	assert_contains(seen.receipt, "\"what\":\"run as uid %s gid %s\"", self.other, self.other);
	assert_contains(seen.receipt, "\"bounding\":\"unchanged (unprivileged)\"");
	assert_contains(seen.receipt, "\"uid\":%s,\"gid\":%s", self.own_uid, self.own_gid);
	assert_all_steps_succeeded(&seen);
	assert_int_equal(seen.uid[0], self.uid);
	assert_int_equal(seen.gid[0], self.gid);
	assert_int_equal(seen.cap_effective, 0);
	assert_int_equal(seen.cap_permitted, 0);
	assert_int_equal(seen.cap_bounding, self.bounding);
	assert_int_equal(seen.no_new_privs, 1);
	assert_int_equal(seen.setuid_root_errno, EPERM);
}

static void test_unprivileged_hard_requirement_for_another_identity_fails_eperm(void **state)
{
	struct scenario scenario = { .enforcement = ENFORCEMENT_HARD_REQUIREMENT };
	struct unprivileged self;
	struct observation seen;

	(void)state;
	prepare_unprivileged(&scenario, &self);
	scenario.user = scenario.group = self.other;
	run_in_child(&scenario, &seen);
	assert_int_equal(seen.build_rc, -EPERM);
	assert_contains(seen.message, "uid %s gid %s needs CAP_SETUID", self.other, self.other);
}

static void test_unprivileged_hard_requirement_for_its_own_identity_succeeds(void **state)
{
	struct scenario scenario = { .enforcement = ENFORCEMENT_HARD_REQUIREMENT, .apply = true };
	struct unprivileged self;
	struct observation seen;

	(void)state;
	prepare_unprivileged(&scenario, &self);
	scenario.user = self.own_uid;
	scenario.group = self.own_gid;
	run_in_child(&scenario, &seen);
	assert_int_equal(seen.build_rc, 0);
	assert_false(seen.degraded);
	assert_false(seen.change_identity);
	assert_contains(seen.receipt, "\"skipped\":[{\"what\":\"bounding set");
	assert_all_steps_succeeded(&seen);
	assert_int_equal(seen.uid[0], self.uid);
	assert_int_equal(seen.no_new_privs, 1);
}

static void test_root_without_setpcap_changes_identity_and_keeps_the_bounding_set(void **state)
{
	struct scenario scenario = { .user = "nobody", .enforcement = ENFORCEMENT_HARD_REQUIREMENT,
				     .apply = true, .drop_setpcap_first = true };
	struct observation parent, seen;

	(void)state;
	REQUIRE_ROOT();
	observe_status(&parent);
	run_in_child(&scenario, &seen);
	assert_int_equal(seen.build_rc, 0);
	assert_false(seen.degraded);
	assert_true(seen.change_identity);
	assert_contains(seen.receipt, "\"bounding\":\"unchanged (no CAP_SETPCAP)\"");
	assert_contains(seen.receipt, "\"securebits\":[]");
	assert_all_steps_succeeded(&seen);
	assert_int_equal(seen.uid[0], NOBODY);
	assert_int_equal(seen.cap_effective, 0);
	assert_int_equal(seen.cap_permitted, 0);
	assert_int_equal(seen.cap_bounding, parent.cap_bounding & ~(1ULL << CAP_SETPCAP));
	assert_int_equal(seen.setuid_root_errno, EPERM);
}

static void test_keep_caps_locked_off_by_a_parent_leaves_the_bounding_set_and_says_so(void **state)
{
	struct scenario scenario = { .user = "nobody", .enforcement = ENFORCEMENT_HARD_REQUIREMENT,
				     .apply = true, .securebits_first = SECBIT_KEEP_CAPS_LOCKED };
	struct observation seen;

	(void)state;
	REQUIRE_ROOT();
	run_in_child(&scenario, &seen);
	assert_int_equal(seen.build_rc, 0);
	assert_contains(seen.receipt, "\"bounding\":\"unchanged (keep_caps locked)\"");
	assert_all_steps_succeeded(&seen);
	assert_int_equal(seen.uid[0], NOBODY);
	assert_int_equal(seen.cap_permitted, 0);
	assert_int_not_equal(seen.cap_bounding, 0);
}

static void test_securebits_locked_otherwise_by_a_parent_are_skipped_bounding_still_emptied(
	void **state)
{
	struct scenario scenario = { .user = "nobody", .enforcement = ENFORCEMENT_HARD_REQUIREMENT,
				     .apply = true, .securebits_first = SECBIT_NOROOT_LOCKED };
	struct observation seen;

	(void)state;
	REQUIRE_ROOT();
	run_in_child(&scenario, &seen);
	assert_int_equal(seen.build_rc, 0);
	assert_contains(seen.receipt, "{\"what\":\"securebits\",\"why\":\"already locked");
	assert_contains(seen.receipt, "\"bounding\":\"emptied\"");
	assert_all_steps_succeeded(&seen);
	assert_int_equal(seen.securebits, SECBIT_NOROOT_LOCKED);
	assert_int_equal(seen.cap_bounding, 0);
	assert_int_equal(seen.cap_permitted, 0);
}

static void test_applying_a_privileged_plan_without_privilege_fails_eperm(void **state)
{
	struct identity_plan plan;
	struct observation seen;

	(void)state;
	REQUIRE_ROOT();
	build_plan("nobody", NULL, &plan);
	struct scenario scenario = { .plan = &plan, .apply = true, .only_apply_user = true,
				     .drop_to_first = OTHER_ID };
	run_in_child(&scenario, &seen);
	identity_plan_release(&plan);
	assert_int_equal(seen.step_rc[1], -EPERM);
	assert_int_equal(seen.uid[0], OTHER_ID);
}

static void test_receipt_states_ids_capabilities_securebits_and_rlimits(void **state)
{
	struct identity_plan plan;

	(void)state;
	REQUIRE_ROOT();
	build_plan("nobody", NULL, &plan);
	json_t *receipt = plan.receipt;
	assert_int_equal(json_integer_value(json_object_get(receipt, "uid")), NOBODY);
	assert_int_equal(json_integer_value(json_object_get(receipt, "gid")), NOBODY);
	assert_string_equal(json_string_value(json_object_get(receipt, "identity")), "changed");
	json_t *capabilities = json_object_get(receipt, "capabilities");
	assert_string_equal(json_string_value(json_object_get(capabilities, "bounding")),
			    "emptied");
	assert_int_equal(json_array_size(json_object_get(capabilities, "permitted")), 0);
	assert_true(json_is_true(json_object_get(receipt, "no_new_privs")));
	assert_int_equal(json_array_size(json_object_get(receipt, "securebits")), 7);
	json_t *core = json_object_get(json_object_get(receipt, "rlimits"), "core");
	assert_int_equal(json_integer_value(json_array_get(core, 1)), 0);
	assert_int_equal(json_array_size(json_object_get(receipt, "skipped")), 0);
	assert_false(plan.degraded);
	identity_plan_release(&plan);
}

static void test_last_capability_is_the_kernels(void **state)
{
	struct identity_plan plan;
	FILE *file = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int last = -1;

	(void)state;
	assert_non_null(file);
	assert_int_equal(fscanf(file, "%d", &last), 1);
	fclose(file);
	build_plan(NULL, NULL, &plan);
	assert_int_equal(plan.last_capability, last);
	identity_plan_release(&plan);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nobody_plan_sets_every_uid_gid_and_only_nobodys_groups),
		cmocka_unit_test(test_setuid_zero_fails_with_eperm_after_switching_to_nobody),
		cmocka_unit_test(test_setuid_zero_succeeds_in_a_root_child_without_the_plan),
		cmocka_unit_test(test_every_capability_set_is_empty_after_the_drop),
		cmocka_unit_test(test_capability_sets_are_full_in_a_root_child_without_the_plan),
		cmocka_unit_test(test_root_without_capabilities_cannot_open_another_users_file_eacces),
		cmocka_unit_test(test_root_with_capabilities_opens_another_users_file),
		cmocka_unit_test(test_securebits_are_locked_so_the_workload_cannot_clear_them_eperm),
		cmocka_unit_test(test_securebits_can_be_changed_in_a_root_child_without_the_plan),
		cmocka_unit_test(test_no_new_privs_is_set_by_the_last_step),
		cmocka_unit_test(test_rlimits_are_core_zero_and_nofile_nproc_4096),
		cmocka_unit_test(test_rlimits_never_exceed_the_inherited_hard_limit),
		cmocka_unit_test(test_numeric_ids_resolve_like_names),
		cmocka_unit_test(test_user_alone_gets_primary_and_supplementary_groups),
		cmocka_unit_test(test_group_alone_changes_the_gid_and_keeps_the_uid),
		cmocka_unit_test(test_unknown_user_fails_with_einval_naming_it),
		cmocka_unit_test(test_unknown_group_fails_with_einval_naming_it),
		cmocka_unit_test(test_uid_that_means_unchanged_to_the_kernel_is_rejected_einval),
		cmocka_unit_test(test_numeric_uid_without_account_and_group_fails_einval),
		cmocka_unit_test(test_numeric_uid_without_account_runs_with_the_given_group),
		cmocka_unit_test(test_unprivileged_best_effort_skips_another_identity_and_records_it),
		cmocka_unit_test(test_unprivileged_hard_requirement_for_another_identity_fails_eperm),
		cmocka_unit_test(test_unprivileged_hard_requirement_for_its_own_identity_succeeds),
		cmocka_unit_test(test_root_without_setpcap_changes_identity_and_keeps_the_bounding_set),
		cmocka_unit_test(test_keep_caps_locked_off_by_a_parent_leaves_the_bounding_set_and_says_so),
		cmocka_unit_test(test_securebits_locked_otherwise_by_a_parent_are_skipped_bounding_still_emptied),
		cmocka_unit_test(test_applying_a_privileged_plan_without_privilege_fails_eperm),
		cmocka_unit_test(test_receipt_states_ids_capabilities_securebits_and_rlimits),
		cmocka_unit_test(test_last_capability_is_the_kernels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
