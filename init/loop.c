#include "init/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define LOOP_BATCH 64

struct watch {
	int fd;
	loop_fd_handler handler;
	void *context;
	bool dead;
	struct watch *next;
};

struct loop {
	int epoll_fd;
	bool quit;
	struct watch *watches;    /* live, and dead ones until the batch ends */
	struct loop_timer *timers; /* sorted by deadline, soonest first */
};

uint64_t loop_now_ms(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
}

int loop_new(struct loop **out)
{
	struct loop *loop = calloc(1, sizeof(*loop));
	if (!loop)
		return -ENOMEM;
	loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epoll_fd < 0) {
		int error = -errno;
		free(loop);
		return error;
	}
	*out = loop;
	return 0;
}

void loop_free(struct loop *loop)
{
	if (!loop)
		return;
	struct watch *watch = loop->watches;
	while (watch) {
		struct watch *next = watch->next;
		free(watch);
		watch = next;
	}
	close(loop->epoll_fd);
	free(loop);
}

static struct watch *find_watch(struct loop *loop, int fd)
{
	for (struct watch *watch = loop->watches; watch; watch = watch->next)
		if (watch->fd == fd && !watch->dead)
			return watch;
	return NULL;
}

int loop_watch_fd(struct loop *loop, int fd, uint32_t events, loop_fd_handler handler, void *context)
{
	struct watch *watch = calloc(1, sizeof(*watch));
	if (!watch)
		return -ENOMEM;
	watch->fd = fd;
	watch->handler = handler;
	watch->context = context;
	struct epoll_event event = { .events = events, .data.ptr = watch };
	if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0) {
		int error = -errno;
		free(watch);
		return error;
	}
	watch->next = loop->watches;
	loop->watches = watch;
	return 0;
}

int loop_modify_fd(struct loop *loop, int fd, uint32_t events)
{
	struct watch *watch = find_watch(loop, fd);
	if (!watch)
		return -ENOENT;
	struct epoll_event event = { .events = events, .data.ptr = watch };
	return epoll_ctl(loop->epoll_fd, EPOLL_CTL_MOD, fd, &event) < 0 ? -errno : 0;
}

/* The watch is only marked here: events for it may still sit in the batch
 * being dispatched, so it is freed once that batch is done. */
int loop_unwatch_fd(struct loop *loop, int fd)
{
	struct watch *watch = find_watch(loop, fd);
	if (!watch)
		return -ENOENT;
	watch->dead = true;
	/* The fd may already be closed (and the kernel dropped it); that is fine. */
	epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
	return 0;
}

static void free_dead_watches(struct loop *loop)
{
	struct watch **link = &loop->watches;
	while (*link) {
		struct watch *watch = *link;
		if (watch->dead) {
			*link = watch->next;
			free(watch);
		} else {
			link = &watch->next;
		}
	}
}

void loop_timer_stop(struct loop *loop, struct loop_timer *timer)
{
	if (!timer->armed)
		return;
	for (struct loop_timer **link = &loop->timers; *link; link = &(*link)->next) {
		if (*link == timer) {
			*link = timer->next;
			break;
		}
	}
	timer->armed = false;
	timer->next = NULL;
}

void loop_timer_start(struct loop *loop, struct loop_timer *timer, uint64_t delay_ms,
		      loop_timer_handler handler, void *context)
{
	loop_timer_stop(loop, timer);
	timer->deadline_ms = loop_now_ms() + delay_ms;
	timer->handler = handler;
	timer->context = context;
	timer->armed = true;

	struct loop_timer **link = &loop->timers;
	while (*link && (*link)->deadline_ms <= timer->deadline_ms)
		link = &(*link)->next;
	timer->next = *link;
	*link = timer;
}

static int next_timeout_ms(const struct loop *loop)
{
	if (!loop->timers)
		return -1;
	uint64_t now = loop_now_ms();
	uint64_t deadline = loop->timers->deadline_ms;
	if (deadline <= now)
		return 0;
	uint64_t wait = deadline - now;
	return wait > 60000 ? 60000 : (int)wait;
}

static void fire_due_timers(struct loop *loop)
{
	uint64_t now = loop_now_ms();
	/* A handler may re-arm its own timer for "now": take only those due at
	 * entry, so a zero-delay re-arm cannot starve the fds. */
	while (loop->timers && loop->timers->deadline_ms <= now && !loop->quit) {
		struct loop_timer *timer = loop->timers;
		loop->timers = timer->next;
		timer->armed = false;
		timer->next = NULL;
		timer->handler(timer->context);
		if (timer->armed && timer->deadline_ms <= now)
			break;
	}
}

int loop_run(struct loop *loop)
{
	struct epoll_event events[LOOP_BATCH];

	loop->quit = false;
	while (!loop->quit) {
		int count = epoll_wait(loop->epoll_fd, events, LOOP_BATCH, next_timeout_ms(loop));
		if (count < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < count && !loop->quit; i++) {
			struct watch *watch = events[i].data.ptr;
			if (!watch->dead)
				watch->handler(watch->context, watch->fd, events[i].events);
		}
		free_dead_watches(loop);
		fire_due_timers(loop);
	}
	return 0;
}

void loop_quit(struct loop *loop)
{
	loop->quit = true;
}
