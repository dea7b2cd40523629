/* Test workload: makes N orphans that all exit at once after their parent is
 * gone, then waits (while still running) until init has reaped every one.
 *   orphan-storm N [TIMEOUT_SECONDS]
 * Prints "reaped N in S seconds" and exits 0, or names the survivors and exits 1. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Forks count children that block on release until the middle process (their
 * parent) is gone, then exit together as orphans of init. */
static void run_middle(long count, int release_read, int release_write, int report)
{
	for (long i = 0; i < count; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			_exit(1);
		}
		if (pid == 0) {
			char byte;
			close(release_write);
			close(report);
			while (read(release_read, &byte, 1) < 0 && errno == EINTR)
				;
			_exit(0);
		}
		if (write(report, &pid, sizeof(pid)) != sizeof(pid))
			_exit(1);
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: orphan-storm N [TIMEOUT_SECONDS]\n");
		return 2;
	}
	long count = atol(argv[1]);
	double timeout = argc > 2 ? atof(argv[2]) : 30.0;
	int release[2], report[2];
	if (pipe(release) < 0 || pipe(report) < 0)
		return perror("pipe"), 1;

	pid_t middle = fork();
	if (middle == 0) {
		close(report[0]);
		run_middle(count, release[0], release[1], report[1]);
	}
	close(report[1]);
	close(release[0]);

	pid_t *pids = calloc((size_t)count, sizeof(*pids));
	long known = 0;
	while (known < count) {
		ssize_t got = read(report[0], &pids[known], sizeof(pid_t));
		if (got != sizeof(pid_t))
			break;
		known++;
	}
	waitpid(middle, NULL, 0);
	/* Every orphan now belongs to init; let them all go at once. */
	double start = now();
	close(release[1]);

	long alive = known;
	while (alive > 0 && now() - start < timeout) {
		alive = 0;
		for (long i = 0; i < known; i++)
			if (pids[i] && kill(pids[i], 0) == 0)
				alive++;
			else
				pids[i] = 0;
		if (alive)
			usleep(1000);
	}
	double elapsed = now() - start;
	free(pids);
	if (known != count || alive) {
		fprintf(stderr, "orphan-storm: made %ld of %ld, %ld still not reaped after %.3f s\n", known,
			count, alive, elapsed);
		return 1;
	}
	printf("reaped %ld in %.6f seconds\n", count, elapsed);
	return 0;
}
