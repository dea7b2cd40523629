#include "init/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

struct owned_process {
	pid_t pid;
	proc_exit_handler on_exit;
	void *context;
};

struct proc_table {
	struct owned_process *entries;
	size_t count, capacity;
	struct proc_stats stats;
};

int proc_table_new(struct proc_table **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void proc_table_free(struct proc_table *table)
{
	if (!table)
		return;
	free(table->entries);
	free(table);
}

static int table_reserve_one(struct proc_table *table)
{
	if (table->count < table->capacity)
		return 0;
	size_t capacity = table->capacity ? table->capacity * 2 : 8;
	struct owned_process *entries = reallocarray(table->entries, capacity, sizeof(*entries));
	if (!entries)
		return -ENOMEM;
	table->entries = entries;
	table->capacity = capacity;
	return 0;
}

static struct owned_process *table_find(struct proc_table *table, pid_t pid)
{
	for (size_t i = 0; i < table->count; i++)
		if (table->entries[i].pid == pid)
			return &table->entries[i];
	return NULL;
}

int proc_exec_failure_status(int error)
{
	return error == ENOENT || error == ENOTDIR ? 127 : 126;
}

int proc_exit_code(int wait_status)
{
	if (WIFSIGNALED(wait_status))
		return 128 + WTERMSIG(wait_status);
	return WEXITSTATUS(wait_status);
}

/* ---- the child, between fork and exec: async-signal-safe calls only ---- */

struct spawn_report {
	int error;
	char step[48];
};

static size_t bounded_length(const char *text, size_t limit)
{
	size_t length = 0;
	while (length < limit && text[length])
		length++;
	return length;
}

static void child_report(int report_fd, const char *step, int error)
{
	struct spawn_report report = { .error = error };
	memcpy(report.step, step, bounded_length(step, sizeof(report.step) - 1));
	/* A short write leaves the parent with a short read, which it treats as a failure too. */
	(void)!write(report_fd, &report, sizeof(report));
}

/* The supervisor may have inherited ignored signals; a workload starts clean. */
static void child_reset_signal_dispositions(void)
{
	struct sigaction default_action = { .sa_handler = SIG_DFL };
	for (int signo = 1; signo < NSIG; signo++)
		sigaction(signo, &default_action, NULL);
}

static int child_enter_process_group(bool take_terminal)
{
	if (setpgid(0, 0) < 0)
		return -errno;
	/* Every signal is still blocked here, so tcsetpgrp() from what is now a
	 * background group does not stop us with SIGTTOU.  A terminal that is not
	 * our controlling one (ENOTTY) is no reason to refuse the workload. */
	if (take_terminal && isatty(STDIN_FILENO))
		(void)tcsetpgrp(STDIN_FILENO, getpid());
	return 0;
}

static int child_install_fd(int fd, int target)
{
	if (fd < 0 || fd == target)
		return 0;
	return dup2(fd, target) < 0 ? -errno : 0;
}

/* The request's fds may themselves sit at 0-2; moving them above 2 first
 * keeps one dup2() from clobbering another's source. */
static int child_lift_fd(int *fd)
{
	if (*fd < 0 || *fd > STDERR_FILENO)
		return 0;
	int lifted = fcntl(*fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	if (lifted < 0)
		return -errno;
	*fd = lifted;
	return 0;
}

static int child_install_stdio(const struct proc_spawn_request *request)
{
	int fds[3] = { request->stdin_fd, request->stdout_fd, request->stderr_fd };
	int error;

	for (int i = 0; i < 3; i++)
		if (fds[i] != i && (error = child_lift_fd(&fds[i])) < 0)
			return error;
	for (int i = 0; i < 3; i++)
		if ((error = child_install_fd(fds[i], i)) < 0)
			return error;
	return 0;
}

/* Our fds are all O_CLOEXEC already; this also covers any a library opened
 * without it, so the workload gets exactly 0-2. */
static int child_close_other_fds_on_exec(void)
{
	if (syscall(SYS_close_range, STDERR_FILENO + 1, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return 0;
	struct rlimit limit;
	if (getrlimit(RLIMIT_NOFILE, &limit) < 0)
		return -errno;
	for (rlim_t fd = STDERR_FILENO + 1; fd < limit.rlim_cur && fd < INT_MAX; fd++)
		fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	return 0;
}

static void child_unblock_signals(void)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static const char *environment_path(char *const *envp)
{
	for (; envp && *envp; envp++)
		if (strncmp(*envp, "PATH=", 5) == 0)
			return *envp + 5;
	return "/usr/local/bin:/usr/bin:/bin";
}

/* execvp() is not async-signal-safe, so walk PATH by hand, as a shell does:
 * an unreadable candidate is remembered, a missing one skipped. */
static int child_exec(char *const *argv, char *const *envp)
{
	const char *name = argv[0];
	if (strchr(name, '/')) {
		execve(name, argv, envp);
		return -errno;
	}

	size_t name_length = bounded_length(name, NAME_MAX + 1);
	if (name_length == 0 || name_length > NAME_MAX)
		return -ENOENT;

	char candidate[PATH_MAX];
	int first_error = 0;
	const char *directory = environment_path(envp);
	while (*directory) {
		const char *end = strchrnul(directory, ':');
		size_t length = (size_t)(end - directory);
		if (length == 0) {
			candidate[0] = '.';
			length = 1;
		} else if (length + 1 + name_length + 1 <= sizeof(candidate)) {
			memcpy(candidate, directory, length);
		} else {
			length = 0;
		}
		if (length > 0) {
			candidate[length] = '/';
			memcpy(candidate + length + 1, name, name_length + 1);
			execve(candidate, argv, envp);
			if (errno != ENOENT && errno != ENOTDIR && first_error == 0)
				first_error = errno;
		}
		directory = *end ? end + 1 : end;
	}
	return first_error ? -first_error : -ENOENT;
}

static _Noreturn void child_run(const struct proc_spawn_request *request, int report_fd)
{
	const char *step = "process group";
	int error;

	child_reset_signal_dispositions();
	if ((error = child_enter_process_group(request->take_terminal)) < 0)
		goto fail;
	step = "stdio";
	if ((error = child_install_stdio(request)) < 0)
		goto fail;
	step = "close inherited fds";
	if ((error = child_close_other_fds_on_exec()) < 0)
		goto fail;
	if (request->confine && (error = request->confine(request->plan, &step)) < 0)
		goto fail;
	child_unblock_signals();
	step = "exec";
	error = child_exec(request->argv, request->envp ? request->envp : environ);
fail:
	child_report(report_fd, step, -error);
	_exit(proc_exec_failure_status(-error));
}

/* ---- the parent ---- */

/* The report pipe closes on exec: EOF means the program is running. */
static int await_exec(int report_fd, pid_t pid, struct proc_spawn_failure *failure)
{
	struct spawn_report report;
	ssize_t got;

	do {
		got = read(report_fd, &report, sizeof(report));
	} while (got < 0 && errno == EINTR);
	if (got == 0)
		return 0;

	memset(failure, 0, sizeof(*failure));
	if (got == (ssize_t)sizeof(report)) {
		report.step[sizeof(report.step) - 1] = '\0';
		memcpy(failure->step, report.step, sizeof(failure->step));
		failure->error = report.error > 0 ? report.error : EIO;
	} else {
		strcpy(failure->step, "report");
		failure->error = got < 0 ? errno : EPIPE;
	}
	/* Collect it here, so the reaper never mistakes it for an orphan. */
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return -failure->error;
}

int proc_spawn(struct proc_table *table, const struct proc_spawn_request *request, pid_t *pid_out,
	       struct proc_spawn_failure *failure)
{
	int report[2];
	int error = table_reserve_one(table);
	if (error < 0)
		return error;
	if (pipe2(report, O_CLOEXEC) < 0)
		return -errno;

	pid_t pid = fork();
	if (pid < 0) {
		error = -errno;
		close(report[0]);
		close(report[1]);
		strcpy(failure->step, "fork");
		failure->error = -error;
		return error;
	}
	if (pid == 0) {
		close(report[0]);
		child_run(request, report[1]);
	}

	close(report[1]);
	error = await_exec(report[0], pid, failure);
	close(report[0]);
	if (error < 0)
		return error;

	table->entries[table->count++] = (struct owned_process){
		.pid = pid, .on_exit = request->on_exit, .context = request->context,
	};
	table->stats.spawned++;
	*pid_out = pid;
	return 0;
}

size_t proc_reap(struct proc_table *table, size_t budget, bool *more, size_t *orphans)
{
	size_t reaped = 0;

	*more = false;
	*orphans = 0;
	while (reaped < budget) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0)
			return reaped;
		reaped++;
		table->stats.reaped++;

		struct owned_process *owner = table_find(table, pid);
		if (!owner) {
			(*orphans)++;
			table->stats.orphans_reaped++;
			continue;
		}
		struct owned_process done = *owner;
		*owner = table->entries[--table->count];
		if (done.on_exit)
			done.on_exit(done.context, pid, status);
	}
	*more = true;
	return reaped;
}

bool proc_has_children(void)
{
	siginfo_t info;
	/* WNOWAIT: look without reaping, so an owner still gets its exit. */
	return waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0;
}

void proc_get_stats(const struct proc_table *table, struct proc_stats *out)
{
	*out = table->stats;
}
