/* Benchmark: lifecycle events through the real emitter.
 *   events-bench spool DIR COUNT            events per second appended to the spool
 *   events-bench ship DIR COUNT URL         events per second acknowledged by a receiver
 *   events-bench latency DIR COUNT URL      emit-to-acknowledgement latency at idle, ms: p50 p99
 * The stderr mirror is silenced (log level error) so the spool path is what is measured. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/events.h"
#include "init/log.h"
#include "init/loop.h"

struct idle_wait {
	struct loop *loop;
	struct events *events;
	struct loop_timer timer;
};

static void check_idle(void *context)
{
	struct idle_wait *wait = context;
	if (events_idle(wait->events))
		loop_quit(wait->loop);
	else
		loop_timer_start(wait->loop, &wait->timer, 0, check_idle, wait);
}

static void run_until_idle(struct loop *loop, struct events *events)
{
	struct idle_wait wait = { .loop = loop, .events = events };
	loop_timer_start(loop, &wait.timer, 0, check_idle, &wait);
	loop_run(loop);
	loop_timer_stop(loop, &wait.timer);
}

static int compare(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void emit_one(struct events *events, long i)
{
	char client[32];
	snprintf(client, sizeof(client), "127.0.0.1:%ld", 1024 + i % 60000);
	events_auth_failed(events, "RUNTIME_AUTH_REQUIRED", client, "benchmark");
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	const char *mode = argv[1];
	long count = atol(argv[3]);
	struct loop *loop;
	struct events *events;
	char error[256];
	struct events_options options = { .spool_dir = argv[2], .url = argc > 4 ? argv[4] : NULL,
					  .session_id = "bench" };
	log_set_level(LOG_LEVEL_ERROR);
	if (loop_new(&loop) < 0)
		return 1;
	options.loop = loop;
	if (events_open(&options, &events, error, sizeof(error)) < 0) {
		fprintf(stderr, "events-bench: %s\n", error);
		return 1;
	}
	if (strcmp(mode, "latency") == 0) {
		double *samples = calloc((size_t)count, sizeof(double));
		for (long i = 0; i < count; i++) {
			uint64_t start = loop_now_ms();
			emit_one(events, i);
			run_until_idle(loop, events);
			samples[i] = (double)(loop_now_ms() - start);
		}
		qsort(samples, (size_t)count, sizeof(double), compare);
		printf("%.1f %.1f\n", samples[count / 2], samples[(count * 99) / 100]);
		free(samples);
	} else {
		uint64_t start = loop_now_ms();
		for (long i = 0; i < count; i++)
			emit_one(events, i);
		if (strcmp(mode, "ship") == 0)
			run_until_idle(loop, events);
		uint64_t elapsed = loop_now_ms() - start;
		printf("%.0f\n", (double)count * 1000.0 / (double)(elapsed ? elapsed : 1));
	}
	events_close(events);
	loop_free(loop);
	return 0;
}
