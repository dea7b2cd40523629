/* The supervisor's one event loop: epoll over file descriptors plus one-shot
 * timers on CLOCK_MONOTONIC.  Single-threaded; handlers must never block.
 *
 * Modules register their fds (signalfd, pipes, sockets, the HTTP server's
 * epoll fd, curl's sockets) and timers here instead of running loops of their
 * own, so nothing they do can delay reaping or signal handling. */
#ifndef SANDBOX_INIT_LOOP_H
#define SANDBOX_INIT_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct loop;

typedef void (*loop_fd_handler)(void *context, int fd, uint32_t events);
typedef void (*loop_timer_handler)(void *context);

/* Owned by the caller; valid while started.  Treat the fields as private. */
struct loop_timer {
	uint64_t deadline_ms;
	loop_timer_handler handler;
	void *context;
	struct loop_timer *next;
	bool armed;
};

int loop_new(struct loop **out);
void loop_free(struct loop *loop);

/* events are EPOLLIN/EPOLLOUT/...; a handler may unwatch any fd, its own included. */
int loop_watch_fd(struct loop *loop, int fd, uint32_t events, loop_fd_handler handler, void *context);
int loop_modify_fd(struct loop *loop, int fd, uint32_t events);
int loop_unwatch_fd(struct loop *loop, int fd);

/* (Re)arms the timer to fire once, delay_ms from now. */
void loop_timer_start(struct loop *loop, struct loop_timer *timer, uint64_t delay_ms,
		      loop_timer_handler handler, void *context);
void loop_timer_stop(struct loop *loop, struct loop_timer *timer);

uint64_t loop_now_ms(void);

/* Runs until loop_quit(); returns 0, or -errno if epoll itself failed. */
int loop_run(struct loop *loop);
void loop_quit(struct loop *loop);

#endif
