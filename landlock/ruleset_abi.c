/* Landlock ABI negotiation: what each ABI can handle, what the policy needs
 * of it, and the names the receipt gives to rights and scopes. */
#include "landlock/ruleset.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "landlock/uapi.h"

struct named_bit {
	uint64_t bit;
	const char *name;
	int abi; /* the ABI that introduced it */
};

static const struct named_bit access_fs_bits[] = {
	{ LANDLOCK_ACCESS_FS_EXECUTE, "execute", 1 },
	{ LANDLOCK_ACCESS_FS_WRITE_FILE, "write_file", 1 },
	{ LANDLOCK_ACCESS_FS_READ_FILE, "read_file", 1 },
	{ LANDLOCK_ACCESS_FS_READ_DIR, "read_dir", 1 },
	{ LANDLOCK_ACCESS_FS_REMOVE_DIR, "remove_dir", 1 },
	{ LANDLOCK_ACCESS_FS_REMOVE_FILE, "remove_file", 1 },
	{ LANDLOCK_ACCESS_FS_MAKE_CHAR, "make_char", 1 },
	{ LANDLOCK_ACCESS_FS_MAKE_DIR, "make_dir", 1 },
	{ LANDLOCK_ACCESS_FS_MAKE_REG, "make_reg", 1 },
	{ LANDLOCK_ACCESS_FS_MAKE_SOCK, "make_sock", 1 },
	{ LANDLOCK_ACCESS_FS_MAKE_FIFO, "make_fifo", 1 },
	{ LANDLOCK_ACCESS_FS_MAKE_BLOCK, "make_block", 1 },
	{ LANDLOCK_ACCESS_FS_MAKE_SYM, "make_sym", 1 },
	{ LANDLOCK_ACCESS_FS_REFER, "refer", 2 },
	{ LANDLOCK_ACCESS_FS_TRUNCATE, "truncate", 3 },
	{ LANDLOCK_ACCESS_FS_IOCTL_DEV, "ioctl_dev", 5 },
	{ LANDLOCK_ACCESS_FS_RESOLVE_UNIX, "resolve_unix", 9 },
};

static const struct named_bit access_net_bits[] = {
	{ LANDLOCK_ACCESS_NET_BIND_TCP, "bind_tcp", 4 },
	{ LANDLOCK_ACCESS_NET_CONNECT_TCP, "connect_tcp", 4 },
};

static const struct named_bit scope_bits[] = {
	{ LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET, "abstract_unix_socket", 6 },
	{ LANDLOCK_SCOPE_SIGNAL, "signal", 6 },
};

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

#define ACCESS_FS_ABI_1 (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | \
	LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR | \
	LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE | \
	LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | \
	LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK | \
	LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK | \
	LANDLOCK_ACCESS_FS_MAKE_SYM)

/* What the policy cannot do without.  REFER is absent because a kernel
 * without it denies every reparenting outright: stricter, not weaker.
 * RESOLVE_UNIX (ABI 9) and denial logging (ABI 7) are taken where offered
 * but not demanded, so hard_requirement works from ABI 6 on. */
static const struct ruleset_features required = {
	.access_fs = ACCESS_FS_ABI_1 | LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV,
	.access_net = LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP,
	.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL,
};

int landlock_abi_version(void)
{
	long abi = syscall(__NR_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	/* ENOSYS: not built in; EOPNOTSUPP: built in but not enabled at boot. */
	return abi > 0 ? (int)abi : 0;
}

/* UDP (ABI 10) is deliberately not handled: the contract restricts TCP only,
 * and handling it would cut DNS on new kernels and not on old ones. */
void ruleset_features_for_abi(int abi, struct ruleset_features *features)
{
	*features = (struct ruleset_features){
		.access_fs = required.access_fs | LANDLOCK_ACCESS_FS_REFER |
			     LANDLOCK_ACCESS_FS_RESOLVE_UNIX,
		.access_net = required.access_net,
		.scoped = required.scoped,
		.restrict_flags = LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON,
	};
	if (abi <= 0) {
		*features = (struct ruleset_features){ 0 };
		return;
	}
	/* Enter at the kernel's ABI and fall through, dropping each feature a
	 * newer ABI brought: the kernel rejects a ruleset naming a right it
	 * does not know (EINVAL), so asking for too much enforces nothing. */
	switch (abi) {
	case 1:
		features->access_fs &= ~LANDLOCK_ACCESS_FS_REFER;
		__attribute__((fallthrough));
	case 2:
		features->access_fs &= ~LANDLOCK_ACCESS_FS_TRUNCATE;
		__attribute__((fallthrough));
	case 3:
		features->access_net = 0;
		__attribute__((fallthrough));
	case 4:
		features->access_fs &= ~LANDLOCK_ACCESS_FS_IOCTL_DEV;
		__attribute__((fallthrough));
	case 5:
		features->scoped = 0;
		__attribute__((fallthrough));
	case 6:
		features->restrict_flags = 0;
		__attribute__((fallthrough));
	case 7:
	case 8: /* TSYNC: not needed, a forked child has one thread */
		features->access_fs &= ~LANDLOCK_ACCESS_FS_RESOLVE_UNIX;
		__attribute__((fallthrough));
	default: /* 9 and newer: all we ask for */
		break;
	}
}

static json_t *names_of(const struct named_bit *bits, size_t count, uint64_t mask)
{
	json_t *names = json_array();

	for (size_t i = 0; names && i < count; i++) {
		if ((mask & bits[i].bit) && json_array_append_new(names, json_string(bits[i].name))) {
			json_decref(names);
			return NULL;
		}
	}
	return names;
}

json_t *ruleset_access_fs_names(uint64_t access)
{
	return names_of(access_fs_bits, COUNT(access_fs_bits), access);
}

json_t *ruleset_access_net_names(uint64_t access)
{
	return names_of(access_net_bits, COUNT(access_net_bits), access);
}

json_t *ruleset_scope_names(uint64_t scoped)
{
	return names_of(scope_bits, COUNT(scope_bits), scoped);
}

static int list_missing(const struct named_bit *bits, size_t count, uint64_t missing, int abi,
			json_t *skipped, char *summary, size_t size)
{
	size_t used = strlen(summary);
	int listed = 0;

	for (size_t i = 0; i < count; i++) {
		char why[96];

		if (!(missing & bits[i].bit))
			continue;
		snprintf(why, sizeof(why), "needs Landlock ABI %d, the kernel offers %d",
			 bits[i].abi, abi);
		if (json_array_append_new(skipped, json_pack("{s:s, s:s}", "what", bits[i].name,
							     "why", why)))
			return -ENOMEM;
		if (used < size)
			used += (size_t)snprintf(summary + used, size - used, "%s%s (ABI %d)",
						 used ? ", " : "", bits[i].name, bits[i].abi);
		listed++;
	}
	return listed;
}

int ruleset_list_unenforceable(int abi, const struct ruleset_features *features, json_t *skipped,
			       char *summary, size_t size)
{
	int fs, net, scopes;

	summary[0] = '\0';
	fs = list_missing(access_fs_bits, COUNT(access_fs_bits),
			  required.access_fs & ~features->access_fs, abi, skipped, summary, size);
	if (fs < 0)
		return fs;
	net = list_missing(access_net_bits, COUNT(access_net_bits),
			   required.access_net & ~features->access_net, abi, skipped, summary, size);
	if (net < 0)
		return net;
	scopes = list_missing(scope_bits, COUNT(scope_bits), required.scoped & ~features->scoped,
			      abi, skipped, summary, size);
	if (scopes < 0)
		return scopes;
	return fs + net + scopes;
}
