/* The event loop: timers fire in deadline order, fds dispatch, and a handler
 * may unwatch an fd whose event is still waiting in the same batch. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "init/loop.h"

struct trace {
	struct loop *loop;
	char order[16];
	int length;
	int quit_after;
};

static void record(struct trace *trace, char what)
{
	trace->order[trace->length++] = what;
	if (trace->length == trace->quit_after)
		loop_quit(trace->loop);
}

static void on_a(void *context) { record(context, 'a'); }
static void on_b(void *context) { record(context, 'b'); }
static void on_c(void *context) { record(context, 'c'); }

static void test_timers_fire_in_deadline_order_not_start_order(void **state)
{
	(void)state;
	struct trace trace = { .quit_after = 3 };
	struct loop_timer a = { 0 }, b = { 0 }, c = { 0 };
	assert_int_equal(loop_new(&trace.loop), 0);
	loop_timer_start(trace.loop, &c, 30, on_c, &trace);
	loop_timer_start(trace.loop, &a, 0, on_a, &trace);
	loop_timer_start(trace.loop, &b, 10, on_b, &trace);
	assert_int_equal(loop_run(trace.loop), 0);
	assert_memory_equal(trace.order, "abc", 3);
	loop_free(trace.loop);
}

static void test_stopped_timer_never_fires(void **state)
{
	(void)state;
	struct trace trace = { .quit_after = 1 };
	struct loop_timer a = { 0 }, b = { 0 };
	assert_int_equal(loop_new(&trace.loop), 0);
	loop_timer_start(trace.loop, &a, 0, on_a, &trace);
	loop_timer_start(trace.loop, &b, 5, on_b, &trace);
	loop_timer_stop(trace.loop, &a);
	assert_int_equal(loop_run(trace.loop), 0);
	assert_memory_equal(trace.order, "b", 1);
	loop_free(trace.loop);
}

static void test_restarting_a_timer_moves_its_deadline(void **state)
{
	(void)state;
	struct trace trace = { .quit_after = 2 };
	struct loop_timer a = { 0 }, b = { 0 };
	assert_int_equal(loop_new(&trace.loop), 0);
	loop_timer_start(trace.loop, &a, 0, on_a, &trace);
	loop_timer_start(trace.loop, &b, 10, on_b, &trace);
	loop_timer_start(trace.loop, &a, 20, on_a, &trace);
	assert_int_equal(loop_run(trace.loop), 0);
	assert_memory_equal(trace.order, "ba", 2);
	loop_free(trace.loop);
}

struct pipes {
	struct loop *loop;
	int first[2], second[2];
	int calls;
};

/* Whichever pipe is dispatched first unwatches the other; the other's event,
 * already in the batch, must then not be dispatched (its watch is gone). */
static void on_readable_unwatch_other(void *context, int fd, uint32_t events)
{
	struct pipes *pipes = context;
	(void)events;
	pipes->calls++;
	int other = fd == pipes->first[0] ? pipes->second[0] : pipes->first[0];
	loop_unwatch_fd(pipes->loop, other);
	loop_unwatch_fd(pipes->loop, fd);
	loop_quit(pipes->loop);
}

static void test_unwatching_an_fd_with_a_pending_event_skips_it(void **state)
{
	(void)state;
	struct pipes pipes = { 0 };
	assert_int_equal(loop_new(&pipes.loop), 0);
	assert_int_equal(pipe2(pipes.first, O_CLOEXEC), 0);
	assert_int_equal(pipe2(pipes.second, O_CLOEXEC), 0);
	assert_int_equal(write(pipes.first[1], "x", 1), 1);
	assert_int_equal(write(pipes.second[1], "x", 1), 1);
	assert_int_equal(loop_watch_fd(pipes.loop, pipes.first[0], EPOLLIN, on_readable_unwatch_other, &pipes), 0);
	assert_int_equal(loop_watch_fd(pipes.loop, pipes.second[0], EPOLLIN, on_readable_unwatch_other, &pipes), 0);
	assert_int_equal(loop_run(pipes.loop), 0);
	assert_int_equal(pipes.calls, 1);
	loop_free(pipes.loop);
	for (int i = 0; i < 2; i++) {
		close(pipes.first[i]);
		close(pipes.second[i]);
	}
}

static void test_watching_a_bad_fd_fails_with_ebadf(void **state)
{
	(void)state;
	struct loop *loop;
	assert_int_equal(loop_new(&loop), 0);
	assert_int_equal(loop_watch_fd(loop, 9999, EPOLLIN, on_readable_unwatch_other, NULL), -EBADF);
	assert_int_equal(loop_unwatch_fd(loop, 9999), -ENOENT);
	loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timers_fire_in_deadline_order_not_start_order),
		cmocka_unit_test(test_stopped_timer_never_fires),
		cmocka_unit_test(test_restarting_a_timer_moves_its_deadline),
		cmocka_unit_test(test_unwatching_an_fd_with_a_pending_event_skips_it),
		cmocka_unit_test(test_watching_a_bad_fd_fails_with_ebadf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
