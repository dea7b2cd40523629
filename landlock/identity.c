#include "landlock/identity.h"

#include <errno.h>
#include <grp.h>
#include <linux/securebits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define WANTED_OPEN_FILES 4096
#define WANTED_PROCESSES 4096

/* Name-service entries grow with their member lists; the *_r lookups answer
 * ERANGE until the buffer fits, so grow it, but not without bound. */
#define LOOKUP_BUFFER_START 1024
#define LOOKUP_BUFFER_LIMIT (1024 * 1024)

/* uid 0 earns nothing at exec, uid changes never touch the capability sets,
 * keep_caps stays off and no ambient capability can be raised again: each
 * locked, so nothing the workload runs can undo them. */
#define CONFINED_SECUREBITS                                                      \
	(SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |         \
	 SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |               \
	 SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED)
/* The bits above and their locks; newer ones (exec restrictions) are kept as found. */
#define MANAGED_SECUREBITS 0xffUL

static const struct {
	unsigned long bit;
	const char *name;
} securebit_names[] = {
	{ SECBIT_NOROOT, "noroot" },
	{ SECBIT_NOROOT_LOCKED, "noroot_locked" },
	{ SECBIT_NO_SETUID_FIXUP, "no_setuid_fixup" },
	{ SECBIT_NO_SETUID_FIXUP_LOCKED, "no_setuid_fixup_locked" },
	{ SECBIT_KEEP_CAPS, "keep_caps" },
	{ SECBIT_KEEP_CAPS_LOCKED, "keep_caps_locked" },
	{ SECBIT_NO_CAP_AMBIENT_RAISE, "no_cap_ambient_raise" },
	{ SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED, "no_cap_ambient_raise_locked" },
};

/* Before fork: resolving names and deciding what we may do. */

static void set_error(struct confinement_error *error, const char *format, ...)
	__attribute__((format(printf, 2, 3)));

static void set_error(struct confinement_error *error, const char *format, ...)
{
	va_list args;

	if (!error)
		return;
	va_start(args, format);
	vsnprintf(error->message, sizeof(error->message), format, args);
	va_end(args);
}

/* A policy may name an account or give its number: all digits is a number.
 * (uid_t)-1 is refused because setresuid() reads it as "leave unchanged". */
static int parse_id(const char *text, bool *numeric, uint32_t *id)
{
	*numeric = text[0] != '\0' && strspn(text, "0123456789") == strlen(text);
	if (!*numeric)
		return 0;
	errno = 0;
	unsigned long long value = strtoull(text, NULL, 10);
	if (errno == ERANGE || value >= UINT32_MAX)
		return -EINVAL;
	*id = (uint32_t)value;
	return 0;
}

/* getpwnam_r(3): "not found" is a NULL result with 0 or, from some NSS
 * modules, ENOENT, ESRCH, EBADF or EPERM. */
static int lookup_result(int rc, bool found)
{
	if (found)
		return 0;
	if (rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM)
		return -ENOENT;
	return -rc;
}

/* By name, or by id when name is NULL. */
static int find_user(const char *name, uid_t id, struct passwd *entry, char **buffer)
{
	struct passwd *result = NULL;
	size_t size = LOOKUP_BUFFER_START;
	int rc;

	for (;;) {
		char *grown = realloc(*buffer, size);
		if (!grown)
			return -ENOMEM;
		*buffer = grown;
		rc = name ? getpwnam_r(name, entry, *buffer, size, &result)
			  : getpwuid_r(id, entry, *buffer, size, &result);
		if (rc != ERANGE || size >= LOOKUP_BUFFER_LIMIT)
			break;
		size *= 2;
	}
	return lookup_result(rc, result != NULL);
}

static int find_group(const char *name, gid_t *gid)
{
	struct group entry, *result = NULL;
	size_t size = LOOKUP_BUFFER_START;
	char *buffer = NULL;
	int rc;

	for (;;) {
		char *grown = realloc(buffer, size);
		if (!grown) {
			free(buffer);
			return -ENOMEM;
		}
		buffer = grown;
		rc = getgrnam_r(name, &entry, buffer, size, &result);
		if (rc != ERANGE || size >= LOOKUP_BUFFER_LIMIT)
			break;
		size *= 2;
	}
	if (result)
		*gid = entry.gr_gid;
	free(buffer);
	return lookup_result(rc, result != NULL);
}

static int resolve_group(const char *text, gid_t *gid, struct confinement_error *error)
{
	bool numeric;
	uint32_t id;
	int rc = parse_id(text, &numeric, &id);

	if (rc < 0) {
		set_error(error, "process.run_as_group \"%s\": not a valid group id", text);
		return rc;
	}
	if (numeric) {
		*gid = id;
		return 0;
	}
	rc = find_group(text, gid);
	if (rc == -ENOENT) {
		set_error(error, "process.run_as_group \"%s\": no such group", text);
		return -EINVAL;
	}
	if (rc < 0)
		set_error(error, "process.run_as_group \"%s\": lookup failed: %s", text,
			  strerror(-rc));
	return rc;
}

/* The account's groups as login(1) would set them: the primary group (or the
 * one the policy names) plus every group listing the user as a member. */
static int list_groups(const char *user_name, struct identity_plan *plan,
		       struct confinement_error *error)
{
	int count = IDENTITY_MAX_GROUPS;

	if (getgrouplist(user_name, plan->gid, plan->groups, &count) < 0) {
		set_error(error, "process.run_as_user \"%s\": member of %d groups, at most %d "
			  "are supported", user_name, count, IDENTITY_MAX_GROUPS);
		return -E2BIG;
	}
	plan->group_count = (size_t)count;
	return 0;
}

static int resolve_user(const char *text, bool group_given, struct identity_plan *plan,
			struct confinement_error *error)
{
	struct passwd entry;
	char *buffer = NULL;
	bool numeric;
	uint32_t id;
	int rc = parse_id(text, &numeric, &id);

	if (rc < 0) {
		set_error(error, "process.run_as_user \"%s\": not a valid user id", text);
		goto out;
	}
	rc = find_user(numeric ? NULL : text, id, &entry, &buffer);
	if (rc == -ENOENT && numeric && group_given) {
		/* An id the image has no account for (as Kubernetes' runAsUser
		 * allows): no supplementary groups to look up. */
		plan->uid = id;
		plan->groups[0] = plan->gid;
		plan->group_count = 1;
		rc = 0;
		goto out;
	}
	if (rc == -ENOENT) {
		set_error(error, numeric ? "process.run_as_user \"%s\": no account with this id, "
					   "so no primary group: set process.run_as_group"
					 : "process.run_as_user \"%s\": no such user", text);
		rc = -EINVAL;
		goto out;
	}
	if (rc < 0) {
		set_error(error, "process.run_as_user \"%s\": lookup failed: %s", text,
			  strerror(-rc));
		goto out;
	}
	plan->uid = entry.pw_uid;
	if (!group_given)
		plan->gid = entry.pw_gid;
	rc = list_groups(entry.pw_name, plan, error);
out:
	free(buffer);
	return rc;
}

static int take_current_identity(struct identity_plan *plan, struct confinement_error *error)
{
	int count = getgroups(IDENTITY_MAX_GROUPS, plan->groups);

	if (count < 0) {
		set_error(error, "this process is in more than %d supplementary groups",
			  IDENTITY_MAX_GROUPS);
		return -E2BIG;
	}
	plan->uid = geteuid();
	plan->gid = getegid();
	plan->group_count = (size_t)count;
	plan->change_identity = false;
	return 0;
}

static bool identity_is_current(uid_t uid, gid_t gid)
{
	uid_t real_uid, effective_uid, saved_uid;
	gid_t real_gid, effective_gid, saved_gid;

	if (getresuid(&real_uid, &effective_uid, &saved_uid) < 0 ||
	    getresgid(&real_gid, &effective_gid, &saved_gid) < 0)
		return false;
	return real_uid == uid && effective_uid == uid && saved_uid == uid && real_gid == gid &&
	       effective_gid == gid && saved_gid == gid;
}

static bool capability_is_effective(cap_t capabilities, cap_value_t capability)
{
	cap_flag_value_t value = CAP_CLEAR;

	return cap_get_flag(capabilities, capability, CAP_EFFECTIVE, &value) == 0 &&
	       value == CAP_SET;
}

static int read_privilege(struct identity_plan *plan, bool *may_set_pcap,
			  struct confinement_error *error)
{
	cap_t capabilities = cap_get_proc();

	if (!capabilities) {
		int rc = -errno;
		set_error(error, "reading this process's capabilities: %s", strerror(-rc));
		return rc;
	}
	plan->privileged = capability_is_effective(capabilities, CAP_SETUID) &&
			   capability_is_effective(capabilities, CAP_SETGID);
	*may_set_pcap = capability_is_effective(capabilities, CAP_SETPCAP);
	cap_free(capabilities);
	plan->last_capability = cap_max_bits() - 1;
	return 0;
}

static int add_skipped(json_t *skipped, const char *what, const char *why)
{
	json_t *entry = json_pack("{s:s, s:s}", "what", what, "why", why);

	return json_array_append_new(skipped, entry) < 0 ? -ENOMEM : 0;
}

/* Without CAP_SETUID and CAP_SETGID the kernel refuses every identity but our
 * own, so asking for ours is fine and asking for another is a degradation. */
static int decide_identity(struct identity_plan *plan, enum enforcement enforcement,
			   json_t *skipped, struct confinement_error *error)
{
	char what[96];

	if (plan->privileged) {
		plan->change_identity = true;
		return 0;
	}
	if (identity_is_current(plan->uid, plan->gid))
		return take_current_identity(plan, error);
	if (enforcement == ENFORCEMENT_HARD_REQUIREMENT) {
		set_error(error, "process.run_as_user/run_as_group: running as uid %u gid %u needs "
			  "CAP_SETUID and CAP_SETGID, and this process (uid %u) does not have them",
			  (unsigned)plan->uid, (unsigned)plan->gid, (unsigned)geteuid());
		return -EPERM;
	}
	snprintf(what, sizeof(what), "run as uid %u gid %u", (unsigned)plan->uid,
		 (unsigned)plan->gid);
	plan->degraded = true;
	if (add_skipped(skipped, what, "needs CAP_SETUID and CAP_SETGID (unprivileged)") < 0)
		return -ENOMEM;
	return take_current_identity(plan, error);
}

static int resolve_identity(const char *run_as_user, const char *run_as_group,
			    enum enforcement enforcement, struct identity_plan *plan,
			    json_t *skipped, struct confinement_error *error)
{
	int rc;

	if (!run_as_user && !run_as_group)
		return take_current_identity(plan, error);
	if (run_as_group && (rc = resolve_group(run_as_group, &plan->gid, error)) < 0)
		return rc;
	if (run_as_user) {
		rc = resolve_user(run_as_user, run_as_group != NULL, plan, error);
		if (rc < 0)
			return rc;
	} else {
		plan->uid = geteuid();
		plan->groups[0] = plan->gid;
		plan->group_count = 1;
	}
	return decide_identity(plan, enforcement, skipped, error);
}

/* Emptying the bounding set and setting securebits both need CAP_SETPCAP.
 * Leaving root for another uid clears the permitted set, so the plan keeps
 * it across setresuid (keep_caps) unless a parent locked keep_caps off. */
static int decide_capability_steps(struct identity_plan *plan, bool may_set_pcap,
				   json_t *skipped)
{
	int found = prctl(PR_GET_SECUREBITS);
	unsigned long current = found < 0 ? 0 : (unsigned long)found;
	unsigned long locked = (current & SECURE_ALL_LOCKS) >> 1;
	unsigned long wanted = CONFINED_SECUREBITS | (current & ~MANAGED_SECUREBITS);
	bool keep_caps_locked = current & SECBIT_KEEP_CAPS_LOCKED;
	bool kept_anyway = current & (SECBIT_KEEP_CAPS | SECBIT_NO_SETUID_FIXUP);

	if (!may_set_pcap)
		return add_skipped(skipped, "bounding set and securebits",
				   "needs CAP_SETPCAP, which this process lacks");
	if (plan->change_identity && plan->uid != 0 && keep_caps_locked && !kept_anyway)
		return add_skipped(skipped, "bounding set and securebits",
				   "keep_caps is locked off, so CAP_SETPCAP is gone with the uid");
	plan->drop_bounding_set = true;
	plan->keep_capabilities = plan->change_identity && !keep_caps_locked;
	if ((current ^ wanted) & locked & SECURE_ALL_BITS)
		return add_skipped(skipped, "securebits", "already locked to other values");
	plan->set_securebits = true;
	plan->securebits = wanted;
	return 0;
}

/* The current hard limit is a ceiling: raising it needs CAP_SYS_RESOURCE and
 * would only loosen what the parent already chose. */
static struct rlimit capped_limit(int resource, rlim_t wanted)
{
	struct rlimit limit = { wanted, wanted };
	struct rlimit current;

	if (getrlimit(resource, &current) == 0 && current.rlim_max != RLIM_INFINITY &&
	    current.rlim_max < wanted)
		limit.rlim_cur = limit.rlim_max = current.rlim_max;
	return limit;
}

static void decide_rlimits(struct identity_plan *plan)
{
	plan->core = (struct rlimit){ 0, 0 };
	plan->nofile = capped_limit(RLIMIT_NOFILE, WANTED_OPEN_FILES);
	plan->nproc = capped_limit(RLIMIT_NPROC, WANTED_PROCESSES);
}

static json_t *securebits_receipt(const struct identity_plan *plan)
{
	json_t *names = json_array();

	if (!plan->set_securebits)
		return names;
	for (size_t i = 0; names && i < sizeof(securebit_names) / sizeof(securebit_names[0]); i++) {
		if (plan->securebits & securebit_names[i].bit)
			json_array_append_new(names, json_string(securebit_names[i].name));
	}
	return names;
}

static json_t *groups_receipt(const struct identity_plan *plan)
{
	json_t *groups = json_array();

	for (size_t i = 0; groups && i < plan->group_count; i++)
		json_array_append_new(groups, json_integer(plan->groups[i]));
	return groups;
}

static json_t *limit_receipt(const struct rlimit *limit)
{
	return json_pack("[I, I]", (json_int_t)limit->rlim_cur, (json_int_t)limit->rlim_max);
}

static const char *bounding_receipt(const struct identity_plan *plan, bool may_set_pcap)
{
	if (plan->drop_bounding_set)
		return "emptied";
	if (may_set_pcap)
		return "unchanged (keep_caps locked)";
	return plan->privileged ? "unchanged (no CAP_SETPCAP)" : "unchanged (unprivileged)";
}

static json_t *build_receipt(const struct identity_plan *plan, bool may_set_pcap, json_t *skipped)
{
	return json_pack("{s:I, s:I, s:o, s:s, s:b, "
			 "s:{s:[], s:[], s:[], s:[], s:s}, s:b, s:o, "
			 "s:{s:o, s:o, s:o}, s:O}",
			 "uid", (json_int_t)plan->uid, "gid", (json_int_t)plan->gid,
			 "groups", groups_receipt(plan),
			 "identity", plan->change_identity ? "changed" : "unchanged",
			 "privileged", plan->privileged,
			 "capabilities", "effective", "permitted", "inheritable", "ambient",
			 "bounding", bounding_receipt(plan, may_set_pcap),
			 "no_new_privs", 1, "securebits", securebits_receipt(plan),
			 "rlimits", "core", limit_receipt(&plan->core),
			 "nofile", limit_receipt(&plan->nofile),
			 "nproc", limit_receipt(&plan->nproc),
			 "skipped", skipped);
}

int identity_plan_build(const char *run_as_user, const char *run_as_group,
			enum enforcement enforcement, struct identity_plan *out,
			struct confinement_error *error)
{
	json_t *skipped = json_array();
	bool may_set_pcap = false;
	int rc = -ENOMEM;

	memset(out, 0, sizeof(*out));
	if (!skipped) {
		set_error(error, "out of memory");
		goto out;
	}
	rc = read_privilege(out, &may_set_pcap, error);
	if (rc < 0)
		goto out;
	rc = resolve_identity(run_as_user, run_as_group, enforcement, out, skipped, error);
	if (rc < 0)
		goto out;
	rc = decide_capability_steps(out, may_set_pcap, skipped);
	decide_rlimits(out);
	out->receipt = rc < 0 ? NULL : build_receipt(out, may_set_pcap, skipped);
	if (!out->receipt) {
		set_error(error, "out of memory");
		rc = -ENOMEM;
	}
out:
	json_decref(skipped);
	if (rc < 0)
		identity_plan_release(out);
	return rc;
}

void identity_plan_release(struct identity_plan *plan)
{
	json_decref(plan->receipt);
	plan->receipt = NULL;
}
