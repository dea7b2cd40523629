#include "init/job.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init/log.h"

/* After the final SIGKILL, how long to wait for the kernel to finish them off
 * (a process in uninterruptible sleep dies only when its I/O returns). */
#define KILL_SETTLE_MS 1000

struct job {
	struct supervisor *supervisor;
	const struct job_options *options;
	pid_t workload;
	uint64_t started_ms;
	bool workload_exited;
	int exit_status;
	bool draining;              /* SIGTERM sent or workload gone: the grace clock runs */
	bool killed;                /* grace over: SIGKILL sent */
	unsigned grace_seconds;
	struct loop_timer grace_timer;
	struct loop_timer settle_timer;
};

static bool is_forwarded(int signo)
{
	switch (signo) {
	case SIGTERM: case SIGINT: case SIGHUP: case SIGQUIT:
	case SIGUSR1: case SIGUSR2: case SIGWINCH:
		return true;
	}
	return false;
}

static void on_settle_timeout(void *context)
{
	struct job *job = context;
	log_warn("descendants survived SIGKILL; exiting without them", NULL);
	loop_quit(job->supervisor->loop);
}

static void on_grace_over(void *context)
{
	struct job *job = context;
	int count = supervisor_signal_descendants(job->supervisor, SIGKILL);
	job->killed = true;
	log_warn("grace period over, killing remaining processes", "{s:i, s:i}", "grace_seconds",
		 job->grace_seconds, "signalled", count);
	loop_timer_start(job->supervisor->loop, &job->settle_timer, KILL_SETTLE_MS, on_settle_timeout, job);
}

static void start_grace_clock(struct job *job)
{
	if (job->draining)
		return;
	job->draining = true;
	loop_timer_start(job->supervisor->loop, &job->grace_timer, (uint64_t)job->grace_seconds * 1000,
			 on_grace_over, job);
}

static void forward_signal(struct job *job, int signo)
{
	/* The whole group, so helpers the workload started hear it too; a workload
	 * that left its group with setsid() still gets it directly. */
	int result = kill(-job->workload, signo);
	if (result < 0 && errno == ESRCH)
		result = kill(job->workload, signo);
	log_info("forwarded signal", "{s:s, s:i, s:b}", "signal", supervisor_signal_name(signo), "pid",
		 job->workload, "delivered", result == 0);
	const struct job_observer *observer = &job->options->observer;
	if (observer->forwarded)
		observer->forwarded(observer->context, signo, job->workload, result == 0);
}

static void on_signal(void *context, const struct signalfd_siginfo *info)
{
	struct job *job = context;
	int signo = (int)info->ssi_signo;

	if (!is_forwarded(signo) || job->workload_exited) {
		log_debug("ignored signal", "{s:s}", "signal", supervisor_signal_name(signo));
		return;
	}
	forward_signal(job, signo);
	if (signo == SIGTERM || signo == SIGINT)
		start_grace_clock(job);
}

static void on_workload_exit(void *context, pid_t pid, int status)
{
	struct job *job = context;
	job->workload_exited = true;
	job->exit_status = proc_exit_code(status);
	if (WIFSIGNALED(status))
		log_info("workload exited", "{s:i, s:i, s:s}", "pid", pid, "exit_code", job->exit_status,
			 "signal", supervisor_signal_name(WTERMSIG(status)));
	else
		log_info("workload exited", "{s:i, s:i}", "pid", pid, "exit_code", job->exit_status);
	const struct job_observer *observer = &job->options->observer;
	if (observer->exited)
		observer->exited(observer->context, pid, job->options->argv[0], status,
				 loop_now_ms() - job->started_ms);

	/* Whatever it left behind, in its group or not, is asked to leave now. */
	if (proc_has_children()) {
		int count = supervisor_signal_descendants(job->supervisor, SIGTERM);
		log_info("terminating remaining processes", "{s:i}", "signalled", count);
		start_grace_clock(job);
	}
}

static void on_reaped(void *context)
{
	struct job *job = context;
	if (job->workload_exited && !proc_has_children())
		loop_quit(job->supervisor->loop);
}

static int spawn_workload(struct job *job, const struct job_options *options)
{
	struct proc_spawn_request request = {
		.argv = options->argv,
		.envp = options->envp,
		.confine = options->confine,
		.plan = options->plan,
		.stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1,
		.take_terminal = true,
		.on_exit = on_workload_exit,
		.context = job,
	};
	struct proc_spawn_failure failure;
	int result = proc_spawn(job->supervisor->processes, &request, &job->workload, &failure);
	if (result == 0) {
		job->started_ms = loop_now_ms();
		log_info("spawned workload", "{s:i, s:s}", "pid", job->workload, "command", options->argv[0]);
		if (options->observer.launched)
			options->observer.launched(options->observer.context, job->workload, options->argv[0]);
		return 0;
	}
	log_error("cannot start workload", "{s:s, s:s, s:s, s:i}", "command", options->argv[0], "step",
		  failure.step, "error", strerror(failure.error), "errno", failure.error);
	return strcmp(failure.step, "exec") == 0 ? proc_exec_failure_status(failure.error) : 126;
}

int job_run(struct supervisor *supervisor, const struct job_options *options)
{
	struct job job = { .supervisor = supervisor, .options = options,
			   .grace_seconds = options->grace_seconds };

	int status = spawn_workload(&job, options);
	if (status != 0)
		return status;

	supervisor->on_signal = on_signal;
	supervisor->on_reaped = on_reaped;
	supervisor->context = &job;
	int result = loop_run(supervisor->loop);
	supervisor->on_signal = NULL;
	supervisor->on_reaped = NULL;
	loop_timer_stop(supervisor->loop, &job.grace_timer);
	loop_timer_stop(supervisor->loop, &job.settle_timer);
	if (result < 0) {
		log_error("event loop failed", "{s:s}", "error", strerror(-result));
		return 1;
	}
	return job.exit_status;
}
