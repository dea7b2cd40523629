/* Benchmark: spawn latency of a trivial workload through the real spawn path,
 * confined by the default plan and unconfined, interleaved.  Prints the
 * median microseconds from proc_spawn() to the child's exit being reaped. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "init/confinement.h"
#include "init/proc.h"
#include "landlock/landlock.h"

static double microseconds(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)now.tv_sec * 1e6 + (double)now.tv_nsec / 1e3;
}

static int compare(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double spawn_once(struct proc_table *table, const struct confinement_plan *plan, char *const *envp)
{
	char *argv[] = { "/bin/true", NULL };
	struct proc_spawn_request request = {
		.argv = argv, .envp = envp, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1,
		.confine = plan ? confinement_apply : NULL, .plan = plan,
	};
	struct proc_spawn_failure failure;
	pid_t pid;
	double start = microseconds();
	if (proc_spawn(table, &request, &pid, &failure) < 0) {
		fprintf(stderr, "spawn failed at %s: %s\n", failure.step, strerror(failure.error));
		exit(1);
	}
	bool more;
	size_t orphans;
	siginfo_t info;
	waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT);
	proc_reap(table, 1, &more, &orphans);
	return microseconds() - start;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 200;
	const char *const environment[] = { "PATH=/usr/bin:/bin", NULL };
	struct confinement_inputs inputs = {
		.workspace = "/tmp", .state_dir = "/var/lib/sandbox-init/events", .environment = environment,
	};
	struct confinement_plan *plan;
	struct confinement_error error;
	struct proc_table *table;
	if (plan_compile(&inputs, &plan, &error) < 0 || proc_table_new(&table) < 0) {
		fprintf(stderr, "%s\n", error.message);
		return 1;
	}
	double *confined = calloc((size_t)rounds, sizeof(double));
	double *unconfined = calloc((size_t)rounds, sizeof(double));
	for (int i = 0; i < rounds; i++) {
		unconfined[i] = spawn_once(table, NULL, plan_environment(plan));
		confined[i] = spawn_once(table, plan, plan_environment(plan));
	}
	qsort(confined, (size_t)rounds, sizeof(double), compare);
	qsort(unconfined, (size_t)rounds, sizeof(double), compare);
	printf("%.1f %.1f\n", unconfined[rounds / 2], confined[rounds / 2]);
	free(confined);
	free(unconfined);
	proc_table_free(table);
	plan_free(plan);
	return 0;
}
