#include "init/supervisor.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init/descendants.h"
#include "init/log.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* Reaping is bounded per turn of the loop so a storm of exiting orphans
 * cannot starve signals, timers or the HTTP side; the rest is picked up on
 * the next turn. */
#define REAP_BUDGET 512

const char *supervisor_signal_name(int signo)
{
	static char unknown[16];
	const char *abbreviation = sigabbrev_np(signo);
	if (!abbreviation) {
		snprintf(unknown, sizeof(unknown), "%d", signo);
		return unknown;
	}
	static char name[16];
	snprintf(name, sizeof(name), "SIG%s", abbreviation);
	return name;
}

/* Faults are delivered to the faulting thread and cannot wait in a queue: leave
 * them unblocked so a bug in the supervisor still dumps or dies visibly. */
static void blockable_signals(sigset_t *set)
{
	sigfillset(set);
	static const int synchronous[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS, SIGABRT };
	for (size_t i = 0; i < sizeof(synchronous) / sizeof(synchronous[0]); i++)
		sigdelset(set, synchronous[i]);
}

static void reap(struct supervisor *supervisor)
{
	bool more;
	size_t orphans;
	proc_reap(supervisor->processes, REAP_BUDGET, &more, &orphans);
	if (orphans > 0) {
		struct proc_stats stats;
		proc_get_stats(supervisor->processes, &stats);
		log_info("reaped orphans", "{s:I, s:I}", "count", (json_int_t)orphans, "total",
			 (json_int_t)stats.orphans_reaped);
		if (supervisor->on_orphans)
			supervisor->on_orphans(supervisor->orphans_context, orphans, stats.orphans_reaped);
	}
	if (more)
		loop_timer_start(supervisor->loop, &supervisor->reap_again, 0,
				 (loop_timer_handler)reap, supervisor);
	if (supervisor->on_reaped)
		supervisor->on_reaped(supervisor->context);
}

static void on_signal_fd(void *context, int fd, uint32_t events)
{
	struct supervisor *supervisor = context;
	struct signalfd_siginfo infos[16];
	(void)events;

	ssize_t got = read(fd, infos, sizeof(infos));
	if (got <= 0)
		return;
	bool child_exited = false;
	for (size_t i = 0; i < (size_t)got / sizeof(infos[0]); i++) {
		if (infos[i].ssi_signo == SIGCHLD)
			child_exited = true;
		else if (supervisor->on_signal)
			supervisor->on_signal(supervisor->context, &infos[i]);
	}
	/* SIGCHLD coalesces: one notice can stand for many exits, so reap until
	 * waitpid() says there is nothing left, whatever the count said. */
	if (child_exited)
		reap(supervisor);
}

static void mark_inherited_fds_cloexec(void)
{
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	DIR *directory = opendir("/proc/self/fd");
	if (!directory)
		return;
	struct dirent *entry;
	while ((entry = readdir(directory))) {
		int fd = atoi(entry->d_name);
		if (fd > 2 && fd != dirfd(directory))
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	closedir(directory);
}

int supervisor_start(struct supervisor *supervisor, bool force_subreaper)
{
	sigset_t blocked;
	int error;

	memset(supervisor, 0, sizeof(*supervisor));
	supervisor->signal_fd = -1;
	supervisor->is_pid1 = getpid() == 1;

	mark_inherited_fds_cloexec();
	/* A workload running as our uid must not read our memory or environment
	 * through /proc or ptrace. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;

	/* Block before any child exists: a signal sent before the workload is
	 * spawned waits in the signalfd and is forwarded once it is. */
	blockable_signals(&blocked);
	if (sigprocmask(SIG_BLOCK, &blocked, NULL) < 0)
		return -errno;
	supervisor->signal_fd = signalfd(-1, &blocked, SFD_NONBLOCK | SFD_CLOEXEC);
	if (supervisor->signal_fd < 0)
		return -errno;

	/* Not PID 1: orphans would go to someone else's init, so ask for them. */
	if (!supervisor->is_pid1 || force_subreaper) {
		if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
			return -errno;
		supervisor->subreaper = true;
	}

	if ((error = loop_new(&supervisor->loop)) < 0)
		return error;
	if ((error = proc_table_new(&supervisor->processes)) < 0)
		return error;
	return loop_watch_fd(supervisor->loop, supervisor->signal_fd, EPOLLIN, on_signal_fd, supervisor);
}

void supervisor_stop(struct supervisor *supervisor)
{
	proc_table_free(supervisor->processes);
	loop_free(supervisor->loop);
	if (supervisor->signal_fd >= 0)
		close(supervisor->signal_fd);
	supervisor->processes = NULL;
	supervisor->loop = NULL;
	supervisor->signal_fd = -1;
}

int supervisor_signal_descendants(const struct supervisor *supervisor, int signo)
{
	if (!supervisor->is_pid1)
		return descendants_signal_all(signo);
	/* PID 1 of a namespace: kill(-1) reaches every other process in it, in one
	 * step, however they regrouped or daemonised. */
	if (kill(-1, signo) == 0)
		return 1;
	return errno == ESRCH ? 0 : -errno;
}
