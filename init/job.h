/* Job mode: one workload, run to its end, its exit status ours. */
#ifndef SANDBOX_INIT_JOB_H
#define SANDBOX_INIT_JOB_H

#include "init/proc.h"
#include "init/supervisor.h"

/* Told what happens to the workload, for lifecycle events. */
struct job_observer {
	void (*launched)(void *context, pid_t pid, const char *command);
	void (*exited)(void *context, pid_t pid, const char *command, int wait_status, uint64_t duration_ms);
	void (*forwarded)(void *context, int signo, pid_t pid, bool delivered);
	void *context;
};

struct job_options {
	char *const *argv;
	char *const *envp;         /* NULL: the supervisor's environment */
	proc_confine_fn confine;   /* NULL: unconfined */
	const void *plan;
	unsigned grace_seconds;
	struct job_observer observer;
};

/* Spawns the workload, forwards signals, reaps, shuts down, and returns the
 * status to exit with: the workload's (128+N for signal N), or 126/127 when
 * it could not be started. */
int job_run(struct supervisor *supervisor, const struct job_options *options);

#endif
