/* The process table and spawn path, in-process (the supervisor's loop is not
 * needed to spawn and reap). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init/proc.h"

struct exit_record {
	pid_t pid;
	int status;
	int calls;
};

static void on_exit_record(void *context, pid_t pid, int status)
{
	struct exit_record *record = context;
	record->pid = pid;
	record->status = status;
	record->calls++;
}

static int confine_fails_with_eperm(const void *plan, const char **failed_step)
{
	(void)plan;
	*failed_step = "landlock";
	return -EPERM;
}

static size_t reap_blocking(struct proc_table *table, size_t *orphans)
{
	siginfo_t info;
	bool more;
	/* Wait (without reaping) until something has exited, then reap it. */
	waitid(P_ALL, 0, &info, WEXITED | WNOWAIT);
	return proc_reap(table, 16, &more, orphans);
}

static void test_owner_is_told_the_exit_status_of_its_process(void **state)
{
	(void)state;
	struct proc_table *table;
	struct exit_record record = { 0 };
	char *argv[] = { "sh", "-c", "exit 9", NULL };
	struct proc_spawn_request request = {
		.argv = argv, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1,
		.on_exit = on_exit_record, .context = &record,
	};
	struct proc_spawn_failure failure;
	pid_t pid;
	size_t orphans;

	assert_int_equal(proc_table_new(&table), 0);
	assert_int_equal(proc_spawn(table, &request, &pid, &failure), 0);
	assert_int_equal(reap_blocking(table, &orphans), 1);
	assert_int_equal(orphans, 0);
	assert_int_equal(record.calls, 1);
	assert_int_equal(record.pid, pid);
	assert_int_equal(proc_exit_code(record.status), 9);
	proc_table_free(table);
}

static void test_confinement_failure_names_the_step_and_errno_and_never_execs(void **state)
{
	(void)state;
	struct proc_table *table;
	char marker[] = "/tmp/si-test-proc-XXXXXX";
	int marker_fd = mkstemp(marker);
	close(marker_fd);
	unlink(marker);
	char command[128];
	snprintf(command, sizeof(command), "touch %s", marker);
	char *argv[] = { "sh", "-c", command, NULL };
	struct proc_spawn_request request = {
		.argv = argv, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1,
		.confine = confine_fails_with_eperm,
	};
	struct proc_spawn_failure failure;
	pid_t pid;

	assert_int_equal(proc_table_new(&table), 0);
	assert_int_equal(proc_spawn(table, &request, &pid, &failure), -EPERM);
	assert_string_equal(failure.step, "landlock");
	assert_int_equal(failure.error, EPERM);
	assert_int_equal(access(marker, F_OK), -1);
	assert_false(proc_has_children()); /* the failed child was collected already */
	proc_table_free(table);
}

static void test_missing_program_reports_exec_enoent(void **state)
{
	(void)state;
	struct proc_table *table;
	char *argv[] = { "definitely-not-a-program-here", NULL };
	char *envp[] = { "PATH=/nonexistent:/usr/bin", NULL };
	struct proc_spawn_request request = {
		.argv = argv, .envp = envp, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1,
	};
	struct proc_spawn_failure failure;
	pid_t pid;

	assert_int_equal(proc_table_new(&table), 0);
	assert_int_equal(proc_spawn(table, &request, &pid, &failure), -ENOENT);
	assert_string_equal(failure.step, "exec");
	assert_int_equal(proc_exec_failure_status(failure.error), 127);
	assert_int_equal(proc_exec_failure_status(EACCES), 126);
	proc_table_free(table);
}

static void test_stdio_fds_are_installed_even_when_swapped(void **state)
{
	(void)state;
	struct proc_table *table;
	int output[2];
	assert_int_equal(pipe2(output, O_CLOEXEC), 0);
	/* stdout goes to the pipe, stderr to what is currently stdout: the two
	 * dup2() calls must not clobber each other's source. */
	char *argv[] = { "sh", "-c", "echo out", NULL };
	struct proc_spawn_request request = {
		.argv = argv, .stdin_fd = -1, .stdout_fd = output[1], .stderr_fd = 1,
	};
	struct proc_spawn_failure failure;
	pid_t pid;
	size_t orphans;
	char buffer[16] = { 0 };

	assert_int_equal(proc_table_new(&table), 0);
	assert_int_equal(proc_spawn(table, &request, &pid, &failure), 0);
	close(output[1]);
	assert_int_equal(read(output[0], buffer, sizeof(buffer) - 1), 4);
	assert_string_equal(buffer, "out\n");
	reap_blocking(table, &orphans);
	close(output[0]);
	proc_table_free(table);
}

static void test_child_runs_in_its_own_process_group(void **state)
{
	(void)state;
	struct proc_table *table;
	struct exit_record record = { 0 };
	/* Exit 0 only when the shell leads its own group ($$ equals its pgid). */
	char *argv[] = { "sh", "-c", "[ \"$(ps -o pgid= -p $$ | tr -d ' ')\" = \"$$\" ]", NULL };
	struct proc_spawn_request request = {
		.argv = argv, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1,
		.on_exit = on_exit_record, .context = &record,
	};
	struct proc_spawn_failure failure;
	pid_t pid;
	size_t orphans;

	assert_int_equal(proc_table_new(&table), 0);
	assert_int_equal(proc_spawn(table, &request, &pid, &failure), 0);
	reap_blocking(table, &orphans);
	assert_int_equal(record.calls, 1);
	assert_int_equal(proc_exit_code(record.status), 0);
	proc_table_free(table);
}

static void test_unowned_exit_is_counted_as_orphan(void **state)
{
	(void)state;
	struct proc_table *table;
	struct proc_stats stats;
	size_t orphans;
	assert_int_equal(proc_table_new(&table), 0);
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	assert_int_equal(reap_blocking(table, &orphans), 1);
	assert_int_equal(orphans, 1);
	proc_get_stats(table, &stats);
	assert_int_equal(stats.orphans_reaped, 1);
	assert_int_equal(stats.reaped, 1);
	proc_table_free(table);
}

static void test_reap_budget_is_respected_and_more_is_reported(void **state)
{
	(void)state;
	struct proc_table *table;
	bool more;
	size_t orphans;
	assert_int_equal(proc_table_new(&table), 0);
	pid_t children[5];
	for (int i = 0; i < 5; i++)
		if ((children[i] = fork()) == 0)
			_exit(0);
	/* Let all five become zombies before reaping any. */
	for (int i = 0; i < 5; i++) {
		siginfo_t info;
		waitid(P_PID, (id_t)children[i], &info, WEXITED | WNOWAIT);
	}
	assert_int_equal(proc_reap(table, 3, &more, &orphans), 3);
	assert_true(more);
	assert_int_equal(proc_reap(table, 16, &more, &orphans), 2);
	assert_false(more);
	proc_table_free(table);
}

static void test_exit_code_maps_signals_to_128_plus_n(void **state)
{
	(void)state;
	assert_int_equal(proc_exit_code(0), 0);
	assert_int_equal(proc_exit_code(3 << 8), 3);
	assert_int_equal(proc_exit_code(SIGKILL), 128 + SIGKILL);
	assert_int_equal(proc_exit_code(SIGSEGV | 0x80), 128 + SIGSEGV); /* core dumped */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_owner_is_told_the_exit_status_of_its_process),
		cmocka_unit_test(test_confinement_failure_names_the_step_and_errno_and_never_execs),
		cmocka_unit_test(test_missing_program_reports_exec_enoent),
		cmocka_unit_test(test_stdio_fds_are_installed_even_when_swapped),
		cmocka_unit_test(test_child_runs_in_its_own_process_group),
		cmocka_unit_test(test_unowned_exit_is_counted_as_orphan),
		cmocka_unit_test(test_reap_budget_is_respected_and_more_is_reported),
		cmocka_unit_test(test_exit_code_maps_signals_to_128_plus_n),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
