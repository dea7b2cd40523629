/* Building the Landlock ruleset in the supervisor, enforcing it in a child. */
#include "landlock/ruleset.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "landlock/uapi.h"

/* The only rights the kernel accepts on a rule whose object is not a
 * directory (anything else there is EINVAL). */
#define ACCESS_FILE (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | \
	LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE | \
	LANDLOCK_ACCESS_FS_IOCTL_DEV | LANDLOCK_ACCESS_FS_RESOLVE_UNIX)

#define ACCESS_READ_ONLY (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR | \
	LANDLOCK_ACCESS_FS_EXECUTE)

/* Never MAKE_CHAR or MAKE_BLOCK: a device node made in a writable directory
 * would reach hardware no rule grants.  No EXECUTE: what the workload can
 * write it must not run (W^X), unless the operator says otherwise.
 * RESOLVE_UNIX: connecting to a socket is writing to it, as the file mode
 * bits have it. */
#define ACCESS_READ_WRITE (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR | \
	LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR | \
	LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG | \
	LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_SYM | \
	LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_SOCK | \
	LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE | \
	LANDLOCK_ACCESS_FS_IOCTL_DEV | LANDLOCK_ACCESS_FS_RESOLVE_UNIX)

enum path_kind { PATH_READ_ONLY, PATH_READ_WRITE };

static const char *const path_kind_names[] = {
	[PATH_READ_ONLY] = "read_only",
	[PATH_READ_WRITE] = "read_write",
};

__attribute__((format(printf, 2, 3)))
static void set_error(struct confinement_error *error, const char *format, ...)
{
	va_list arguments;

	if (!error)
		return;
	va_start(arguments, format);
	vsnprintf(error->message, sizeof(error->message), format, arguments);
	va_end(arguments);
}

static bool is_hard(const struct ruleset_spec *spec)
{
	return spec->enforcement == ENFORCEMENT_HARD_REQUIREMENT;
}

static const char *enforcement_name(const struct ruleset_spec *spec)
{
	return is_hard(spec) ? "hard_requirement" : "best_effort";
}

static int check_paths(const char *const *paths, size_t count, enum path_kind kind,
		       struct confinement_error *error)
{
	if (count && !paths) {
		set_error(error, "landlock: %s: %zu paths but no list", path_kind_names[kind], count);
		return -EINVAL;
	}
	for (size_t i = 0; i < count; i++) {
		if (!paths[i] || paths[i][0] != '/') {
			set_error(error, "landlock: %s[%zu]: path must be absolute: \"%s\"",
				  path_kind_names[kind], i, paths[i] ? paths[i] : "(null)");
			return -EINVAL;
		}
	}
	return 0;
}

static int check_spec(const struct ruleset_spec *spec, struct confinement_error *error)
{
	int err = check_paths(spec->read_only, spec->read_only_count, PATH_READ_ONLY, error);

	if (err)
		return err;
	err = check_paths(spec->read_write, spec->read_write_count, PATH_READ_WRITE, error);
	if (err)
		return err;
	if (spec->connect_port_count && !spec->connect_ports) {
		set_error(error, "landlock: %zu connect ports but no list", spec->connect_port_count);
		return -EINVAL;
	}
	for (size_t i = 0; i < spec->connect_port_count; i++) {
		/* A rule for port 0 would allow connect() to port 0, not to "any". */
		if (spec->connect_ports[i] == 0) {
			set_error(error, "landlock: connect_ports[%zu]: port 0 is not a port", i);
			return -EINVAL;
		}
	}
	return 0;
}

static int negotiated_abi(const struct ruleset_spec *spec, int kernel_abi)
{
	if (spec->max_abi < 0)
		return 0;
	if (spec->max_abi > 0 && spec->max_abi < kernel_abi)
		return spec->max_abi;
	return kernel_abi;
}

/* Holes Landlock leaves in this ruleset whatever the policy says, so the
 * plan can close them with seccomp or own them in the receipt. */
static json_t *not_restricted(const struct ruleset_features *features)
{
	json_t *holes = json_pack("[s, s, s, s, s, s]", "udp", "mptcp", "sctp", "chmod_chown_xattr",
				  "memfd_exec", "ld_so_exec");

	if (holes && !(features->access_fs & LANDLOCK_ACCESS_FS_RESOLVE_UNIX) &&
	    json_array_append_new(holes, json_string("pathname_unix_sockets"))) {
		json_decref(holes);
		return NULL;
	}
	return holes;
}

static json_t *new_receipt(int kernel_abi, int abi, const struct ruleset_features *features)
{
	bool tcp = features->access_net != 0;

	return json_pack("{s:i, s:i, s:b, s:o, s:o, s:o, s:s, s:[], s:s, s:[], s:s, s:[], s:o}",
			 "abi", abi, "kernel_abi", kernel_abi, "enforced", abi > 0,
			 "handled_access_fs", ruleset_access_fs_names(features->access_fs),
			 "handled_access_net", ruleset_access_net_names(features->access_net),
			 "scopes", ruleset_scope_names(features->scoped),
			 "logging", (features->restrict_flags & LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON) ?
			 "new_exec_on" : "unavailable",
			 "rules",
			 "tcp_connect", tcp ? "allow_list" : "unrestricted",
			 "tcp_connect_ports",
			 "tcp_bind", tcp ? "denied" : "unrestricted",
			 "skipped",
			 "not_restricted", not_restricted(features));
}

static int record_skipped(json_t *receipt, const char *what, const char *why)
{
	json_t *entry = json_pack("{s:s, s:s}", "what", what, "why", why);

	return json_array_append_new(json_object_get(receipt, "skipped"), entry) ? -ENOMEM : 0;
}

/* Decides, before anything is built, whether this kernel can carry the
 * policy: under hard_requirement a gap is fatal, under best_effort it is
 * written down and the ruleset marked degraded. */
static int check_enforceable(const struct ruleset_spec *spec, const struct ruleset_features *features,
			     struct landlock_ruleset *out, struct confinement_error *error)
{
	char summary[384];
	int missing;

	if (out->abi == 0) {
		if (is_hard(spec)) {
			set_error(error, "landlock: hard_requirement cannot be met: "
				  "Landlock is not available on this kernel");
			return -EPERM;
		}
		out->degraded = true;
		return record_skipped(out->receipt, "landlock",
				      "not available on this kernel: nothing is confined by it");
	}
	missing = ruleset_list_unenforceable(out->abi, features,
					     json_object_get(out->receipt, "skipped"),
					     summary, sizeof(summary));
	if (missing < 0)
		return missing;
	if (missing > 0 && is_hard(spec)) {
		set_error(error, "landlock: hard_requirement cannot be met: Landlock ABI %d lacks %s",
			  out->abi, summary);
		return -EPERM;
	}
	out->degraded = missing > 0;
	return 0;
}

/* The kernel copies as much of the attribute as we say and rejects fields it
 * does not know unless they are zero: send the prefix we use, no more. */
static size_t ruleset_attr_size(const struct ruleset_features *features)
{
	if (features->scoped)
		return offsetof(struct landlock_ruleset_attr, quiet_access_fs);
	if (features->access_net)
		return offsetof(struct landlock_ruleset_attr, scoped);
	return offsetof(struct landlock_ruleset_attr, handled_access_net);
}

static int create_ruleset(const struct ruleset_features *features, struct confinement_error *error)
{
	struct landlock_ruleset_attr attr = {
		.handled_access_fs = features->access_fs,
		.handled_access_net = features->access_net,
		.scoped = features->scoped,
	};
	/* The kernel always makes the ruleset fd close-on-exec. */
	long fd = syscall(__NR_landlock_create_ruleset, &attr, ruleset_attr_size(features), 0U);

	if (fd < 0) {
		int err = -errno;

		set_error(error, "landlock: landlock_create_ruleset: %s", strerrordesc_np(-err));
		return err;
	}
	return (int)fd;
}

static uint64_t path_rights(const struct ruleset_spec *spec, enum path_kind kind)
{
	if (kind == PATH_READ_ONLY)
		return ACCESS_READ_ONLY;
	return ACCESS_READ_WRITE | (spec->allow_exec_writable ? LANDLOCK_ACCESS_FS_EXECUTE : 0);
}

/* A path that cannot be opened grants nothing, so skipping it under
 * best_effort loses no confinement; hard_requirement promised the policy
 * exactly as written. */
static int skip_unopenable(const struct ruleset_spec *spec, struct landlock_ruleset *out,
			   const char *path, enum path_kind kind, int err,
			   struct confinement_error *error)
{
	char why[128];

	if (is_hard(spec)) {
		set_error(error, "landlock: %s path %s: %s (hard_requirement)",
			  path_kind_names[kind], path,
			  err == -ENOENT ? "does not exist" : strerrordesc_np(-err));
		return -EPERM;
	}
	snprintf(why, sizeof(why), "%s path: %s", path_kind_names[kind], strerrordesc_np(-err));
	return record_skipped(out->receipt, path, why);
}

static int record_rule(json_t *receipt, const char *path, enum path_kind kind, bool directory,
		       uint64_t rights)
{
	json_t *rule = json_pack("{s:s, s:s, s:s, s:o}", "path", path, "kind", path_kind_names[kind],
				 "type", directory ? "directory" : "file",
				 "access", ruleset_access_fs_names(rights));

	return json_array_append_new(json_object_get(receipt, "rules"), rule) ? -ENOMEM : 0;
}

static int add_path_rule(const struct ruleset_spec *spec, struct landlock_ruleset *out,
			 const char *path, enum path_kind kind, struct confinement_error *error)
{
	struct landlock_path_beneath_attr rule;
	struct stat status;
	uint64_t rights = path_rights(spec, kind) & out->handled_access_fs;
	int fd, err = 0;

	/* O_PATH follows symlinks: the rule lands on what the path names now,
	 * as /bin -> usr/bin on a merged-/usr system. */
	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return skip_unopenable(spec, out, path, kind, -errno, error);
	if (fstat(fd, &status) != 0) {
		err = -errno;
		set_error(error, "landlock: %s: fstat: %s", path, strerrordesc_np(-err));
		goto out;
	}
	if (!S_ISDIR(status.st_mode))
		rights &= ACCESS_FILE;
	rule = (struct landlock_path_beneath_attr){ .allowed_access = rights, .parent_fd = fd };
	if (syscall(__NR_landlock_add_rule, out->ruleset_fd, LANDLOCK_RULE_PATH_BENEATH, &rule, 0U)) {
		err = -errno;
		set_error(error, "landlock: %s path %s: landlock_add_rule: %s",
			  path_kind_names[kind], path, strerrordesc_np(-err));
		goto out;
	}
	err = record_rule(out->receipt, path, kind, S_ISDIR(status.st_mode), rights);
out:
	close(fd);
	return err;
}

static int add_path_rules(const struct ruleset_spec *spec, struct landlock_ruleset *out,
			  const char *const *paths, size_t count, enum path_kind kind,
			  struct confinement_error *error)
{
	for (size_t i = 0; i < count; i++) {
		int err = add_path_rule(spec, out, paths[i], kind, error);

		if (err)
			return err;
	}
	return 0;
}

/* Only connect rules: with BIND_TCP handled and no rule for it, every
 * bind() (port 0 included) is denied. */
static int add_port_rules(const struct ruleset_spec *spec, struct landlock_ruleset *out,
			  struct confinement_error *error)
{
	json_t *ports = json_object_get(out->receipt, "tcp_connect_ports");

	if (!(out->handled_access_net & LANDLOCK_ACCESS_NET_CONNECT_TCP))
		return 0;
	for (size_t i = 0; i < spec->connect_port_count; i++) {
		struct landlock_net_port_attr rule = {
			.allowed_access = LANDLOCK_ACCESS_NET_CONNECT_TCP,
			.port = spec->connect_ports[i],
		};

		if (syscall(__NR_landlock_add_rule, out->ruleset_fd, LANDLOCK_RULE_NET_PORT, &rule, 0U)) {
			int err = -errno;

			set_error(error, "landlock: tcp connect port %u: landlock_add_rule: %s",
				  (unsigned)rule.port, strerrordesc_np(-err));
			return err;
		}
		if (json_array_append_new(ports, json_integer(rule.port)))
			return -ENOMEM;
	}
	return 0;
}

static int negotiate(const struct ruleset_spec *spec, struct landlock_ruleset *out,
		 struct ruleset_features *features)
{
	int kernel_abi = landlock_abi_version();

	out->abi = negotiated_abi(spec, kernel_abi);
	ruleset_features_for_abi(out->abi, features);
	out->handled_access_fs = features->access_fs;
	out->handled_access_net = features->access_net;
	out->scoped = features->scoped;
	out->restrict_flags = features->restrict_flags;
	out->receipt = new_receipt(kernel_abi, out->abi, features);
	if (!out->receipt ||
	    json_object_set_new(out->receipt, "enforcement", json_string(enforcement_name(spec))))
		return -ENOMEM;
	return 0;
}

int ruleset_build(const struct ruleset_spec *spec, struct landlock_ruleset *out,
		  struct confinement_error *error)
{
	struct ruleset_features features;
	int err;

	*out = (struct landlock_ruleset){ .ruleset_fd = -1 };
	if (error)
		error->message[0] = '\0';
	err = check_spec(spec, error);
	if (err)
		return err;
	err = negotiate(spec, out, &features);
	if (!err)
		err = check_enforceable(spec, &features, out, error);
	if (err || out->abi == 0)
		goto out;
	out->ruleset_fd = create_ruleset(&features, error);
	if (out->ruleset_fd < 0) {
		err = out->ruleset_fd;
		goto out;
	}
	err = add_path_rules(spec, out, spec->read_only, spec->read_only_count, PATH_READ_ONLY, error);
	if (!err)
		err = add_path_rules(spec, out, spec->read_write, spec->read_write_count,
				     PATH_READ_WRITE, error);
	if (!err)
		err = add_port_rules(spec, out, error);
out:
	if (err == -ENOMEM && error && !error->message[0])
		set_error(error, "landlock: out of memory for the receipt");
	if (err < 0)
		ruleset_release(out);
	return err < 0 ? err : 0;
}

int ruleset_apply(const struct landlock_ruleset *ruleset)
{
	if (ruleset->ruleset_fd < 0)
		return 0;
	if (syscall(__NR_landlock_restrict_self, ruleset->ruleset_fd, ruleset->restrict_flags))
		return -errno;
	return 0;
}

void ruleset_release(struct landlock_ruleset *ruleset)
{
	if (ruleset->ruleset_fd >= 0)
		close(ruleset->ruleset_fd);
	json_decref(ruleset->receipt);
	*ruleset = (struct landlock_ruleset){ .ruleset_fd = -1 };
}
