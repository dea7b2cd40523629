/* Finding descendants from /proc without kill(-1). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init/descendants.h"

static void test_parent_is_read_after_the_last_parenthesis(void **state)
{
	(void)state;
	pid_t parent = 0;
	assert_int_equal(descendants_parse_stat("42 (evil) R 7) S 1234 42 42 0 -1", &parent), 0);
	assert_int_equal(parent, 1234);
	assert_int_equal(descendants_parse_stat("9 (a b c) Z 1 9 9", &parent), 0);
	assert_int_equal(parent, 1);
}

static void test_malformed_stat_lines_are_refused(void **state)
{
	(void)state;
	pid_t parent;
	assert_int_equal(descendants_parse_stat("42 no-parenthesis S 1", &parent), -EINVAL);
	assert_int_equal(descendants_parse_stat("42 (x) S", &parent), -EINVAL);
	assert_int_equal(descendants_parse_stat("42 (x) S -5", &parent), -EINVAL);
}

static void test_select_finds_grandchildren_listed_before_their_parents(void **state)
{
	(void)state;
	struct process_link links[] = {
		{ 30, 20 },  /* grandchild, listed first */
		{ 5, 1 },    /* unrelated */
		{ 20, 10 },  /* child */
		{ 40, 30 },  /* great-grandchild */
		{ 11, 5 },   /* unrelated's child */
	};
	size_t selected = descendants_select(links, 5, 10);
	assert_int_equal(selected, 3);
	int found = 0;
	for (size_t i = 0; i < selected; i++)
		found |= links[i].pid == 20 ? 1 : links[i].pid == 30 ? 2 : links[i].pid == 40 ? 4 : 8;
	assert_int_equal(found, 7);
}

static void test_signal_all_reaches_a_real_grandchild(void **state)
{
	(void)state;
	int ready[2];
	assert_int_equal(pipe(ready), 0);
	pid_t child = fork();
	if (child == 0) {
		if (fork() == 0) {
			close(ready[0]);
			(void)!write(ready[1], "x", 1);
			pause();
			_exit(0);
		}
		pause();
		_exit(0);
	}
	char byte;
	close(ready[1]);
	assert_int_equal(read(ready[0], &byte, 1), 1);
	assert_int_equal(descendants_signal_all(SIGKILL), 2);
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parent_is_read_after_the_last_parenthesis),
		cmocka_unit_test(test_malformed_stat_lines_are_refused),
		cmocka_unit_test(test_select_finds_grandchildren_listed_before_their_parents),
		cmocka_unit_test(test_signal_all_reaches_a_real_grandchild),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
