/* The identity steps in a forked child: raw syscalls only, nothing
 * allocated, nothing locked (see identity.h for the order). */
#include "landlock/identity.h"

#include <errno.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* 32-bit x86 and arm keep 16-bit ids in the plain calls; the *32 variants
 * take the full uid_t. */
#ifdef SYS_setresuid32
#define SYSCALL_SETGROUPS SYS_setgroups32
#define SYSCALL_GETGROUPS SYS_getgroups32
#define SYSCALL_SETRESGID SYS_setresgid32
#define SYSCALL_SETRESUID SYS_setresuid32
#define SYSCALL_GETRESGID SYS_getresgid32
#define SYSCALL_GETRESUID SYS_getresuid32
#define SYSCALL_SETUID SYS_setuid32
#else
#define SYSCALL_SETGROUPS SYS_setgroups
#define SYSCALL_GETGROUPS SYS_getgroups
#define SYSCALL_SETRESGID SYS_setresgid
#define SYSCALL_SETRESUID SYS_setresuid
#define SYSCALL_GETRESGID SYS_getresgid
#define SYSCALL_GETRESUID SYS_getresuid
#define SYSCALL_SETUID SYS_setuid
#endif


/* The kernel's struct rlimit64, whatever glibc's rlim_t is. */
struct kernel_rlimit {
	uint64_t current;
	uint64_t maximum;
};

static long raw_prctl(int option, unsigned long argument)
{
	return syscall(SYS_prctl, option, argument, 0UL, 0UL, 0UL);
}

static int apply_rlimit(int resource, const struct rlimit *limit)
{
	struct kernel_rlimit value = { limit->rlim_cur, limit->rlim_max };

	return syscall(SYS_prlimit64, 0, resource, &value, NULL) < 0 ? -errno : 0;
}

int identity_apply_rlimits(const struct identity_plan *plan)
{
	int rc = apply_rlimit(RLIMIT_CORE, &plan->core);

	if (rc == 0)
		rc = apply_rlimit(RLIMIT_NOFILE, &plan->nofile);
	if (rc == 0)
		rc = apply_rlimit(RLIMIT_NPROC, &plan->nproc);
	return rc;
}

static bool group_is_held(const gid_t *held, long count, gid_t gid)
{
	for (long i = 0; i < count; i++) {
		if (held[i] == gid)
			return true;
	}
	return false;
}

/* The kernel sorts the list setgroups() gave it, so compare as sets. */
static int verify_groups(const struct identity_plan *plan)
{
	gid_t held[IDENTITY_MAX_GROUPS];
	long count = syscall(SYSCALL_GETGROUPS, IDENTITY_MAX_GROUPS, held);

	if (count < 0)
		return -errno;
	if ((size_t)count != plan->group_count)
		return -ENOTRECOVERABLE;
	for (size_t i = 0; i < plan->group_count; i++) {
		if (!group_is_held(held, count, plan->groups[i]))
			return -ENOTRECOVERABLE;
	}
	return 0;
}

/* Trust the kernel's answer, not the return codes: an LSM or a user namespace
 * without the mapping must not leave the workload with a mix of ids. */
static int verify_ids(const struct identity_plan *plan)
{
	uid_t real_uid, effective_uid, saved_uid;
	gid_t real_gid, effective_gid, saved_gid;

	if (syscall(SYSCALL_GETRESUID, &real_uid, &effective_uid, &saved_uid) < 0 ||
	    syscall(SYSCALL_GETRESGID, &real_gid, &effective_gid, &saved_gid) < 0)
		return -errno;
	if (real_uid != plan->uid || effective_uid != plan->uid || saved_uid != plan->uid ||
	    real_gid != plan->gid || effective_gid != plan->gid || saved_gid != plan->gid)
		return -ENOTRECOVERABLE;
	return verify_groups(plan);
}

int identity_apply_user(const struct identity_plan *plan)
{
	if (!plan->change_identity)
		return 0;
	/* Leaving root empties the permitted set; keep it until
	 * identity_drop_capabilities() has used CAP_SETPCAP, which then drops it. */
	if (plan->keep_capabilities && raw_prctl(PR_SET_KEEPCAPS, 1) < 0)
		return -errno;
	/* Groups first and the uid last: each call needs a capability the
	 * next one may take away. */
	if (syscall(SYSCALL_SETGROUPS, plan->group_count, plan->groups) < 0)
		return -errno;
	if (syscall(SYSCALL_SETRESGID, plan->gid, plan->gid, plan->gid) < 0)
		return -errno;
	if (syscall(SYSCALL_SETRESUID, plan->uid, plan->uid, plan->uid) < 0)
		return -errno;
	return verify_ids(plan);
}

static int read_capabilities(struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3])
{
	struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };

	return syscall(SYS_capget, &header, data) < 0 ? -errno : 0;
}

static int write_capabilities(struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3])
{
	struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };

	return syscall(SYS_capset, &header, data) < 0 ? -errno : 0;
}

/* setresuid() away from root cleared the effective set even with keep_caps. */
static int raise_effective_to_permitted(void)
{
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	int rc = read_capabilities(data);

	if (rc < 0)
		return rc;
	for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		data[i].effective = data[i].permitted;
	return write_capabilities(data);
}

static int empty_bounding_set(int last_capability)
{
	for (int capability = 0; capability <= last_capability; capability++) {
		if (raw_prctl(PR_CAPBSET_DROP, (unsigned long)capability) < 0)
			return -errno;
	}
	return 0;
}

static int verify_capabilities_dropped(const struct identity_plan *plan)
{
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	int rc = read_capabilities(data);

	if (rc < 0)
		return rc;
	for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
		if (data[i].effective || data[i].permitted || data[i].inheritable)
			return -ENOTRECOVERABLE;
	}
	for (int capability = 0; plan->drop_bounding_set && capability <= plan->last_capability;
	     capability++) {
		if (raw_prctl(PR_CAPBSET_READ, (unsigned long)capability) != 0)
			return -ENOTRECOVERABLE;
	}
	/* The proof that matters: whatever the ids say, root is out of reach. */
	if (plan->uid != 0 && syscall(SYSCALL_SETUID, 0) == 0)
		return -ENOTRECOVERABLE;
	return 0;
}

int identity_drop_capabilities(const struct identity_plan *plan)
{
	struct __user_cap_data_struct empty[_LINUX_CAPABILITY_U32S_3] = { { 0, 0, 0 } };
	int rc;

	if (plan->drop_bounding_set && (rc = raise_effective_to_permitted()) < 0)
		return rc;
	if (plan->set_securebits && raw_prctl(PR_SET_SECUREBITS, plan->securebits) < 0)
		return -errno;
	if (plan->drop_bounding_set && (rc = empty_bounding_set(plan->last_capability)) < 0)
		return rc;
	if (syscall(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0UL, 0UL, 0UL) < 0)
		return -errno;
	rc = write_capabilities(empty);
	if (rc < 0)
		return rc;
	/* The securebits value above already turned keep_caps off and locked it. */
	if (plan->keep_capabilities && !plan->set_securebits && raw_prctl(PR_SET_KEEPCAPS, 0) < 0)
		return -errno;
	return verify_capabilities_dropped(plan);
}

int identity_set_no_new_privs(void)
{
	return raw_prctl(PR_SET_NO_NEW_PRIVS, 1) < 0 ? -errno : 0;
}
