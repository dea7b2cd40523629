/* The seccomp program, in the kernel: every case forks children that set
 * no_new_privs, load the program (or not, for the twin) and make one raw
 * syscall, then report the result and errno through a pipe.
 *
 * A denied call must fail with the rule's errno under the filter and answer
 * differently without it, so the filter, not the kernel, made the
 * difference.  An allowed call must answer exactly as it does without the
 * filter.  Sweeps try thousands of argument values, upper-half garbage
 * included, against the allowed sets. */
#include "landlock/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#define NR_OPEN_TREE_ATTR 467
#define X32_SYSCALL_BIT 0x40000000L
#define I386_GETPID 20
#define GARBAGE 0xdeadbeef00000000UL
#define NOBODY 65534

static struct seccomp_program program;

/* What the child saw, written to the parent through a pipe. */
struct outcome {
	int setup_error;	/* errno of preparing the child; 0 when it went well */
	long result;		/* the syscall's return value */
	int error;		/* errno when result is -1 */
	bool skipped;		/* a precondition is missing in the child */
	long value;		/* case-specific detail */
	unsigned long checked;	/* sweeps: values tried */
	bool mismatch;		/* sweeps: a value got the wrong verdict */
	uint64_t mismatched_value;
};

struct child_report {
	bool reported;
	int status;
	struct outcome outcome;
};

enum child_setup {
	CHILD_UNCONFINED,	/* not even no_new_privs */
	CHILD_NO_NEW_PRIVS,	/* the twin: everything but the filter */
	CHILD_FILTERED,
};

typedef void child_body(const void *argument, struct outcome *outcome);

static void write_all(int fd, const void *data, size_t size)
{
	while (size > 0) {
		ssize_t written = write(fd, data, size);
		if (written <= 0)
			return;
		data = (const char *)data + written;
		size -= (size_t)written;
	}
}

static bool read_all(int fd, void *data, size_t size)
{
	while (size > 0) {
		ssize_t got = read(fd, data, size);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return false;
		data = (char *)data + got;
		size -= (size_t)got;
	}
	return true;
}

/* No core file from the children the filter kills; no controlling
 * terminal, so vhangup() and TIOCSTI cannot reach the one running the tests. */
static int prepare_child(enum child_setup setup)
{
	const struct rlimit no_core = { 0, 0 };

	setsid();
	if (setrlimit(RLIMIT_CORE, &no_core) < 0)
		return -errno;
	if (setup == CHILD_UNCONFINED)
		return 0;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return setup == CHILD_FILTERED ? seccomp_program_load(&program) : 0;
}

__attribute__((noreturn))
static void child_main(int channel, enum child_setup setup, child_body *body, const void *argument)
{
	struct outcome outcome = { 0 };
	int rc = prepare_child(setup);

	if (rc < 0)
		outcome.setup_error = -rc;
	else
		body(argument, &outcome);
	write_all(channel, &outcome, sizeof(outcome));
	/* _exit: LeakSanitizer's exit-time check would ptrace, which is denied. */
	_exit(0);
}

static struct child_report run_child(enum child_setup setup, child_body *body, const void *argument)
{
	struct child_report report = { 0 };
	int channel[2];
	pid_t pid;

	assert_int_equal(pipe2(channel, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(channel[0]);
		child_main(channel[1], setup, body, argument);
	}
	close(channel[1]);
	report.reported = read_all(channel[0], &report.outcome, sizeof(report.outcome));
	close(channel[0]);
	assert_int_equal(waitpid(pid, &report.status, 0), pid);
	if (report.reported && report.outcome.setup_error)
		fail_msg("preparing the child failed: %s", strerror(report.outcome.setup_error));
	return report;
}

static void assert_reported(const struct child_report *report)
{
	if (!report->reported && WIFSIGNALED(report->status))
		fail_msg("the child was killed by signal %d", WTERMSIG(report->status));
	assert_true(report->reported);
}

static void assert_killed_by_sigsys(const struct child_report *report)
{
	if (report->reported)
		fail_msg("the child survived: result %ld, errno %d", report->outcome.result,
			 report->outcome.error);
	assert_true(WIFSIGNALED(report->status));
	assert_int_equal(WTERMSIG(report->status), SIGSYS);
}

/* ---- one syscall with given arguments ---- */

struct syscall_case {
	long number;
	long arguments[6];
	int expected_errno;	/* denied cases */
	bool expect_success;	/* allowed cases */
	bool on_terminal;	/* argument 0 becomes a fresh pseudo-terminal master */
};

#define POINTER(pointer) ((long)(uintptr_t)(pointer))
#define ARGUMENTS(...) .arguments = { __VA_ARGS__ }
#define DENIED(test_name, error_number, syscall_number, ...)                                  \
	{ .name = "test_" #test_name, .test_func = test_denied_call,                          \
	  .initial_state = &(struct syscall_case){ .number = (syscall_number),                \
						   .expected_errno = (error_number),          \
						   ARGUMENTS(__VA_ARGS__) } }
#define ALLOWED(test_name, syscall_number, ...)                                               \
	{ .name = "test_" #test_name, .test_func = test_allowed_call,                         \
	  .initial_state = &(struct syscall_case){ .number = (syscall_number),                \
						   .expect_success = true,                    \
						   ARGUMENTS(__VA_ARGS__) } }
/* Allowed, and answering as the kernel would, success or not. */
#define UNTOUCHED(test_name, syscall_number, ...)                                             \
	{ .name = "test_" #test_name, .test_func = test_allowed_call,                         \
	  .initial_state = &(struct syscall_case){ .number = (syscall_number),                \
						   ARGUMENTS(__VA_ARGS__) } }
#define DENIED_ON_TERMINAL(test_name, syscall_number, ...)                                    \
	{ .name = "test_" #test_name, .test_func = test_denied_call,                          \
	  .initial_state = &(struct syscall_case){ .number = (syscall_number),                \
						   .expected_errno = EPERM,                   \
						   .on_terminal = true,                       \
						   ARGUMENTS(__VA_ARGS__) } }
#define ALLOWED_ON_TERMINAL(test_name, syscall_number, ...)                                   \
	{ .name = "test_" #test_name, .test_func = test_allowed_call,                         \
	  .initial_state = &(struct syscall_case){ .number = (syscall_number),                \
						   .expect_success = true,                    \
						   .on_terminal = true,                       \
						   ARGUMENTS(__VA_ARGS__) } }

static char injected_character = 'x';
static int socket_pair[2];

static void perform_case(const void *argument, struct outcome *outcome)
{
	const struct syscall_case *call = argument;
	long arguments[6];

	memcpy(arguments, call->arguments, sizeof(arguments));
	if (call->on_terminal) {
		arguments[0] = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (arguments[0] < 0) {
			outcome->skipped = true;
			return;
		}
	}
	outcome->result = syscall(call->number, arguments[0], arguments[1], arguments[2],
				  arguments[3], arguments[4], arguments[5]);
	outcome->error = errno;
	/* A clone the kernel allowed: the copy leaves at once, the original reaps it. */
	if (call->number == SYS_clone && outcome->result == 0)
		_exit(0);
	if (call->number == SYS_clone && outcome->result > 0)
		waitpid((pid_t)outcome->result, NULL, 0);
}

static void test_denied_call(void **state)
{
	const struct syscall_case *call = *state;
	struct child_report filtered = run_child(CHILD_FILTERED, perform_case, call);
	struct child_report plain = run_child(CHILD_NO_NEW_PRIVS, perform_case, call);

	assert_reported(&filtered);
	assert_reported(&plain);
	if (filtered.outcome.skipped)
		skip();
	if (filtered.outcome.result != -1 || filtered.outcome.error != call->expected_errno)
		fail_msg("under the filter: result %ld, errno %s; expected %s",
			 filtered.outcome.result, strerrorname_np(filtered.outcome.error),
			 strerrorname_np(call->expected_errno));
	if (plain.outcome.result == -1 && plain.outcome.error == call->expected_errno) {
		print_message("the kernel alone answers %s too: nothing tells the filter apart\n",
			      strerrorname_np(call->expected_errno));
		skip();
	}
}

static void test_allowed_call(void **state)
{
	const struct syscall_case *call = *state;
	struct child_report filtered = run_child(CHILD_FILTERED, perform_case, call);
	struct child_report plain = run_child(CHILD_NO_NEW_PRIVS, perform_case, call);

	assert_reported(&filtered);
	assert_reported(&plain);
	if (filtered.outcome.skipped)
		skip();
	if (call->expect_success && filtered.outcome.result < 0)
		fail_msg("under the filter: errno %s", strerrorname_np(filtered.outcome.error));
	if ((filtered.outcome.result < 0) != (plain.outcome.result < 0) ||
	    (filtered.outcome.result < 0 && filtered.outcome.error != plain.outcome.error))
		fail_msg("under the filter: result %ld errno %s; without: result %ld errno %s",
			 filtered.outcome.result, strerrorname_np(filtered.outcome.error),
			 plain.outcome.result, strerrorname_np(plain.outcome.error));
}

/* ---- architectures: anything but native x86_64 numbers is killed ---- */

static void call_x32_getppid(const void *argument, struct outcome *outcome)
{
	(void)argument;
	outcome->result = syscall(X32_SYSCALL_BIT | SYS_getppid);
	outcome->error = errno;
}

static void call_x32_ptrace(const void *argument, struct outcome *outcome)
{
	(void)argument;
	outcome->result = syscall(X32_SYSCALL_BIT | SYS_ptrace, PTRACE_TRACEME, 0, 0, 0);
	outcome->error = errno;
}

static void call_getppid(const void *argument, struct outcome *outcome)
{
	(void)argument;
	outcome->result = syscall(SYS_getppid);
	outcome->error = errno;
	outcome->value = getppid();
}

static void call_number_minus_one(const void *argument, struct outcome *outcome)
{
	(void)argument;
	outcome->result = syscall(-1L);
	outcome->error = errno;
}

#if defined(__x86_64__)
/* The i386 entry from a 64-bit process: the kernel reports AUDIT_ARCH_I386
 * and reads i386 numbers (20 is getpid there; 64-bit 20 is writev). */
static long i386_syscall0(long number)
{
	long result = number;

	__asm__ volatile("int $0x80" : "+a"(result) : : "memory", "cc", "r8", "r9", "r10", "r11");
	return result;
}

static void call_i386_getpid(const void *argument, struct outcome *outcome)
{
	(void)argument;
	outcome->result = i386_syscall0(I386_GETPID);
	outcome->value = getpid();
}
#endif

static void test_x32_syscall_number_kills_the_process_with_sigsys(void **state)
{
	struct child_report report = run_child(CHILD_FILTERED, call_x32_getppid, NULL);

	(void)state;
	assert_killed_by_sigsys(&report);
}

static void test_x32_number_of_a_denied_syscall_kills_rather_than_fails(void **state)
{
	struct child_report report = run_child(CHILD_FILTERED, call_x32_ptrace, NULL);

	(void)state;
	assert_killed_by_sigsys(&report);
}

/* Twin: the kernel alone does not kill (ENOSYS without CONFIG_X86_X32_ABI). */
static void test_x32_syscall_number_without_the_filter_returns(void **state)
{
	struct child_report report = run_child(CHILD_NO_NEW_PRIVS, call_x32_getppid, NULL);

	(void)state;
	assert_reported(&report);
}

static void test_native_getppid_works_under_the_filter(void **state)
{
	struct child_report report = run_child(CHILD_FILTERED, call_getppid, NULL);

	(void)state;
	assert_reported(&report);
	assert_int_equal(report.outcome.result, getpid());
	assert_int_equal(report.outcome.result, report.outcome.value);
}

/* libseccomp lets -1 through its x32 check: a tracer uses it to skip a call. */
static void test_syscall_number_minus_one_fails_with_enosys_and_is_not_killed(void **state)
{
	struct child_report report = run_child(CHILD_FILTERED, call_number_minus_one, NULL);

	(void)state;
	assert_reported(&report);
	assert_int_equal(report.outcome.result, -1);
	assert_int_equal(report.outcome.error, ENOSYS);
}

static void test_i386_int80_getpid_works_without_the_filter(void **state)
{
	(void)state;
#if defined(__x86_64__)
	struct child_report report = run_child(CHILD_NO_NEW_PRIVS, call_i386_getpid, NULL);

	if (!report.reported && WIFSIGNALED(report.status)) {
		print_message("int 0x80 dies with signal %d without a filter: no IA32 emulation\n",
			      WTERMSIG(report.status));
		skip();
	}
	assert_reported(&report);
	assert_int_equal(report.outcome.result, report.outcome.value);
#else
	skip();
#endif
}

static void test_i386_int80_entry_kills_the_process_with_sigsys(void **state)
{
	(void)state;
#if defined(__x86_64__)
	struct child_report plain = run_child(CHILD_NO_NEW_PRIVS, call_i386_getpid, NULL);
	struct child_report filtered = run_child(CHILD_FILTERED, call_i386_getpid, NULL);

	if (!plain.reported) {
		print_message("int 0x80 fails without the filter too: no IA32 emulation\n");
		skip();
	}
	assert_killed_by_sigsys(&filtered);
#else
	skip();
#endif
}

/* ---- the cases: one syscall each, denied or allowed ---- */

#define NO_SUCH_PATH "/nonexistent-sandbox-init-seccomp-test"
#define NO_SUCH_PID 0x3fffffff /* above PID_MAX_LIMIT */
#define SYSLOG_ACTION_SIZE_BUFFER 10

static struct winsize window_size;
static struct timex clock_state; /* modes 0: read only */

static const struct CMUnitTest process_and_kernel_tests[] = {
	DENIED(ptrace_traceme_fails_with_eperm, EPERM, SYS_ptrace, PTRACE_TRACEME),
	DENIED(process_vm_readv_fails_with_eperm, EPERM, SYS_process_vm_readv, NO_SUCH_PID),
	DENIED(process_vm_writev_fails_with_eperm, EPERM, SYS_process_vm_writev, NO_SUCH_PID),
	DENIED(pidfd_getfd_fails_with_eperm, EPERM, SYS_pidfd_getfd, -1, 0, 0),
	DENIED(kcmp_fails_with_eperm, EPERM, SYS_kcmp, NO_SUCH_PID, NO_SUCH_PID, 0, 0, 0),
	DENIED(bpf_fails_with_eperm, EPERM, SYS_bpf, 0x7fff, 0, 0),
	DENIED(perf_event_open_fails_with_eperm, EPERM, SYS_perf_event_open, 0, 0, -1, -1, 0),
	DENIED(userfaultfd_fails_with_eperm, EPERM, SYS_userfaultfd, O_CLOEXEC),
	DENIED(keyctl_fails_with_eperm, EPERM, SYS_keyctl, 0 /* GET_KEYRING_ID */, -2, 0),
	DENIED(add_key_fails_with_eperm, EPERM, SYS_add_key, 0, 0, 0, 0, 0),
	DENIED(request_key_fails_with_eperm, EPERM, SYS_request_key, 0, 0, 0, 0),
	DENIED(kexec_load_fails_with_eperm, EPERM, SYS_kexec_load, 0, 0, 0, 0),
	DENIED(kexec_file_load_fails_with_eperm, EPERM, SYS_kexec_file_load, -1, -1, 0, 0, 0),
	DENIED(init_module_fails_with_eperm, EPERM, SYS_init_module, 0, 0, POINTER("")),
	DENIED(finit_module_fails_with_eperm, EPERM, SYS_finit_module, -1, POINTER(""), 0),
	DENIED(delete_module_fails_with_eperm, EPERM, SYS_delete_module, POINTER("no_such_module"),
	       0),
	DENIED(clone3_fails_with_enosys, ENOSYS, SYS_clone3, 0, 0),
	DENIED(io_uring_setup_fails_with_enosys, ENOSYS, SYS_io_uring_setup, 1, 0),
	DENIED(io_uring_enter_fails_with_enosys, ENOSYS, SYS_io_uring_enter, -1, 0, 0, 0, 0, 0),
	DENIED(io_uring_register_fails_with_enosys, ENOSYS, SYS_io_uring_register, -1, 0, 0, 0),
	ALLOWED(getppid_works, SYS_getppid),
};

static const struct CMUnitTest filesystem_tests[] = {
	DENIED(mount_fails_with_eperm, EPERM, SYS_mount, POINTER("none"), POINTER(NO_SUCH_PATH),
	       POINTER("tmpfs"), 0, 0),
	DENIED(umount2_fails_with_eperm, EPERM, SYS_umount2, POINTER(NO_SUCH_PATH), 0),
	DENIED(move_mount_fails_with_eperm, EPERM, SYS_move_mount, -1, POINTER(""), -1,
	       POINTER(""), 0),
	DENIED(open_tree_fails_with_eperm, EPERM, SYS_open_tree, -1, POINTER(NO_SUCH_PATH), 0),
	DENIED(open_tree_attr_fails_with_eperm, EPERM, NR_OPEN_TREE_ATTR, -1,
	       POINTER(NO_SUCH_PATH), 0, 0, 0),
	DENIED(fsopen_fails_with_eperm, EPERM, SYS_fsopen, POINTER("no-such-filesystem"), 0),
	DENIED(fsconfig_fails_with_eperm, EPERM, SYS_fsconfig, -1, 0, 0, 0, 0),
	DENIED(fsmount_fails_with_eperm, EPERM, SYS_fsmount, -1, 0, 0),
	DENIED(fspick_fails_with_eperm, EPERM, SYS_fspick, -1, POINTER(NO_SUCH_PATH), 0),
	DENIED(mount_setattr_fails_with_eperm, EPERM, SYS_mount_setattr, -1,
	       POINTER(NO_SUCH_PATH), 0, 0, 0),
	DENIED(pivot_root_fails_with_eperm, EPERM, SYS_pivot_root, POINTER(NO_SUCH_PATH),
	       POINTER(NO_SUCH_PATH)),
	DENIED(chroot_fails_with_eperm, EPERM, SYS_chroot, POINTER(NO_SUCH_PATH)),
	DENIED(open_by_handle_at_fails_with_eperm, EPERM, SYS_open_by_handle_at, -1, 0, 0),
	UNTOUCHED(name_to_handle_at_answers_as_without_the_filter, SYS_name_to_handle_at,
		  AT_FDCWD, POINTER("/"), 0, 0, 0),
	DENIED(memfd_create_with_mfd_exec_fails_with_eperm, EPERM, SYS_memfd_create,
	       POINTER("exec"), MFD_EXEC | MFD_CLOEXEC),
	ALLOWED(memfd_create_with_mfd_cloexec_works, SYS_memfd_create, POINTER("plain"),
		MFD_CLOEXEC),
	ALLOWED(memfd_create_with_mfd_noexec_seal_works, SYS_memfd_create, POINTER("sealed"),
		MFD_NOEXEC_SEAL | MFD_CLOEXEC),
};

static const struct CMUnitTest namespace_tests[] = {
	DENIED(setns_fails_with_eperm, EPERM, SYS_setns, -1, 0),
	DENIED(unshare_clone_newuser_fails_with_eperm, EPERM, SYS_unshare, CLONE_NEWUSER),
	DENIED(unshare_clone_newns_fails_with_eperm, EPERM, SYS_unshare, CLONE_NEWNS),
	DENIED(unshare_clone_newuts_fails_with_eperm, EPERM, SYS_unshare, CLONE_NEWUTS),
	DENIED(unshare_clone_newipc_fails_with_eperm, EPERM, SYS_unshare, CLONE_NEWIPC),
	DENIED(unshare_clone_newpid_fails_with_eperm, EPERM, SYS_unshare, CLONE_NEWPID),
	DENIED(unshare_clone_newnet_fails_with_eperm, EPERM, SYS_unshare, CLONE_NEWNET),
	DENIED(unshare_clone_newcgroup_fails_with_eperm, EPERM, SYS_unshare, CLONE_NEWCGROUP),
	DENIED(unshare_clone_newtime_fails_with_eperm, EPERM, SYS_unshare, CLONE_NEWTIME),
	DENIED(unshare_clone_files_with_clone_newuser_fails_with_eperm, EPERM, SYS_unshare,
	       CLONE_FILES | CLONE_NEWUSER),
	ALLOWED(unshare_clone_files_works, SYS_unshare, CLONE_FILES),
	ALLOWED(unshare_without_flags_works, SYS_unshare, 0),
	DENIED(clone_with_clone_newuser_fails_with_eperm, EPERM, SYS_clone,
	       CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0),
	DENIED(clone_with_clone_newns_fails_with_eperm, EPERM, SYS_clone, CLONE_NEWNS | SIGCHLD,
	       0, 0, 0, 0),
	DENIED(clone_with_clone_newuts_fails_with_eperm, EPERM, SYS_clone,
	       CLONE_NEWUTS | SIGCHLD, 0, 0, 0, 0),
	DENIED(clone_with_clone_newipc_fails_with_eperm, EPERM, SYS_clone,
	       CLONE_NEWIPC | SIGCHLD, 0, 0, 0, 0),
	DENIED(clone_with_clone_newpid_fails_with_eperm, EPERM, SYS_clone,
	       CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0),
	DENIED(clone_with_clone_newnet_fails_with_eperm, EPERM, SYS_clone,
	       CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0),
	DENIED(clone_with_clone_newcgroup_fails_with_eperm, EPERM, SYS_clone,
	       CLONE_NEWCGROUP | SIGCHLD, 0, 0, 0, 0),
	ALLOWED(clone_without_namespace_flags_works, SYS_clone, SIGCHLD, 0, 0, 0, 0),
};

static const struct CMUnitTest personality_and_terminal_tests[] = {
	DENIED(personality_addr_no_randomize_fails_with_eperm, EPERM, SYS_personality,
	       ADDR_NO_RANDOMIZE),
	DENIED(personality_read_implies_exec_fails_with_eperm, EPERM, SYS_personality,
	       READ_IMPLIES_EXEC),
	DENIED(personality_per_bsd_fails_with_eperm, EPERM, SYS_personality, PER_BSD),
	DENIED(personality_addr_no_randomize_with_garbage_upper_half_fails_with_eperm, EPERM,
	       SYS_personality, (long)(GARBAGE | ADDR_NO_RANDOMIZE)),
	ALLOWED(personality_query_works, SYS_personality, 0xffffffffL),
	ALLOWED(personality_per_linux_works, SYS_personality, PER_LINUX),
	ALLOWED(personality_per_linux32_works, SYS_personality, PER_LINUX32),
	ALLOWED(personality_uname26_works, SYS_personality, UNAME26),
	ALLOWED(personality_per_linux32_with_garbage_upper_half_works, SYS_personality,
		(long)(GARBAGE | PER_LINUX32)),
	DENIED_ON_TERMINAL(ioctl_tiocsti_fails_with_eperm, SYS_ioctl, 0, TIOCSTI,
			   POINTER(&injected_character)),
	DENIED_ON_TERMINAL(ioctl_tiocsti_with_garbage_upper_half_fails_with_eperm, SYS_ioctl, 0,
			   (long)(GARBAGE | TIOCSTI), POINTER(&injected_character)),
	DENIED_ON_TERMINAL(ioctl_tioclinux_fails_with_eperm, SYS_ioctl, 0, TIOCLINUX,
			   POINTER(&injected_character)),
	ALLOWED_ON_TERMINAL(ioctl_tiocgwinsz_works, SYS_ioctl, 0, TIOCGWINSZ,
			    POINTER(&window_size)),
};

static const struct CMUnitTest socket_tests[] = {
	DENIED(socket_af_packet_fails_with_eperm, EPERM, SYS_socket, AF_PACKET, SOCK_RAW, 0),
	DENIED(socket_af_packet_with_garbage_upper_half_fails_with_eperm, EPERM, SYS_socket,
	       (long)(GARBAGE | AF_PACKET), SOCK_RAW, 0),
	DENIED(socket_af_alg_fails_with_eperm, EPERM, SYS_socket, AF_ALG, SOCK_SEQPACKET, 0),
	DENIED(socket_af_vsock_fails_with_eperm, EPERM, SYS_socket, AF_VSOCK, SOCK_STREAM, 0),
	DENIED(socket_af_key_fails_with_eperm, EPERM, SYS_socket, AF_KEY, SOCK_RAW, 2),
	DENIED(socket_af_unspec_fails_with_eperm, EPERM, SYS_socket, AF_UNSPEC, SOCK_STREAM, 0),
	DENIED(socket_inet_sock_raw_fails_with_eperm, EPERM, SYS_socket, AF_INET, SOCK_RAW,
	       IPPROTO_ICMP),
	DENIED(socket_inet6_sock_raw_nonblocking_cloexec_fails_with_eperm, EPERM, SYS_socket,
	       AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6),
	DENIED(socket_inet_sock_packet_fails_with_eperm, EPERM, SYS_socket, AF_INET, SOCK_PACKET,
	       0),
	DENIED(socket_inet_sock_seqpacket_fails_with_eperm, EPERM, SYS_socket, AF_INET,
	       SOCK_SEQPACKET, 0),
	DENIED(socket_inet_mptcp_fails_with_eperm, EPERM, SYS_socket, AF_INET, SOCK_STREAM,
	       IPPROTO_MPTCP),
	DENIED(socket_inet6_mptcp_fails_with_eperm, EPERM, SYS_socket, AF_INET6, SOCK_STREAM,
	       IPPROTO_MPTCP),
	DENIED(socket_inet_mptcp_with_garbage_upper_half_fails_with_eperm, EPERM, SYS_socket,
	       AF_INET, SOCK_STREAM, (long)(GARBAGE | IPPROTO_MPTCP)),
	DENIED(socket_inet_sctp_fails_with_eperm, EPERM, SYS_socket, AF_INET, SOCK_STREAM,
	       IPPROTO_SCTP),
	DENIED(socket_inet_udplite_fails_with_eperm, EPERM, SYS_socket, AF_INET, SOCK_DGRAM,
	       IPPROTO_UDPLITE),
	DENIED(socket_netlink_audit_fails_with_eperm, EPERM, SYS_socket, AF_NETLINK, SOCK_RAW,
	       NETLINK_AUDIT),
	DENIED(socket_netlink_sock_diag_fails_with_eperm, EPERM, SYS_socket, AF_NETLINK,
	       SOCK_DGRAM, NETLINK_SOCK_DIAG),
	DENIED(socket_netlink_kobject_uevent_fails_with_eperm, EPERM, SYS_socket, AF_NETLINK,
	       SOCK_RAW, NETLINK_KOBJECT_UEVENT),
	DENIED(socketpair_af_packet_fails_with_eperm, EPERM, SYS_socketpair, AF_PACKET,
	       SOCK_DGRAM, 0, POINTER(socket_pair)),
	ALLOWED(socket_inet_stream_works, SYS_socket, AF_INET, SOCK_STREAM, 0),
	ALLOWED(socket_inet_tcp_nonblocking_cloexec_works, SYS_socket, AF_INET,
		SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP),
	ALLOWED(socket_inet_with_garbage_upper_half_works, SYS_socket, (long)(GARBAGE | AF_INET),
		SOCK_STREAM, 0),
	ALLOWED(socket_inet6_udp_works, SYS_socket, AF_INET6, SOCK_DGRAM, IPPROTO_UDP),
	ALLOWED(socket_unix_stream_works, SYS_socket, AF_UNIX, SOCK_STREAM, 0),
	ALLOWED(socket_unix_seqpacket_works, SYS_socket, AF_UNIX, SOCK_SEQPACKET, 0),
	ALLOWED(socket_netlink_route_raw_works, SYS_socket, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE),
	ALLOWED(socket_netlink_route_datagram_cloexec_works, SYS_socket, AF_NETLINK,
		SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_ROUTE),
	UNTOUCHED(socket_inet_icmp_datagram_answers_as_without_the_filter, SYS_socket, AF_INET,
		  SOCK_DGRAM, IPPROTO_ICMP),
	ALLOWED(socketpair_unix_stream_works, SYS_socketpair, AF_UNIX, SOCK_STREAM, 0,
		POINTER(socket_pair)),
	UNTOUCHED(socketpair_inet_answers_as_without_the_filter, SYS_socketpair, AF_INET,
		  SOCK_STREAM, 0, POINTER(socket_pair)),
};

static const struct CMUnitTest host_administration_tests[] = {
	DENIED(acct_fails_with_eperm, EPERM, SYS_acct, POINTER(NO_SUCH_PATH)),
	DENIED(swapon_fails_with_eperm, EPERM, SYS_swapon, POINTER(NO_SUCH_PATH), 0),
	DENIED(swapoff_fails_with_eperm, EPERM, SYS_swapoff, POINTER(NO_SUCH_PATH)),
	/* Magic numbers 0: even unfiltered, the kernel refuses with EINVAL. */
	DENIED(reboot_fails_with_eperm, EPERM, SYS_reboot, 0, 0, 0, 0),
	DENIED(settimeofday_fails_with_eperm, EPERM, SYS_settimeofday, 0, 0),
	DENIED(clock_settime_fails_with_eperm, EPERM, SYS_clock_settime, CLOCK_REALTIME, 0),
	DENIED(quotactl_fails_with_eperm, EPERM, SYS_quotactl, 0, 0, 0, 0),
	DENIED(quotactl_fd_fails_with_eperm, EPERM, SYS_quotactl_fd, -1, 0, 0, 0),
	DENIED(lookup_dcookie_fails_with_eperm, EPERM, SYS_lookup_dcookie, 0, 0, 0),
	DENIED(uselib_fails_with_eperm, EPERM, SYS_uselib, 0),
	DENIED(nfsservctl_fails_with_eperm, EPERM, SYS_nfsservctl, 0, 0, 0),
	DENIED(ioperm_fails_with_eperm, EPERM, SYS_ioperm, 0, 0, 0),
	DENIED(iopl_fails_with_eperm, EPERM, SYS_iopl, 0),
	DENIED(vhangup_fails_with_eperm, EPERM, SYS_vhangup),
	DENIED(syslog_fails_with_eperm, EPERM, SYS_syslog, SYSLOG_ACTION_SIZE_BUFFER, 0, 0),
	ALLOWED(adjtimex_reading_the_clock_state_works, SYS_adjtimex, POINTER(&clock_state)),
};

/* ---- sweeps: many values of one argument against the allowed set ---- */

enum sweep_rule {
	SWEEP_ALLOWS_VALUES,	/* allowed when (value & field) is one of values */
	SWEEP_DENIES_VALUES,	/* denied when (value & field) is one of values */
	SWEEP_DENIES_BITS,	/* denied when value has any bit of field */
};

struct sweep {
	long number;
	long arguments[6];
	unsigned int swept;
	enum sweep_rule rule;
	uint32_t field;
	uint32_t values[8];
	unsigned int value_count;
};

#define MAX_SWEEP_VALUES 4096
#define SWEEP(test_name, syscall_number, swept_argument, sweep_rule, field_mask, template, ...) \
	{ .name = "test_" #test_name, .test_func = test_sweep,                                \
	  .initial_state = &(struct sweep){                                                   \
		  .number = (syscall_number), .arguments = template,                          \
		  .swept = (swept_argument), .rule = (sweep_rule), .field = (field_mask),     \
		  .values = { __VA_ARGS__ },                                                  \
		  .value_count = sizeof((uint32_t[]){ __VA_ARGS__ }) / sizeof(uint32_t) } }
#define WITH(...) { __VA_ARGS__ }

static bool sweep_denies(const struct sweep *sweep, uint64_t value)
{
	uint32_t lower = (uint32_t)value & sweep->field;
	bool listed = false;

	if (sweep->rule == SWEEP_DENIES_BITS)
		return lower != 0;
	for (unsigned int i = 0; i < sweep->value_count; i++)
		listed = listed || lower == sweep->values[i];
	return sweep->rule == SWEEP_ALLOWS_VALUES ? !listed : listed;
}

static uint64_t next_random(uint64_t *state)
{
	*state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (*state >> 32) | (*state << 32);
}

/* Around every listed value, every power of two (and one less), each also
 * with garbage in the upper half, then pseudo-random values with and
 * without an upper half. */
static unsigned int sweep_values(const struct sweep *sweep, uint64_t *values)
{
	uint64_t random_state = 0x5eccc0b5eed;
	unsigned int count = 0;

	for (unsigned int i = 0; i < sweep->value_count; i++) {
		values[count++] = (uint32_t)(sweep->values[i] - 1);
		values[count++] = sweep->values[i];
		values[count++] = (uint32_t)(sweep->values[i] + 1);
	}
	for (unsigned int bit = 0; bit < 32; bit++) {
		values[count++] = (uint64_t)1 << bit;
		values[count++] = ((uint64_t)1 << bit) - 1;
	}
	values[count++] = 0xffffffffU;
	for (unsigned int i = 0, listed = count; i < listed; i++)
		values[count++] = GARBAGE | values[i];
	while (count + 2 <= MAX_SWEEP_VALUES) {
		uint64_t value = next_random(&random_state);
		values[count++] = value;
		values[count++] = (uint32_t)value;
	}
	return count;
}

static void run_sweep(const void *argument, struct outcome *outcome)
{
	const struct sweep *sweep = argument;
	static uint64_t values[MAX_SWEEP_VALUES];
	unsigned int count = sweep_values(sweep, values);

	for (unsigned int i = 0; i < count; i++) {
		long arguments[6];

		memcpy(arguments, sweep->arguments, sizeof(arguments));
		arguments[sweep->swept] = (long)values[i];
		long result = syscall(sweep->number, arguments[0], arguments[1], arguments[2],
				      arguments[3], arguments[4], arguments[5]);
		int error = errno;
		bool denied = result == -1 && error == EPERM;

		outcome->checked++;
		if (denied != sweep_denies(sweep, values[i])) {
			outcome->mismatch = true;
			outcome->mismatched_value = values[i];
			outcome->result = result;
			outcome->error = error;
			return;
		}
	}
}

static void test_sweep(void **state)
{
	const struct sweep *sweep = *state;
	struct child_report report = run_child(CHILD_FILTERED, run_sweep, sweep);

	assert_reported(&report);
	if (report.outcome.mismatch)
		fail_msg("argument %u = 0x%016" PRIx64 ": result %ld errno %s, expected %s",
			 sweep->swept, report.outcome.mismatched_value, report.outcome.result,
			 strerrorname_np(report.outcome.error),
			 sweep_denies(sweep, report.outcome.mismatched_value) ? "EPERM"
									      : "no EPERM");
	assert_true(report.outcome.checked >= MAX_SWEEP_VALUES - 1);
}

#define NAMESPACE_BITS (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | \
			CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWTIME)

static const struct CMUnitTest sweep_tests[] = {
	SWEEP(socket_family_is_denied_exactly_outside_unix_inet_inet6_netlink, SYS_socket, 0,
	      SWEEP_ALLOWS_VALUES, 0xffffffffU, WITH(0, SOCK_DGRAM, 0),
	      AF_UNIX, AF_INET, AF_INET6, AF_NETLINK),
	SWEEP(socketpair_family_is_denied_exactly_outside_unix_inet_inet6_netlink, SYS_socketpair,
	      0, SWEEP_ALLOWS_VALUES, 0xffffffffU, WITH(0, SOCK_DGRAM, 0, POINTER(socket_pair)),
	      AF_UNIX, AF_INET, AF_INET6, AF_NETLINK),
	SWEEP(netlink_protocol_is_denied_exactly_when_not_route, SYS_socket, 2,
	      SWEEP_ALLOWS_VALUES, 0xffffffffU, WITH(AF_NETLINK, SOCK_RAW, 0), NETLINK_ROUTE),
	SWEEP(inet_socket_type_is_denied_exactly_when_not_stream_or_datagram, SYS_socket, 1,
	      SWEEP_ALLOWS_VALUES, 0xfU, WITH(AF_INET, 0, 0), SOCK_STREAM, SOCK_DGRAM),
	SWEEP(inet6_socket_type_is_denied_exactly_when_not_stream_or_datagram, SYS_socket, 1,
	      SWEEP_ALLOWS_VALUES, 0xfU, WITH(AF_INET6, 0, 0), SOCK_STREAM, SOCK_DGRAM),
	SWEEP(inet_protocol_is_denied_exactly_outside_tcp_udp_icmp, SYS_socket, 2,
	      SWEEP_ALLOWS_VALUES, 0xffffffffU, WITH(AF_INET, SOCK_DGRAM, 0),
	      0, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMPV6),
	SWEEP(inet6_protocol_is_denied_exactly_outside_tcp_udp_icmp, SYS_socket, 2,
	      SWEEP_ALLOWS_VALUES, 0xffffffffU, WITH(AF_INET6, SOCK_DGRAM, 0),
	      0, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMPV6),
	SWEEP(personality_is_denied_exactly_outside_the_harmless_values, SYS_personality, 0,
	      SWEEP_ALLOWS_VALUES, 0xffffffffU, WITH(0),
	      PER_LINUX, PER_LINUX32, UNAME26, UNAME26 | PER_LINUX32, 0xffffffffU),
	SWEEP(ioctl_is_denied_exactly_for_tiocsti_and_tioclinux, SYS_ioctl, 1,
	      SWEEP_DENIES_VALUES, 0xffffffffU, WITH(-1, 0, 0), TIOCSTI, TIOCLINUX),
	SWEEP(unshare_is_denied_exactly_when_a_namespace_flag_is_set, SYS_unshare, 0,
	      SWEEP_DENIES_BITS, NAMESPACE_BITS, WITH(0), 0),
	SWEEP(memfd_create_is_denied_exactly_when_mfd_exec_is_set, SYS_memfd_create, 1,
	      SWEEP_DENIES_BITS, MFD_EXEC, WITH(POINTER("sweep"), 0), 0),
};

/* ---- process creation through the fallbacks ---- */

static void fork_through_clone(const void *argument, struct outcome *outcome)
{
	int status = 0;
	long child;

	(void)argument;
	child = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (child == 0)
		_exit(7);
	outcome->result = child;
	outcome->error = errno;
	if (child > 0 && waitpid((pid_t)child, &status, 0) == child && WIFEXITED(status))
		outcome->value = WEXITSTATUS(status);
}

static void *thread_main(void *argument)
{
	return argument;
}

static void create_thread(const void *argument, struct outcome *outcome)
{
	static int marker;
	pthread_t thread;
	void *returned = NULL;
	int rc;

	(void)argument;
	rc = pthread_create(&thread, NULL, thread_main, &marker);
	outcome->result = rc == 0 ? 0 : -1;
	outcome->error = rc;
	if (rc == 0 && pthread_join(thread, &returned) == 0)
		outcome->value = returned == &marker;
}

static void spawn_true(const void *argument, struct outcome *outcome)
{
	char *const arguments[] = { "true", NULL };
	int status = 0;
	pid_t pid;
	int rc;

	(void)argument;
	rc = posix_spawn(&pid, "/bin/true", NULL, NULL, arguments, environ);
	outcome->result = rc == 0 ? 0 : -1;
	outcome->error = rc;
	outcome->value = -1;
	if (rc == 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status))
		outcome->value = WEXITSTATUS(status);
}

static void test_fork_through_clone_without_namespace_flags_works(void **state)
{
	struct child_report report = run_child(CHILD_FILTERED, fork_through_clone, NULL);

	(void)state;
	assert_reported(&report);
	assert_true(report.outcome.result > 0);
	assert_int_equal(report.outcome.value, 7);
}

static void test_pthread_create_falls_back_from_clone3_and_works(void **state)
{
	struct child_report report = run_child(CHILD_FILTERED, create_thread, NULL);

	(void)state;
	assert_reported(&report);
	if (report.outcome.result != 0)
		fail_msg("pthread_create: %s", strerror(report.outcome.error));
	assert_int_equal(report.outcome.value, 1);
}

static void test_posix_spawn_falls_back_from_clone3_and_runs_a_program(void **state)
{
	struct child_report report = run_child(CHILD_FILTERED, spawn_true, NULL);

	(void)state;
	assert_reported(&report);
	if (report.outcome.result != 0)
		fail_msg("posix_spawn: %s", strerror(report.outcome.error));
	assert_int_equal(report.outcome.value, 0);
}

/* ---- loading ---- */

static void load_as_nobody(const void *argument, struct outcome *outcome)
{
	const bool *with_no_new_privs = argument;

	if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
	    setresuid(NOBODY, NOBODY, NOBODY) < 0) {
		outcome->skipped = true;
		return;
	}
	if (*with_no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		outcome->skipped = true;
		return;
	}
	outcome->result = seccomp_program_load(&program);
	outcome->value = syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0) == -1 ? errno : 0;
}

static void load_a_second_time(const void *argument, struct outcome *outcome)
{
	(void)argument;
	outcome->result = seccomp_program_load(&program);
	outcome->value = syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0) == -1 ? errno : 0;
}

static void test_load_without_no_new_privs_or_privilege_fails_with_eacces(void **state)
{
	static const bool without = false;
	struct child_report report;

	(void)state;
	if (geteuid() != 0)
		skip();
	report = run_child(CHILD_UNCONFINED, load_as_nobody, &without);
	assert_reported(&report);
	assert_false(report.outcome.skipped);
	assert_int_equal(report.outcome.result, -EACCES);
	assert_int_equal(report.outcome.value, 0);
}

static void test_load_with_no_new_privs_works_without_privilege(void **state)
{
	static const bool with = true;
	struct child_report report;

	(void)state;
	if (geteuid() != 0)
		skip();
	report = run_child(CHILD_UNCONFINED, load_as_nobody, &with);
	assert_reported(&report);
	assert_false(report.outcome.skipped);
	assert_int_equal(report.outcome.result, 0);
	assert_int_equal(report.outcome.value, EPERM);
}

static void test_program_stacks_on_a_filter_already_in_force(void **state)
{
	struct child_report report = run_child(CHILD_FILTERED, load_a_second_time, NULL);

	(void)state;
	assert_reported(&report);
	assert_int_equal(report.outcome.result, 0);
	assert_int_equal(report.outcome.value, EPERM);
}

static void test_loading_a_program_never_built_fails_with_einval(void **state)
{
	struct seccomp_program empty = { 0 };

	(void)state;
	assert_int_equal(seccomp_program_load(&empty), -EINVAL);
}

/* ---- the program and its description ---- */

static void test_build_fits_the_kernel_instruction_limit(void **state)
{
	(void)state;
	assert_non_null(program.program.filter);
	assert_true(program.program.len > 0);
	assert_true(program.program.len <= BPF_MAXINSNS);
}

static void test_building_again_gives_the_same_program_and_release_empties_it(void **state)
{
	struct confinement_error error = { { 0 } };
	struct seccomp_program again;

	(void)state;
	assert_int_equal(seccomp_program_build(&again, &error), 0);
	assert_int_equal(again.program.len, program.program.len);
	assert_memory_equal(again.program.filter, program.program.filter,
			    program.program.len * sizeof(struct sock_filter));
	seccomp_program_release(&again);
	assert_null(again.program.filter);
	assert_int_equal(again.program.len, 0);
	seccomp_program_release(&again);
	assert_int_equal(seccomp_program_load(&again), -EINVAL);
}

static json_t *find_rule(json_t *rules, const char *syscall_name)
{
	size_t index;
	json_t *rule;

	json_array_foreach(rules, index, rule) {
		if (strcmp(json_string_value(json_object_get(rule, "syscall")), syscall_name) == 0)
			return rule;
	}
	return NULL;
}

static const char *rule_field(json_t *rules, const char *syscall_name, const char *field)
{
	return json_string_value(json_object_get(find_rule(rules, syscall_name), field));
}

static void assert_every_rule_has_a_reason(json_t *rules)
{
	size_t index;
	json_t *rule;

	assert_true(json_array_size(rules) > 0);
	json_array_foreach(rules, index, rule) {
		const char *why = json_string_value(json_object_get(rule, "why"));
		assert_non_null(why);
		assert_true(strlen(why) > 10);
	}
}

static void test_describe_lists_each_rule_with_its_errno_and_reason(void **state)
{
	json_t *profile = seccomp_program_describe(&program);
	json_t *denied, *conditional, *socket_rule, *first_condition;

	(void)state;
	assert_non_null(profile);
	assert_string_equal(json_string_value(json_object_get(profile, "default_action")), "allow");
	assert_int_equal(json_integer_value(json_object_get(profile, "instructions")),
			 program.program.len);
	assert_int_equal(json_array_size(json_object_get(profile, "kill_process")), 2);
	denied = json_object_get(profile, "denied");
	conditional = json_object_get(profile, "conditional");
	assert_every_rule_has_a_reason(denied);
	assert_every_rule_has_a_reason(conditional);
	assert_every_rule_has_a_reason(json_object_get(profile, "allowed_on_purpose"));
	assert_string_equal(rule_field(denied, "ptrace", "errno"), "EPERM");
	assert_string_equal(rule_field(denied, "clone3", "errno"), "ENOSYS");
	assert_null(find_rule(denied, "socket"));
	socket_rule = find_rule(conditional, "socket");
	assert_non_null(socket_rule);
	first_condition = json_array_get(json_object_get(socket_rule, "when"), 0);
	assert_string_equal(json_string_value(json_object_get(first_condition, "match")),
			    "none_of");
	json_decref(profile);
}

static const struct {
	const struct CMUnitTest *tests;
	size_t count;
	const char *name;
} kernel_groups[] = {
#define GROUP(tests) { tests, sizeof(tests) / sizeof(tests[0]), #tests }
	GROUP(process_and_kernel_tests),
	GROUP(filesystem_tests),
	GROUP(namespace_tests),
	GROUP(personality_and_terminal_tests),
	GROUP(socket_tests),
	GROUP(host_administration_tests),
#undef GROUP
};

static bool has_denied_case(long number)
{
	for (size_t group = 0; group < sizeof(kernel_groups) / sizeof(kernel_groups[0]); group++) {
		for (size_t i = 0; i < kernel_groups[group].count; i++) {
			const struct CMUnitTest *test = &kernel_groups[group].tests[i];
			const struct syscall_case *call = test->initial_state;

			if (test->test_func == test_denied_call && call->number == number)
				return true;
		}
	}
	return false;
}

/* The table and these tests cannot drift apart: every rule the profile
 * lists has a case above that makes the kernel deny it. */
static void test_every_rule_in_the_profile_is_denied_in_the_kernel_by_a_case(void **state)
{
	json_t *profile = seccomp_program_describe(&program);
	const char *lists[] = { "denied", "conditional" };

	(void)state;
	assert_non_null(profile);
	for (size_t list = 0; list < sizeof(lists) / sizeof(lists[0]); list++) {
		size_t index;
		json_t *rule;

		json_array_foreach(json_object_get(profile, lists[list]), index, rule) {
			const char *name = json_string_value(json_object_get(rule, "syscall"));
			int number = seccomp_syscall_resolve_name(name);

			if (number == __NR_SCMP_ERROR && strcmp(name, "open_tree_attr") == 0)
				number = NR_OPEN_TREE_ATTR;
			if (!has_denied_case(number))
				fail_msg("no kernel case denies %s (%d)", name, number);
		}
	}
	json_decref(profile);
}

static const struct CMUnitTest architecture_tests[] = {
	cmocka_unit_test(test_x32_syscall_number_kills_the_process_with_sigsys),
	cmocka_unit_test(test_x32_number_of_a_denied_syscall_kills_rather_than_fails),
	cmocka_unit_test(test_x32_syscall_number_without_the_filter_returns),
	cmocka_unit_test(test_native_getppid_works_under_the_filter),
	cmocka_unit_test(test_syscall_number_minus_one_fails_with_enosys_and_is_not_killed),
	cmocka_unit_test(test_i386_int80_getpid_works_without_the_filter),
	cmocka_unit_test(test_i386_int80_entry_kills_the_process_with_sigsys),
};

static const struct CMUnitTest program_tests[] = {
	cmocka_unit_test(test_build_fits_the_kernel_instruction_limit),
	cmocka_unit_test(test_building_again_gives_the_same_program_and_release_empties_it),
	cmocka_unit_test(test_loading_a_program_never_built_fails_with_einval),
	cmocka_unit_test(test_load_without_no_new_privs_or_privilege_fails_with_eacces),
	cmocka_unit_test(test_load_with_no_new_privs_works_without_privilege),
	cmocka_unit_test(test_program_stacks_on_a_filter_already_in_force),
	cmocka_unit_test(test_fork_through_clone_without_namespace_flags_works),
	cmocka_unit_test(test_pthread_create_falls_back_from_clone3_and_works),
	cmocka_unit_test(test_posix_spawn_falls_back_from_clone3_and_runs_a_program),
	cmocka_unit_test(test_describe_lists_each_rule_with_its_errno_and_reason),
	cmocka_unit_test(test_every_rule_in_the_profile_is_denied_in_the_kernel_by_a_case),
};

#define RUN_GROUP(tests) _cmocka_run_group_tests(#tests, tests, sizeof(tests) / sizeof(tests[0]), \
						 NULL, NULL)

int main(void)
{
	struct confinement_error error = { { 0 } };
	int failures = 0;
	int rc = seccomp_program_build(&program, &error);

	if (rc < 0) {
		fprintf(stderr, "seccomp_program_build: %s\n", error.message);
		return 1;
	}
	failures += RUN_GROUP(program_tests);
	failures += RUN_GROUP(architecture_tests);
	for (size_t group = 0; group < sizeof(kernel_groups) / sizeof(kernel_groups[0]); group++)
		failures += _cmocka_run_group_tests(kernel_groups[group].name,
						    kernel_groups[group].tests,
						    kernel_groups[group].count, NULL, NULL);
	failures += RUN_GROUP(sweep_tests);
	seccomp_program_release(&program);
	return failures == 0 ? 0 : 1;
}
