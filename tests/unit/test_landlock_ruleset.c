/* The Landlock ruleset, in the kernel: each case builds a ruleset in this
 * process, forks, and has the child set no_new_privs, apply it and try one
 * operation, whose errno comes back as the child's exit status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "landlock/ruleset.h"
#include "landlock/uapi.h"

/* Exit status of a child that could not even confine itself. */
#define CHILD_SETUP_FAILED 250

/* Enough of the system for a dynamically linked /bin/true to run. */
static const char *const system_paths[] = { "/usr", "/bin", "/lib", "/lib64", "/etc" };

/* A scratch tree: ro/ and rw/ get rules, outside/ and the root itself do not. */
struct tree {
	char root[64];
	char ro[96];
	char rw[96];
	const char *read_only[1 + sizeof(system_paths) / sizeof(system_paths[0])];
	const char *read_write[1];
};

struct path {
	char text[192];
};

struct op_args {
	struct path path;
	struct path other;
	uint16_t port;
	char name[64];
};

typedef int child_op(const struct op_args *args);

static struct path at(const struct tree *tree, const char *relative)
{
	struct path path;

	snprintf(path.text, sizeof(path.text), "%s/%s", tree->root, relative);
	return path;
}

static void write_file(const char *path, const char *content, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	assert_int_equal(close(fd), 0);
}

static void copy_file(const char *from, const char *to, mode_t mode)
{
	char buffer[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	ssize_t got;

	assert_true(in >= 0 && out >= 0);
	while ((got = read(in, buffer, sizeof(buffer))) > 0)
		assert_int_equal(write(out, buffer, (size_t)got), got);
	assert_int_equal(got, 0);
	close(in);
	assert_int_equal(close(out), 0);
}

static int require_abi(int abi)
{
	int kernel = landlock_abi_version();

	if (kernel < abi) {
		print_message("skipped: needs Landlock ABI %d, this kernel offers %d\n", abi, kernel);
		return -1;
	}
	return 0;
}

static int tree_setup(void **state)
{
	struct tree *tree = calloc(1, sizeof(*tree));

	if (!tree)
		return -1;
	snprintf(tree->root, sizeof(tree->root), "/tmp/si-landlock-XXXXXX");
	if (!mkdtemp(tree->root))
		return -1;
	snprintf(tree->ro, sizeof(tree->ro), "%s/ro", tree->root);
	snprintf(tree->rw, sizeof(tree->rw), "%s/rw", tree->root);
	if (mkdir(tree->ro, 0755) || mkdir(tree->rw, 0755) ||
	    mkdir(at(tree, "rw/sub").text, 0755) || mkdir(at(tree, "outside").text, 0755))
		return -1;
	write_file(at(tree, "ro/file").text, "read-only content\n", 0644);
	write_file(at(tree, "ro/other").text, "a sibling of file\n", 0644);
	write_file(at(tree, "rw/file").text, "writable content\n", 0644);
	write_file(at(tree, "outside/secret").text, "no rule covers this\n", 0644);
	copy_file("/bin/true", at(tree, "rw/true").text, 0755);
	tree->read_only[0] = tree->ro;
	for (size_t i = 0; i < sizeof(system_paths) / sizeof(system_paths[0]); i++)
		tree->read_only[i + 1] = system_paths[i];
	tree->read_write[0] = tree->rw;
	*state = tree;
	return 0;
}

static int remove_entry(const char *path, const struct stat *status, int type, struct FTW *walk)
{
	(void)status;
	(void)type;
	(void)walk;
	return remove(path);
}

static int tree_teardown(void **state)
{
	struct tree *tree = *state;
	int err = nftw(tree->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);

	free(tree);
	return err;
}

/* The tree's ro/ and rw/, best_effort, at the kernel's own ABI. */
static struct ruleset_spec tree_spec(const struct tree *tree)
{
	return (struct ruleset_spec){
		.read_only = tree->read_only,
		.read_only_count = 1,
		.read_write = tree->read_write,
		.read_write_count = 1,
		.enforcement = ENFORCEMENT_BEST_EFFORT,
	};
}

/* As tree_spec, plus enough of the system to execute programs. */
static struct ruleset_spec tree_and_system_spec(const struct tree *tree)
{
	struct ruleset_spec spec = tree_spec(tree);

	spec.read_only_count = sizeof(tree->read_only) / sizeof(tree->read_only[0]);
	return spec;
}

static void build(const struct ruleset_spec *spec, struct landlock_ruleset *ruleset)
{
	struct confinement_error error = { { 0 } };
	int err = ruleset_build(spec, ruleset, &error);

	if (err)
		fail_msg("ruleset_build: %s: %s", strerror(-err), error.message);
}

/* Runs op in a child confined by ruleset (unconfined when NULL); returns
 * what op returned: 0 or an errno. */
static int run_in_child(const struct landlock_ruleset *ruleset, child_op *op,
			const struct op_args *args)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (ruleset && (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || ruleset_apply(ruleset)))
			_exit(CHILD_SETUP_FAILED);
		_exit(op(args));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_not_equal(WEXITSTATUS(status), CHILD_SETUP_FAILED);
	return WEXITSTATUS(status);
}

static int result_of(int ret)
{
	return ret < 0 ? errno : 0;
}

static int open_and_close(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0600);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int op_read(const struct op_args *args)
{
	char byte;
	int fd = open(args->path.text, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno;
	return read(fd, &byte, 1) == 1 ? 0 : EIO;
}

static int op_open_for_write(const struct op_args *args)
{
	int fd = open(args->path.text, O_WRONLY | O_APPEND | O_CLOEXEC);

	if (fd < 0)
		return errno;
	return write(fd, "x", 1) == 1 ? 0 : errno;
}

static int op_create(const struct op_args *args)
{
	return open_and_close(args->path.text, O_WRONLY | O_CREAT | O_EXCL);
}

static int op_open_read_only_with_truncate(const struct op_args *args)
{
	return open_and_close(args->path.text, O_RDONLY | O_TRUNC);
}

static int op_truncate(const struct op_args *args)
{
	return result_of(truncate(args->path.text, 0));
}

static int op_execute(const struct op_args *args)
{
	char *const argv[] = { (char *)args->path.text, NULL };
	char *const envp[] = { NULL };

	execve(args->path.text, argv, envp);
	return errno;
}

static int op_rename(const struct op_args *args)
{
	return result_of(rename(args->path.text, args->other.text));
}

static int op_link(const struct op_args *args)
{
	return result_of(link(args->path.text, args->other.text));
}

static int op_mknod_char_device(const struct op_args *args)
{
	/* The numbers of /dev/null: harmless if it were ever made. */
	return result_of(mknod(args->path.text, S_IFCHR | 0600, makedev(1, 3)));
}

static int op_mknod_fifo(const struct op_args *args)
{
	return result_of(mknod(args->path.text, S_IFIFO | 0600, 0));
}

static int op_terminal_ioctl(const struct op_args *args)
{
	struct termios settings;
	int fd = open(args->path.text, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno;
	return result_of(ioctl(fd, TCGETS, &settings));
}

static struct sockaddr_in loopback(uint16_t port)
{
	return (struct sockaddr_in){
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
}

static int op_connect_tcp(const struct op_args *args)
{
	struct sockaddr_in address = loopback(args->port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return errno;
	return result_of(connect(fd, (struct sockaddr *)&address, sizeof(address)));
}

static int op_bind_tcp(const struct op_args *args)
{
	struct sockaddr_in address = loopback(args->port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return errno;
	return result_of(bind(fd, (struct sockaddr *)&address, sizeof(address)));
}

static int op_signal_parent(const struct op_args *args)
{
	(void)args;
	return result_of(kill(getppid(), 0));
}

/* A workload may still signal the children it starts after confinement. */
static int op_signal_own_child(const struct op_args *args)
{
	pid_t child = fork();
	int result;

	(void)args;
	if (child < 0)
		return errno;
	if (child == 0) {
		pause();
		_exit(0);
	}
	result = result_of(kill(child, 0));
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	return result;
}

static socklen_t abstract_address(const char *name, struct sockaddr_un *address)
{
	*address = (struct sockaddr_un){ .sun_family = AF_UNIX };
	memcpy(address->sun_path + 1, name, strlen(name));
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
}

static int listen_abstract(const char *name)
{
	struct sockaddr_un address;
	socklen_t length = abstract_address(name, &address);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&address, length) || listen(fd, 4))
		return -1;
	return fd;
}

static int op_connect_abstract(const struct op_args *args)
{
	struct sockaddr_un address;
	socklen_t length = abstract_address(args->name, &address);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return errno;
	return result_of(connect(fd, (struct sockaddr *)&address, length));
}

/* A listener made inside the domain is reachable from inside it. */
static int op_connect_abstract_own_listener(const struct op_args *args)
{
	struct op_args own = *args;

	if (snprintf(own.name, sizeof(own.name), "%s-own", args->name) >= (int)sizeof(own.name))
		return ENAMETOOLONG;
	if (listen_abstract(own.name) < 0)
		return errno;
	return op_connect_abstract(&own);
}

static int listen_tcp(uint16_t *port)
{
	struct sockaddr_in address = loopback(0);
	socklen_t length = sizeof(address);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&address, sizeof(address)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&address, &length), 0);
	*port = ntohs(address.sin_port);
	return fd;
}

static bool array_has(const json_t *array, const char *text)
{
	size_t index;
	json_t *value;

	json_array_foreach(array, index, value) {
		if (json_is_string(value) && strcmp(json_string_value(value), text) == 0)
			return true;
	}
	return false;
}

static bool skipped_has(const json_t *receipt, const char *what)
{
	size_t index;
	json_t *entry;

	json_array_foreach(json_object_get(receipt, "skipped"), index, entry) {
		if (strcmp(json_string_value(json_object_get(entry, "what")), what) == 0)
			return true;
	}
	return false;
}

static const json_t *rule_for(const json_t *receipt, const char *path)
{
	size_t index;
	json_t *rule;

	json_array_foreach(json_object_get(receipt, "rules"), index, rule) {
		if (strcmp(json_string_value(json_object_get(rule, "path")), path) == 0)
			return rule;
	}
	return NULL;
}

static int count_open_fds(void)
{
	char path[64];
	int count = 0;

	for (int fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		count += access(path, F_OK) == 0;
	}
	return count;
}

/* ---- negotiation, without the kernel ---- */

static void test_features_for_each_abi_drop_exactly_what_that_abi_lacks(void **state)
{
	const uint64_t abi_1 = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
		LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
		LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
		LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |
		LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
		LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
		LANDLOCK_ACCESS_FS_MAKE_SYM;
	const uint64_t tcp = LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP;
	const uint64_t scopes = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
	const uint32_t log = LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON;
	const struct {
		int abi;
		struct ruleset_features features;
	} expected[] = {
		{ 1, { abi_1, 0, 0, 0 } },
		{ 2, { abi_1 | LANDLOCK_ACCESS_FS_REFER, 0, 0, 0 } },
		{ 3, { abi_1 | LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE, 0, 0, 0 } },
		{ 4, { abi_1 | LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE, tcp, 0, 0 } },
		{ 5, { abi_1 | LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE |
		       LANDLOCK_ACCESS_FS_IOCTL_DEV, tcp, 0, 0 } },
		{ 6, { abi_1 | LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE |
		       LANDLOCK_ACCESS_FS_IOCTL_DEV, tcp, scopes, 0 } },
		{ 7, { abi_1 | LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE |
		       LANDLOCK_ACCESS_FS_IOCTL_DEV, tcp, scopes, log } },
		{ 8, { abi_1 | LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE |
		       LANDLOCK_ACCESS_FS_IOCTL_DEV, tcp, scopes, log } },
		{ 9, { abi_1 | LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE |
		       LANDLOCK_ACCESS_FS_IOCTL_DEV | LANDLOCK_ACCESS_FS_RESOLVE_UNIX, tcp, scopes, log } },
		/* UDP (ABI 10) stays unhandled: the contract restricts TCP only. */
		{ 10, { abi_1 | LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE |
			LANDLOCK_ACCESS_FS_IOCTL_DEV | LANDLOCK_ACCESS_FS_RESOLVE_UNIX, tcp, scopes, log } },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		struct ruleset_features features;

		ruleset_features_for_abi(expected[i].abi, &features);
		print_message("ABI %d\n", expected[i].abi);
		assert_int_equal(features.access_fs, expected[i].features.access_fs);
		assert_int_equal(features.access_net, expected[i].features.access_net);
		assert_int_equal(features.scoped, expected[i].features.scoped);
		assert_int_equal(features.restrict_flags, expected[i].features.restrict_flags);
	}
}

static void test_features_without_landlock_handle_nothing(void **state)
{
	struct ruleset_features features;

	(void)state;
	ruleset_features_for_abi(0, &features);
	assert_int_equal(features.access_fs | features.access_net | features.scoped, 0);
	assert_int_equal(features.restrict_flags, 0);
}

static void test_kernel_abi_version_is_what_the_version_probe_returns(void **state)
{
	long probed = syscall(__NR_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	(void)state;
	assert_int_equal(landlock_abi_version(), probed > 0 ? probed : 0);
}

/* ---- bad specs ---- */

static void test_relative_path_is_rejected_with_einval(void **state)
{
	const char *const read_write[] = { "/tmp", "tmp" };
	struct ruleset_spec spec = { .read_write = read_write, .read_write_count = 2 };
	struct confinement_error error = { { 0 } };
	struct landlock_ruleset ruleset;

	(void)state;
	assert_int_equal(ruleset_build(&spec, &ruleset, &error), -EINVAL);
	assert_string_equal(error.message,
			    "landlock: read_write[1]: path must be absolute: \"tmp\"");
	assert_int_equal(ruleset.ruleset_fd, -1);
	assert_null(ruleset.receipt);
}

static void test_port_zero_is_rejected_with_einval(void **state)
{
	const uint16_t ports[] = { 443, 0 };
	struct ruleset_spec spec = { .connect_ports = ports, .connect_port_count = 2 };
	struct confinement_error error = { { 0 } };
	struct landlock_ruleset ruleset;

	(void)state;
	assert_int_equal(ruleset_build(&spec, &ruleset, &error), -EINVAL);
	assert_string_equal(error.message, "landlock: connect_ports[1]: port 0 is not a port");
}

/* ---- the ruleset and its fds ---- */

static void test_ruleset_fd_is_close_on_exec_and_no_path_fd_is_left_open(void **state)
{
	struct tree *tree = *state;
	struct ruleset_spec spec = tree_and_system_spec(tree);
	struct landlock_ruleset ruleset;
	int before;

	if (require_abi(1))
		skip();
	before = count_open_fds();
	build(&spec, &ruleset);
	assert_int_equal(count_open_fds(), before + 1);
	assert_true(fcntl(ruleset.ruleset_fd, F_GETFD) & FD_CLOEXEC);
	ruleset_release(&ruleset);
	assert_int_equal(count_open_fds(), before);
	assert_int_equal(ruleset.ruleset_fd, -1);
	assert_null(ruleset.receipt);
}

static void test_ruleset_builds_and_confines_at_every_abi_up_to_the_kernels(void **state)
{
	struct tree *tree = *state;
	struct op_args inside = { .path = at(tree, "ro/file") };
	struct op_args outside = { .path = at(tree, "outside/secret") };
	int kernel = landlock_abi_version();

	if (require_abi(1))
		skip();
	for (int abi = 1; abi <= kernel; abi++) {
		struct ruleset_spec spec = tree_spec(tree);
		struct ruleset_features features;
		struct landlock_ruleset ruleset;

		print_message("ABI %d\n", abi);
		spec.max_abi = abi;
		build(&spec, &ruleset);
		ruleset_features_for_abi(abi, &features);
		assert_int_equal(ruleset.abi, abi);
		assert_int_equal(ruleset.handled_access_fs, features.access_fs);
		assert_int_equal(ruleset.handled_access_net, features.access_net);
		assert_int_equal(ruleset.scoped, features.scoped);
		assert_int_equal(ruleset.restrict_flags, features.restrict_flags);
		assert_int_equal(json_integer_value(json_object_get(ruleset.receipt, "abi")), abi);
		assert_int_equal(run_in_child(&ruleset, op_read, &inside), 0);
		assert_int_equal(run_in_child(&ruleset, op_read, &outside), EACCES);
		ruleset_release(&ruleset);
	}
}

/* ---- read-only paths ---- */

static void test_read_under_read_only_path_succeeds(void **state)
{
	struct tree *tree = *state;
	struct ruleset_spec spec = tree_spec(tree);
	struct op_args args = { .path = at(tree, "ro/file") };
	struct landlock_ruleset ruleset;

	if (require_abi(1))
		skip();
	build(&spec, &ruleset);
	assert_int_equal(run_in_child(&ruleset, op_read, &args), 0);
	ruleset_release(&ruleset);
}

static void test_write_under_read_only_path_fails_with_eacces(void **state)
{
	struct tree *tree = *state;
	struct ruleset_spec spec = tree_spec(tree);
	struct op_args existing = { .path = at(tree, "ro/file") };
	struct op_args created = { .path = at(tree, "ro/new") };
	struct landlock_ruleset ruleset;

	if (require_abi(1))
		skip();
	build(&spec, &ruleset);
	assert_int_equal(run_in_child(&ruleset, op_open_for_write, &existing), EACCES);
	assert_int_equal(run_in_child(&ruleset, op_create, &created), EACCES);
	ruleset_release(&ruleset);
}

/* O_RDONLY isolates TRUNCATE: reading is granted, so only truncation is refused. */
static void test_open_read_only_with_o_trunc_under_read_only_path_fails_with_eacces(void **state)
{
	struct tree *tree = *state;
	struct ruleset_spec spec = tree_spec(tree);
	struct op_args args = { .path = at(tree, "ro/file") };
	struct landlock_ruleset ruleset;

	if (require_abi(3))
		skip();
	build(&spec, &ruleset);
	assert_int_equal(run_in_child(&ruleset, op_open_read_only_with_truncate, &args), EACCES);
	ruleset_release(&ruleset);
}

static void test_open_with_o_trunc_under_read_write_path_succeeds(void **state)
{
	struct tree *tree = *state;
	struct ruleset_spec spec = tree_spec(tree);
	struct op_args args = { .path = at(tree, "rw/file") };
	struct landlock_ruleset ruleset;

	if (require_abi(3))
		skip();
	build(&spec, &ruleset);
	assert_int_equal(run_in_child(&ruleset, op_open_read_only_with_truncate, &args), 0);
	ruleset_release(&ruleset);
}

static void test_truncate_under_read_only_path_fails_with_eacces(void **state)
{
	struct tree *tree = *state;
	struct ruleset_spec spec = tree_spec(tree);
	struct op_args args = { .path = at(tree, "ro/file") };
	struct landlock_ruleset ruleset;

	if (require_abi(3))
		skip();
	build(&spec, &ruleset);
	assert_int_equal(run_in_child(&ruleset, op_truncate, &args), EACCES);
	ruleset_release(&ruleset);
}

static void test_truncate_under_read_write_path_succeeds(void **state)
{
	struct tree *tree = *state;
	struct ruleset_spec spec = tree_spec(tree);
	struct op_args args = { .path = at(tree, "rw/file") };
	struct landlock_ruleset ruleset;

	if (require_abi(3))
		skip();
	build(&spec, &ruleset);
	assert_int_equal(run_in_child(&ruleset, op_truncate, &args), 0);
	ruleset_release(&ruleset);
}

static void test_execute_under_read_only_path_succeeds(void **state)
{
	struct tree *tree = *state;
	struct ruleset_spec spec = tree_and_system_spec(tree);
	struct op_args args = { .path = { "/bin/true" } };
	struct landlock_ruleset ruleset;

	if (require_abi(1))
		skip();
	build(&spec, &ruleset);
	assert_int_equal(run_in_child(&ruleset, op_execute, &args), 0);
	ruleset_release(&ruleset);
}

/* ---- read-write paths ---- */

static void test_write_under_read_write_path_succeeds(void **state)
{
	struct tree *tree = *state;
	struct ruleset_spec spec = tree_spec(tree);
	struct op_args existing = { .path = at(tree, "rw/file") };
	struct op_args created = { .path = at(tree, "rw/sub/new") };
	struct landlock_ruleset ruleset;

	if (require_abi(1))
		skip();
	build(&spec, &ruleset);
	assert_int_equal(run_in_child(&ruleset, op_open_for_write, &existing), 0);
	assert_int_equal(run_in_child(&ruleset, op_create, &created), 0);
	ruleset_release(&ruleset);
}

static void test_execute_under_read_write_path_fails_with_eacces(void **state)
{
	struct tree *tree = *state;
	struct ruleset_spec spec = tree_and_system_spec(tree);
	struct op_args args = { .path = at(tree, "rw/true") };
	struct landlock_ruleset ruleset;

	if (require_abi(1))
		skip();
	build(&spec, &ruleset);
	assert_int_equal(run_in_child(&ruleset, op_execute, &args), EACCES);
	ruleset_release(&ruleset);
}

static void test_execute_under_read_write_path_succeeds_with_allow_exec_writable(void **state)
{
	struct tree *tree = *state;
	struct ruleset_spec spec = tree_and_system_spec(tree);
	struct op_args args = { .path = at(tree, "rw/true") };
	struct landlock_ruleset ruleset;

	if (require_abi(1))
		skip();
	spec.allow_exec_writable = true;
	build(&spec, &ruleset);
	assert_true(array_has(json_object_get(rule_for(ruleset.receipt, tree->rw), "access"),
			      "execute"));
	assert_int_equal(run_in_child(&ruleset, op_execute, &args), 0);
	ruleset_release(&ruleset);
}

/* ---- outside every rule ---- */

static void test_read_outside_every_rule_fails_with_eacces(void **state)
{
	struct tree *tree = *state;
	struct ruleset_spec spec = tree_spec(tree);
	struct op_args args = { .path = at(tree, "outside/secret") };
	struct landlock_ruleset ruleset;

	if (require_abi(1))
		skip();
	build(&spec, &ruleset);
	assert_int_equal(run_in_child(NULL, op_read, &args), 0);
	assert_int_equal(run_in_child(&ruleset, op_read, &args), EACCES);
	ruleset_release(&ruleset);
}

/* ---- rename and link across the boundary ----
 * Reparenting needs REFER on both sides (else EXDEV) and also MAKE_* on the
 * destination (else EACCES); when both are missing the kernel reports
 * EACCES, which takes precedence over EXDEV.  Neither ro/ nor outside/
 * grants MAKE_REG, so leaving rw/ for them is EACCES. */

static void test_rename_from_read_write_into_read_only_fails_with_eacces(void **state)
{
	struct tree *tree = *state;
	struct ruleset_spec spec = tree_spec(tree);
	struct op_args args = { .path = at(tree, "rw/file"), .other = at(tree, "ro/moved") };
	struct landlock_ruleset ruleset;

	if (require_abi(2))
		skip();
	build(&spec, &ruleset);
	assert_int_equal(run_in_child(&ruleset, op_rename, &args), EACCES);
	ruleset_release(&ruleset);
}

static void test_link_from_read_write_into_read_only_fails_with_eacces(void **state)
{
	struct tree *tree = *state;
	struct ruleset_spec spec = tree_spec(tree);
	struct op_args args = { .path = at(tree, "rw/file"), .other = at(tree, "ro/linked") };
	struct landlock_ruleset ruleset;

	if (require_abi(2))
		skip();
	build(&spec, &ruleset);
	assert_int_equal(run_in_child(&ruleset, op_link, &args), EACCES);
	ruleset_release(&ruleset);
}

static void test_rename_from_read_write_into_unlisted_dir_fails_with_eacces(void **state)
{
	struct tree *tree = *state;
	struct ruleset_spec spec = tree_spec(tree);
	struct op_args args = { .path = at(tree, "rw/file"), .other = at(tree, "outside/moved") };
	struct landlock_ruleset ruleset;

	if (require_abi(2))
		skip();
	build(&spec, &ruleset);
	assert_int_equal(run_in_child(&ruleset, op_rename, &args), EACCES);
	ruleset_release(&ruleset);
}

static void test_rename_and_link_across_directories_within_read_write_succeed(void **state)
{
	struct tree *tree = *state;
	struct ruleset_spec spec = tree_spec(tree);
	struct op_args link_args = { .path = at(tree, "rw/file"), .other = at(tree, "rw/sub/linked") };
	struct op_args rename_args = { .path = at(tree, "rw/file"), .other = at(tree, "rw/sub/moved") };
	struct landlock_ruleset ruleset;

	if (require_abi(2))
		skip();
	build(&spec, &ruleset);
	assert_int_equal(run_in_child(&ruleset, op_link, &link_args), 0);
	assert_int_equal(run_in_child(&ruleset, op_rename, &rename_args), 0);
	ruleset_release(&ruleset);
}

/* Without REFER (ABI 1) every reparenting is denied, even inside rw/, with
 * EXDEV: the MAKE_* and REMOVE_* rights are there, only REFER is missing. */
static void test_rename_across_directories_on_abi_1_fails_with_exdev(void **state)
{
	struct tree *tree = *state;
	struct ruleset_spec spec = tree_spec(tree);
	struct op_args across = { .path = at(tree, "rw/file"), .other = at(tree, "rw/sub/moved") };
	struct op_args same_directory = { .path = at(tree, "rw/file"), .other = at(tree, "rw/renamed") };
	struct landlock_ruleset ruleset;

	if (require_abi(1))
		skip();
	spec.max_abi = 1;
	build(&spec, &ruleset);
	assert_int_equal(run_in_child(&ruleset, op_rename, &across), EXDEV);
	assert_int_equal(run_in_child(&ruleset, op_rename, &same_directory), 0);
	ruleset_release(&ruleset);
}

/* ---- symlinks ---- */

static void test_open_through_symlink_in_read_write_pointing_outside_fails_with_eacces(void **state)
{
	struct tree *tree = *state;
	struct ruleset_spec spec = tree_spec(tree);
	struct op_args args = { .path = at(tree, "rw/escape") };
	struct landlock_ruleset ruleset;

	if (require_abi(1))
		skip();
	assert_int_equal(symlink(at(tree, "outside/secret").text, args.path.text), 0);
	build(&spec, &ruleset);
	assert_int_equal(run_in_child(&ruleset, op_read, &args), EACCES);
	ruleset_release(&ruleset);
}

static void test_open_through_symlink_in_read_write_pointing_inside_succeeds(void **state)
{
	struct tree *tree = *state;
	struct ruleset_spec spec = tree_spec(tree);
	struct op_args args = { .path = at(tree, "rw/alias") };
	struct landlock_ruleset ruleset;

	if (require_abi(1))
		skip();
	assert_int_equal(symlink(at(tree, "ro/file").text, args.path.text), 0);
	build(&spec, &ruleset);
	assert_int_equal(run_in_child(&ruleset, op_read, &args), 0);
	ruleset_release(&ruleset);
}

/* ---- device nodes ---- */

static void test_mknod_char_device_in_read_write_fails_with_eacces(void **state)
{
	struct tree *tree = *state;
	struct ruleset_spec spec = tree_spec(tree);
	struct op_args confined = { .path = at(tree, "rw/device") };
	struct op_args unconfined = { .path = at(tree, "outside/device") };
	struct landlock_ruleset ruleset;

	if (require_abi(1))
		skip();
	if (geteuid() != 0) {
		print_message("skipped: mknod of a device needs root to prove anything\n");
		skip();
	}
	build(&spec, &ruleset);
	assert_int_equal(run_in_child(NULL, op_mknod_char_device, &unconfined), 0);
	assert_int_equal(run_in_child(&ruleset, op_mknod_char_device, &confined), EACCES);
	ruleset_release(&ruleset);
}

static void test_mknod_fifo_in_read_write_succeeds(void **state)
{
	struct tree *tree = *state;
	struct ruleset_spec spec = tree_spec(tree);
	struct op_args args = { .path = at(tree, "rw/fifo") };
	struct landlock_ruleset ruleset;

	if (require_abi(1))
		skip();
	build(&spec, &ruleset);
	assert_int_equal(run_in_child(&ruleset, op_mknod_fifo, &args), 0);
	ruleset_release(&ruleset);
}

/* ---- rules on single files ---- */

static void test_file_rule_gets_only_file_rights(void **state)
{
	const char *const read_write[] = { "/dev/null" };
	struct ruleset_spec spec = {
		.read_write = read_write, .read_write_count = 1,
		.enforcement = ENFORCEMENT_HARD_REQUIREMENT,
		.max_abi = 6, /* fixes the expected set: ABI 9 would add resolve_unix */
	};
	struct op_args args = { .path = { "/dev/null" } };
	struct landlock_ruleset ruleset;
	const json_t *access;

	(void)state;
	if (require_abi(6))
		skip();
	build(&spec, &ruleset);
	assert_string_equal(json_string_value(json_object_get(rule_for(ruleset.receipt, "/dev/null"),
							      "type")), "file");
	access = json_object_get(rule_for(ruleset.receipt, "/dev/null"), "access");
	assert_int_equal(json_array_size(access), 4);
	assert_true(array_has(access, "read_file"));
	assert_true(array_has(access, "write_file"));
	assert_true(array_has(access, "truncate"));
	assert_true(array_has(access, "ioctl_dev"));
	assert_int_equal(run_in_child(&ruleset, op_open_for_write, &args), 0);
	ruleset_release(&ruleset);
}

static void test_file_rule_does_not_extend_to_its_siblings(void **state)
{
	struct tree *tree = *state;
	struct path file = at(tree, "ro/file");
	const char *const read_only[] = { file.text };
	struct ruleset_spec spec = { .read_only = read_only, .read_only_count = 1 };
	struct op_args granted = { .path = file };
	struct op_args sibling = { .path = at(tree, "ro/other") };
	struct landlock_ruleset ruleset;

	if (require_abi(1))
		skip();
	build(&spec, &ruleset);
	assert_int_equal(run_in_child(&ruleset, op_read, &granted), 0);
	assert_int_equal(run_in_child(&ruleset, op_read, &sibling), EACCES);
	ruleset_release(&ruleset);
}

/* ENOTTY is /dev/null's own answer: the ioctl got through Landlock. */
static void test_device_ioctl_needs_a_read_write_rule(void **state)
{
	const char *const dev_null[] = { "/dev/null" };
	struct ruleset_spec read_only = { .read_only = dev_null, .read_only_count = 1 };
	struct ruleset_spec read_write = { .read_write = dev_null, .read_write_count = 1 };
	struct op_args args = { .path = { "/dev/null" } };
	struct landlock_ruleset ruleset;

	(void)state;
	if (require_abi(5))
		skip();
	build(&read_only, &ruleset);
	assert_int_equal(run_in_child(&ruleset, op_terminal_ioctl, &args), EACCES);
	ruleset_release(&ruleset);
	build(&read_write, &ruleset);
	assert_int_equal(run_in_child(&ruleset, op_terminal_ioctl, &args), ENOTTY);
	ruleset_release(&ruleset);
}

/* ---- TCP ---- */

static void test_tcp_connect_only_reaches_listed_ports_and_bind_is_denied(void **state)
{
	struct tree *tree = *state;
	struct ruleset_spec spec = tree_spec(tree);
	struct op_args allowed = { 0 }, other = { 0 }, bind_any = { 0 };
	struct landlock_ruleset ruleset;
	int listener_allowed, listener_other;

	if (require_abi(4))
		skip();
	listener_allowed = listen_tcp(&allowed.port);
	listener_other = listen_tcp(&other.port);
	spec.connect_ports = &allowed.port;
	spec.connect_port_count = 1;
	build(&spec, &ruleset);
	assert_int_equal(run_in_child(NULL, op_connect_tcp, &other), 0);
	assert_int_equal(run_in_child(&ruleset, op_connect_tcp, &allowed), 0);
	assert_int_equal(run_in_child(&ruleset, op_connect_tcp, &other), EACCES);
	assert_int_equal(run_in_child(&ruleset, op_bind_tcp, &bind_any), EACCES);
	bind_any.port = allowed.port;
	assert_int_equal(run_in_child(&ruleset, op_bind_tcp, &bind_any), EACCES);
	assert_string_equal(json_string_value(json_object_get(ruleset.receipt, "tcp_bind")), "denied");
	assert_int_equal(json_integer_value(json_array_get(json_object_get(ruleset.receipt,
									   "tcp_connect_ports"), 0)),
			 allowed.port);
	ruleset_release(&ruleset);
	close(listener_allowed);
	close(listener_other);
}

static void test_ports_on_abi_3_under_hard_requirement_fail_naming_tcp(void **state)
{
	const uint16_t ports[] = { 443 };
	struct ruleset_spec spec = {
		.connect_ports = ports, .connect_port_count = 1,
		.enforcement = ENFORCEMENT_HARD_REQUIREMENT, .max_abi = 3,
	};
	struct confinement_error error = { { 0 } };
	struct landlock_ruleset ruleset;

	(void)state;
	if (require_abi(3))
		skip();
	assert_int_equal(ruleset_build(&spec, &ruleset, &error), -EPERM);
	assert_non_null(strstr(error.message, "hard_requirement cannot be met"));
	assert_non_null(strstr(error.message, "Landlock ABI 3 lacks"));
	assert_non_null(strstr(error.message, "connect_tcp (ABI 4)"));
	assert_non_null(strstr(error.message, "bind_tcp (ABI 4)"));
	assert_int_equal(ruleset.ruleset_fd, -1);
	assert_null(ruleset.receipt);
}

/* The positive twin of bind's EACCES: ABI 3 cannot handle TCP, so bind works. */
static void test_ports_on_abi_3_under_best_effort_are_skipped_and_degrade(void **state)
{
	struct tree *tree = *state;
	struct ruleset_spec spec = tree_spec(tree);
	const uint16_t ports[] = { 443 };
	struct op_args bind_any = { 0 };
	struct landlock_ruleset ruleset;

	if (require_abi(3))
		skip();
	spec.connect_ports = ports;
	spec.connect_port_count = 1;
	spec.max_abi = 3;
	build(&spec, &ruleset);
	assert_true(ruleset.degraded);
	assert_int_equal(ruleset.handled_access_net, 0);
	assert_true(skipped_has(ruleset.receipt, "connect_tcp"));
	assert_true(skipped_has(ruleset.receipt, "bind_tcp"));
	assert_true(skipped_has(ruleset.receipt, "ioctl_dev"));
	assert_true(skipped_has(ruleset.receipt, "signal"));
	assert_true(skipped_has(ruleset.receipt, "abstract_unix_socket"));
	assert_false(skipped_has(ruleset.receipt, "truncate"));
	assert_string_equal(json_string_value(json_object_get(ruleset.receipt, "tcp_connect")),
			    "unrestricted");
	assert_int_equal(run_in_child(&ruleset, op_bind_tcp, &bind_any), 0);
	ruleset_release(&ruleset);
}

/* What skipping TRUNCATE costs: truncate() under read_only goes through. */
static void test_truncate_on_abi_2_is_skipped_and_not_restricted(void **state)
{
	struct tree *tree = *state;
	struct ruleset_spec spec = tree_spec(tree);
	struct op_args args = { .path = at(tree, "ro/file") };
	struct landlock_ruleset ruleset;

	if (require_abi(2))
		skip();
	spec.max_abi = 2;
	build(&spec, &ruleset);
	assert_true(ruleset.degraded);
	assert_true(skipped_has(ruleset.receipt, "truncate"));
	assert_int_equal(run_in_child(&ruleset, op_truncate, &args), 0);
	ruleset_release(&ruleset);
}

/* ---- scopes ---- */

static void test_signal_to_a_process_outside_the_domain_fails_with_eperm(void **state)
{
	struct tree *tree = *state;
	struct ruleset_spec spec = tree_spec(tree);
	struct op_args args = { 0 };
	struct landlock_ruleset ruleset;

	if (require_abi(6))
		skip();
	build(&spec, &ruleset);
	assert_int_equal(run_in_child(NULL, op_signal_parent, &args), 0);
	assert_int_equal(run_in_child(&ruleset, op_signal_parent, &args), EPERM);
	ruleset_release(&ruleset);
}

static void test_signal_to_a_child_inside_the_domain_succeeds(void **state)
{
	struct tree *tree = *state;
	struct ruleset_spec spec = tree_spec(tree);
	struct op_args args = { 0 };
	struct landlock_ruleset ruleset;

	if (require_abi(6))
		skip();
	build(&spec, &ruleset);
	assert_int_equal(run_in_child(&ruleset, op_signal_own_child, &args), 0);
	ruleset_release(&ruleset);
}

static void test_abstract_unix_connect_outside_the_domain_fails_with_eperm(void **state)
{
	struct tree *tree = *state;
	struct ruleset_spec spec = tree_spec(tree);
	struct op_args args = { 0 };
	struct landlock_ruleset ruleset;
	int listener;

	if (require_abi(6))
		skip();
	snprintf(args.name, sizeof(args.name), "si-landlock-test-%d", (int)getpid());
	listener = listen_abstract(args.name);
	assert_true(listener >= 0);
	build(&spec, &ruleset);
	assert_int_equal(run_in_child(NULL, op_connect_abstract, &args), 0);
	assert_int_equal(run_in_child(&ruleset, op_connect_abstract, &args), EPERM);
	ruleset_release(&ruleset);
	close(listener);
}

static void test_abstract_unix_connect_inside_the_domain_succeeds(void **state)
{
	struct tree *tree = *state;
	struct ruleset_spec spec = tree_spec(tree);
	struct op_args args = { 0 };
	struct landlock_ruleset ruleset;

	if (require_abi(6))
		skip();
	snprintf(args.name, sizeof(args.name), "si-landlock-inside-%d", (int)getpid());
	build(&spec, &ruleset);
	assert_int_equal(run_in_child(&ruleset, op_connect_abstract_own_listener, &args), 0);
	ruleset_release(&ruleset);
}

/* ---- logging ---- */

static void test_abi_7_asks_the_kernel_to_log_denials_after_exec(void **state)
{
	struct tree *tree = *state;
	struct ruleset_spec spec = tree_spec(tree);
	struct landlock_ruleset ruleset;

	if (require_abi(7))
		skip();
	spec.max_abi = 7;
	build(&spec, &ruleset);
	assert_int_equal(ruleset.restrict_flags, LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON);
	assert_string_equal(json_string_value(json_object_get(ruleset.receipt, "logging")),
			    "new_exec_on");
	ruleset_release(&ruleset);
}

/* Logging is taken where offered, not demanded: ABI 6 meets hard_requirement. */
static void test_abi_6_has_no_logging_and_still_meets_hard_requirement(void **state)
{
	struct tree *tree = *state;
	struct ruleset_spec spec = tree_spec(tree);
	struct landlock_ruleset ruleset;

	if (require_abi(6))
		skip();
	spec.max_abi = 6;
	spec.enforcement = ENFORCEMENT_HARD_REQUIREMENT;
	build(&spec, &ruleset);
	assert_false(ruleset.degraded);
	assert_int_equal(ruleset.restrict_flags, 0);
	assert_string_equal(json_string_value(json_object_get(ruleset.receipt, "logging")),
			    "unavailable");
	assert_int_equal(json_array_size(json_object_get(ruleset.receipt, "skipped")), 0);
	ruleset_release(&ruleset);
}

/* ---- missing paths ---- */

/* A missing path grants nothing, so skipping it loses no confinement:
 * recorded, but not a degradation. */
static void test_missing_path_under_best_effort_is_skipped_and_recorded(void **state)
{
	struct tree *tree = *state;
	struct path missing = at(tree, "no-such-dir");
	const char *const read_write[] = { missing.text, tree->rw };
	struct ruleset_spec spec = tree_spec(tree);
	struct op_args args = { .path = at(tree, "rw/file") };
	struct landlock_ruleset ruleset;

	if (require_abi(6))
		skip();
	spec.read_write = read_write;
	spec.read_write_count = 2;
	build(&spec, &ruleset);
	assert_true(skipped_has(ruleset.receipt, missing.text));
	assert_null(rule_for(ruleset.receipt, missing.text));
	assert_non_null(rule_for(ruleset.receipt, tree->rw));
	assert_false(ruleset.degraded);
	assert_int_equal(run_in_child(&ruleset, op_open_for_write, &args), 0);
	ruleset_release(&ruleset);
}

static void test_missing_path_under_hard_requirement_fails_naming_it(void **state)
{
	struct tree *tree = *state;
	struct path missing = at(tree, "no-such-dir");
	const char *const read_only[] = { tree->ro, missing.text };
	struct ruleset_spec spec = tree_spec(tree);
	struct confinement_error error = { { 0 } };
	struct landlock_ruleset ruleset;
	char expected[sizeof(error.message)];
	int before;

	if (require_abi(6))
		skip();
	spec.read_only = read_only;
	spec.read_only_count = 2;
	spec.enforcement = ENFORCEMENT_HARD_REQUIREMENT;
	before = count_open_fds();
	assert_int_equal(ruleset_build(&spec, &ruleset, &error), -EPERM);
	snprintf(expected, sizeof(expected),
		 "landlock: read_only path %s: does not exist (hard_requirement)", missing.text);
	assert_string_equal(error.message, expected);
	assert_int_equal(ruleset.ruleset_fd, -1);
	assert_null(ruleset.receipt);
	assert_int_equal(count_open_fds(), before);
}

/* ---- no Landlock at all ---- */

static void test_without_landlock_best_effort_builds_a_no_op_and_says_so(void **state)
{
	struct tree *tree = *state;
	struct ruleset_spec spec = tree_spec(tree);
	struct op_args args = { .path = at(tree, "outside/secret") };
	struct landlock_ruleset ruleset;

	spec.max_abi = -1;
	build(&spec, &ruleset);
	assert_int_equal(ruleset.ruleset_fd, -1);
	assert_int_equal(ruleset.abi, 0);
	assert_true(ruleset.degraded);
	assert_false(json_boolean_value(json_object_get(ruleset.receipt, "enforced")));
	assert_true(skipped_has(ruleset.receipt, "landlock"));
	assert_int_equal(run_in_child(&ruleset, op_read, &args), 0);
	ruleset_release(&ruleset);
}

static void test_without_landlock_hard_requirement_fails(void **state)
{
	struct tree *tree = *state;
	struct ruleset_spec spec = tree_spec(tree);
	struct confinement_error error = { { 0 } };
	struct landlock_ruleset ruleset;

	spec.max_abi = -1;
	spec.enforcement = ENFORCEMENT_HARD_REQUIREMENT;
	assert_int_equal(ruleset_build(&spec, &ruleset, &error), -EPERM);
	assert_string_equal(error.message, "landlock: hard_requirement cannot be met: "
			    "Landlock is not available on this kernel");
	assert_null(ruleset.receipt);
}

/* ---- the receipt ---- */

static void test_receipt_states_abi_rights_rules_ports_and_scopes(void **state)
{
	struct tree *tree = *state;
	struct ruleset_spec spec = tree_spec(tree);
	const uint16_t ports[] = { 443, 8000 };
	struct landlock_ruleset ruleset;
	const json_t *receipt, *ro_rule, *rw_rule;

	if (require_abi(7))
		skip();
	spec.connect_ports = ports;
	spec.connect_port_count = 2;
	spec.max_abi = 7;
	build(&spec, &ruleset);
	receipt = ruleset.receipt;
	assert_int_equal(json_integer_value(json_object_get(receipt, "abi")), 7);
	assert_int_equal(json_integer_value(json_object_get(receipt, "kernel_abi")),
			 landlock_abi_version());
	assert_true(json_boolean_value(json_object_get(receipt, "enforced")));
	assert_string_equal(json_string_value(json_object_get(receipt, "enforcement")),
			    "best_effort");
	assert_int_equal(json_array_size(json_object_get(receipt, "handled_access_fs")), 16);
	assert_true(array_has(json_object_get(receipt, "handled_access_fs"), "make_char"));
	assert_false(array_has(json_object_get(receipt, "handled_access_fs"), "resolve_unix"));
	assert_true(array_has(json_object_get(receipt, "handled_access_net"), "bind_tcp"));
	assert_true(array_has(json_object_get(receipt, "scopes"), "signal"));
	assert_true(array_has(json_object_get(receipt, "scopes"), "abstract_unix_socket"));
	assert_true(array_has(json_object_get(receipt, "not_restricted"), "pathname_unix_sockets"));
	assert_int_equal(json_array_size(json_object_get(receipt, "tcp_connect_ports")), 2);
	assert_string_equal(json_string_value(json_object_get(receipt, "tcp_connect")), "allow_list");
	ro_rule = rule_for(receipt, tree->ro);
	rw_rule = rule_for(receipt, tree->rw);
	assert_string_equal(json_string_value(json_object_get(ro_rule, "kind")), "read_only");
	assert_string_equal(json_string_value(json_object_get(ro_rule, "type")), "directory");
	assert_int_equal(json_array_size(json_object_get(ro_rule, "access")), 3);
	assert_false(array_has(json_object_get(rw_rule, "access"), "execute"));
	assert_false(array_has(json_object_get(rw_rule, "access"), "make_char"));
	assert_false(array_has(json_object_get(rw_rule, "access"), "make_block"));
	assert_true(array_has(json_object_get(rw_rule, "access"), "refer"));
	assert_int_equal(json_array_size(json_object_get(rw_rule, "access")), 13);
	assert_false(ruleset.degraded);
	ruleset_release(&ruleset);
}

#define TREE_TEST(test) cmocka_unit_test_setup_teardown(test, tree_setup, tree_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_features_for_each_abi_drop_exactly_what_that_abi_lacks),
		cmocka_unit_test(test_features_without_landlock_handle_nothing),
		cmocka_unit_test(test_kernel_abi_version_is_what_the_version_probe_returns),
		cmocka_unit_test(test_relative_path_is_rejected_with_einval),
		cmocka_unit_test(test_port_zero_is_rejected_with_einval),
		TREE_TEST(test_ruleset_fd_is_close_on_exec_and_no_path_fd_is_left_open),
		TREE_TEST(test_ruleset_builds_and_confines_at_every_abi_up_to_the_kernels),
		TREE_TEST(test_read_under_read_only_path_succeeds),
		TREE_TEST(test_write_under_read_only_path_fails_with_eacces),
		TREE_TEST(test_open_read_only_with_o_trunc_under_read_only_path_fails_with_eacces),
		TREE_TEST(test_open_with_o_trunc_under_read_write_path_succeeds),
		TREE_TEST(test_truncate_under_read_only_path_fails_with_eacces),
		TREE_TEST(test_truncate_under_read_write_path_succeeds),
		TREE_TEST(test_execute_under_read_only_path_succeeds),
		TREE_TEST(test_write_under_read_write_path_succeeds),
		TREE_TEST(test_execute_under_read_write_path_fails_with_eacces),
		TREE_TEST(test_execute_under_read_write_path_succeeds_with_allow_exec_writable),
		TREE_TEST(test_read_outside_every_rule_fails_with_eacces),
		TREE_TEST(test_rename_from_read_write_into_read_only_fails_with_eacces),
		TREE_TEST(test_link_from_read_write_into_read_only_fails_with_eacces),
		TREE_TEST(test_rename_from_read_write_into_unlisted_dir_fails_with_eacces),
		TREE_TEST(test_rename_and_link_across_directories_within_read_write_succeed),
		TREE_TEST(test_rename_across_directories_on_abi_1_fails_with_exdev),
		TREE_TEST(test_open_through_symlink_in_read_write_pointing_outside_fails_with_eacces),
		TREE_TEST(test_open_through_symlink_in_read_write_pointing_inside_succeeds),
		TREE_TEST(test_mknod_char_device_in_read_write_fails_with_eacces),
		TREE_TEST(test_mknod_fifo_in_read_write_succeeds),
		TREE_TEST(test_file_rule_gets_only_file_rights),
		TREE_TEST(test_file_rule_does_not_extend_to_its_siblings),
		TREE_TEST(test_device_ioctl_needs_a_read_write_rule),
		TREE_TEST(test_tcp_connect_only_reaches_listed_ports_and_bind_is_denied),
		TREE_TEST(test_ports_on_abi_3_under_hard_requirement_fail_naming_tcp),
		TREE_TEST(test_ports_on_abi_3_under_best_effort_are_skipped_and_degrade),
		TREE_TEST(test_truncate_on_abi_2_is_skipped_and_not_restricted),
		TREE_TEST(test_signal_to_a_process_outside_the_domain_fails_with_eperm),
		TREE_TEST(test_signal_to_a_child_inside_the_domain_succeeds),
		TREE_TEST(test_abstract_unix_connect_outside_the_domain_fails_with_eperm),
		TREE_TEST(test_abstract_unix_connect_inside_the_domain_succeeds),
		TREE_TEST(test_abi_7_asks_the_kernel_to_log_denials_after_exec),
		TREE_TEST(test_abi_6_has_no_logging_and_still_meets_hard_requirement),
		TREE_TEST(test_missing_path_under_best_effort_is_skipped_and_recorded),
		TREE_TEST(test_missing_path_under_hard_requirement_fails_naming_it),
		TREE_TEST(test_without_landlock_best_effort_builds_a_no_op_and_says_so),
		TREE_TEST(test_without_landlock_hard_requirement_fails),
		TREE_TEST(test_receipt_states_abi_rights_rules_ports_and_scopes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
