/* The emitter: events reach the spool in order with gap-free sequences, are
 * mirrored to stderr, synced in batches, and whatever the audit trail misses
 * (a full file system, the size bound, corruption) is reported once. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/unit/tiny_tmpfs.h"

#include "events/events.h"
#include "events/spool.h"
#include "init/log.h"
#include "init/loop.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct fixture {
	char root[64];
	char spool[128];
	struct loop *loop;
};

static int setup(void **state)
{
	struct fixture *fixture = calloc(1, sizeof(*fixture));

	if (!fixture)
		return -1;
	snprintf(fixture->root, sizeof(fixture->root), "/tmp/test-events-XXXXXX");
	if (!mkdtemp(fixture->root))
		return -1;
	snprintf(fixture->spool, sizeof(fixture->spool), "%s/spool", fixture->root);
	if (loop_new(&fixture->loop) < 0)
		return -1;
	/* Findings and lost events are mirrored at warn and error; keep the
	 * test output to what the mirror test asks for. */
	log_set_level(LOG_LEVEL_ERROR);
	*state = fixture;
	return 0;
}

static int remove_entry(const char *path, const struct stat *status, int type, struct FTW *walk)
{
	(void)status;
	(void)type;
	(void)walk;
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *fixture = *state;

	nftw(fixture->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	loop_free(fixture->loop);
	free(fixture);
	return 0;
}

static struct events_options options_for(const struct fixture *fixture)
{
	return (struct events_options){
		.loop = fixture->loop,
		.spool_dir = fixture->spool,
		.session_id = "session-1",
		.tenant_id = "tenant-1",
		.knowledge_graph_id = "graph-1",
	};
}

static struct events *open_events(const struct events_options *options)
{
	struct events *events = NULL;
	char error[256] = "";

	if (events_open(options, &events, error, sizeof(error)) != 0)
		fail_msg("events_open: %s", error);
	assert_non_null(events);
	return events;
}

static uint64_t wall_clock_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
}

/* ---- reading the spool back ---- */

/* Each record as {"sequence": N, "event": {...}}, in spool order. */
static int collect(void *context, uint64_t sequence, const void *payload, size_t length)
{
	json_t *records = context;
	json_error_t error;
	json_t *event = json_loadb(payload, length, 0, &error);

	if (!event)
		return -EBADMSG;
	json_array_append_new(records, json_pack("{s:I, s:o}", "sequence", (json_int_t)sequence,
						 "event", event));
	return 0;
}

/* Without cmocka's asserts, so the tmpfs child can use it too. */
static json_t *read_spool_records(const char *directory, uint64_t *acknowledged)
{
	struct spool *spool = NULL;
	json_t *records = json_array();

	if (!records || spool_open(directory, NULL, &spool, NULL) < 0) {
		json_decref(records);
		return NULL;
	}
	if (spool_read(spool, 0, SIZE_MAX, SIZE_MAX, collect, records) < 0) {
		json_decref(records);
		records = NULL;
	}
	if (acknowledged)
		*acknowledged = spool_acknowledged(spool);
	spool_close(spool);
	return records;
}

static json_t *read_spool(const char *directory, uint64_t *acknowledged)
{
	json_t *records = read_spool_records(directory, acknowledged);

	assert_non_null(records);
	return records;
}

static json_t *record_event(const json_t *records, size_t index)
{
	return json_object_get(json_array_get(records, index), "event");
}

static json_int_t event_integer(const json_t *event, const char *object, const char *key)
{
	const json_t *holder = object ? json_object_get(event, object) : event;
	return json_integer_value(json_object_get(holder, key));
}

static const char *event_string(const json_t *event, const char *object, const char *key)
{
	const json_t *holder = object ? json_object_get(event, object) : event;
	return json_string_value(json_object_get(holder, key));
}

static bool is_finding_titled(const json_t *event, const char *title)
{
	const char *found = event_string(event, "finding_info", "title");
	return event_integer(event, NULL, "class_uid") == 2004 && found && strcmp(found, title) == 0;
}

/* Sequences run 1, 2, 3... from first with metadata.sequence equal to the
 * spool's, and every uid differs. */
static void assert_gap_free(const json_t *records, uint64_t first)
{
	size_t count = json_array_size(records);

	for (size_t i = 0; i < count; i++) {
		json_t *record = json_array_get(records, i);
		json_t *event = json_object_get(record, "event");
		assert_int_equal(json_integer_value(json_object_get(record, "sequence")), first + i);
		assert_int_equal(event_integer(event, "metadata", "sequence"), first + i);
		const char *uid = event_string(event, "metadata", "uid");
		assert_non_null(uid);
		assert_int_equal(strlen(uid), 36);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(uid, event_string(record_event(records, j), "metadata", "uid"));
	}
}

/* ---- every emitter once ---- */

struct emitted {
	int class_uid;
	int activity_id;
};

static const struct emitted every_emitter[] = {
	{ 6002, 3 }, { 5019, 1 }, { 2004, 1 }, { 1007, 1 }, { 6002, 99 }, { 3002, 1 },
	{ 6003, 1 }, { 6003, 99 }, { 1007, 99 }, { 1007, 99 }, { 1007, 2 }, { 6002, 4 },
};

static void emit_every_kind(struct events *events)
{
	json_t *receipt = json_pack("{s:i}", "landlock_abi", 7);

	events_supervisor_started(events, "serve", 1, true, false);
	events_policy_applied(events, "gma-sticky-base", receipt);
	events_enforcement_finding(events, "gma-sticky-base", "scope not enforced", NULL, false);
	events_process_launched(events, 100, "/usr/bin/agent --turn", "turn executor");
	events_supervisor_ready(events, "0.0.0.0:8787");
	events_auth_failed(events, "RUNTIME_AUTH_REQUIRED", "10.0.0.1:5000", "header missing");
	events_turn_started(events, "extraction-jobs", "10.0.0.1:5001", 100);
	events_turn_finished(events, "extraction-jobs", "ok", 1200, 512);
	events_orphans_reaped(events, 2, 2);
	events_signal_forwarded(events, "SIGTERM", 100, true);
	events_process_exited(events, 100, "/usr/bin/agent --turn", 0, 1300);
	events_supervisor_stopping(events, "SIGTERM", 0);
	json_decref(receipt);
}

#define EVERY_EMITTER (sizeof(every_emitter) / sizeof(every_emitter[0]))

/* ---- opening ---- */

static void test_open_without_a_loop_or_a_spool_directory_fails_with_einval(void **state)
{
	struct fixture *fixture = *state;
	struct events_options options = options_for(fixture);
	struct events *events = (struct events *)&options;
	char error[128] = "";

	options.loop = NULL;
	assert_int_equal(events_open(&options, &events, error, sizeof(error)), -EINVAL);
	assert_null(events);
	assert_true(strlen(error) > 0);
	options = options_for(fixture);
	options.spool_dir = NULL;
	assert_int_equal(events_open(&options, &events, error, sizeof(error)), -EINVAL);
	assert_null(events);
}

static void test_open_with_a_loop_and_a_spool_directory_creates_the_spool(void **state)
{
	struct fixture *fixture = *state;
	struct events_options options = options_for(fixture);
	struct events *events = open_events(&options);
	struct stat status;

	assert_int_equal(stat(fixture->spool, &status), 0);
	assert_true(S_ISDIR(status.st_mode));
	assert_int_equal(status.st_mode & 07777, 0700);
	events_close(events);
}

static void test_open_where_the_spool_parent_is_missing_fails_naming_the_spool(void **state)
{
	struct fixture *fixture = *state;
	struct events_options options = options_for(fixture);
	struct events *events = NULL;
	char directory[192], error[256] = "";

	snprintf(directory, sizeof(directory), "%s/missing/spool", fixture->root);
	options.spool_dir = directory;
	assert_int_equal(events_open(&options, &events, error, sizeof(error)), -ENOENT);
	assert_null(events);
	assert_non_null(strstr(error, directory));
}

/* ---- the spool ---- */

static void test_emitted_events_are_spooled_in_order_with_gap_free_sequences(void **state)
{
	struct fixture *fixture = *state;
	struct events_options options = options_for(fixture);
	struct events *events = open_events(&options);
	struct events_stats stats;
	uint64_t before = wall_clock_ms();

	emit_every_kind(events);
	events_get_stats(events, &stats);
	assert_int_equal(stats.spooled, EVERY_EMITTER);
	assert_int_equal(stats.lost, 0);
	events_close(events);

	json_t *records = read_spool(fixture->spool, NULL);
	assert_int_equal(json_array_size(records), EVERY_EMITTER);
	assert_gap_free(records, 1);
	for (size_t i = 0; i < EVERY_EMITTER; i++) {
		json_t *event = record_event(records, i);
		assert_int_equal(event_integer(event, NULL, "class_uid"), every_emitter[i].class_uid);
		assert_int_equal(event_integer(event, NULL, "activity_id"), every_emitter[i].activity_id);
		assert_true((uint64_t)event_integer(event, NULL, "time") >= before);
		assert_true((uint64_t)event_integer(event, NULL, "time") <= wall_clock_ms());
		assert_string_equal(event_string(event, "unmapped", "session_id"), "session-1");
		assert_true(json_is_null(json_object_get(json_object_get(event, "unmapped"), "job_id")));
	}
	json_decref(records);
}

static void test_reopening_continues_the_sequence(void **state)
{
	struct fixture *fixture = *state;
	struct events_options options = options_for(fixture);
	struct events *events = open_events(&options);

	events_supervisor_started(events, "job", 1, true, false);
	events_process_launched(events, 2, "/bin/true", "workload");
	events_supervisor_stopping(events, "workload exited", 0);
	events_close(events);
	events = open_events(&options);
	events_supervisor_started(events, "job", 1, true, false);
	events_supervisor_stopping(events, "workload exited", 0);
	events_close(events);

	json_t *records = read_spool(fixture->spool, NULL);
	assert_int_equal(json_array_size(records), 5);
	assert_gap_free(records, 1);
	assert_int_equal(event_integer(record_event(records, 3), NULL, "activity_id"), 3);
	json_decref(records);
}

/* ---- stderr ---- */

static void test_stderr_mirror_is_one_json_line_per_event_with_a_level(void **state)
{
	struct fixture *fixture = *state;
	struct events_options options = options_for(fixture);
	struct events *events = open_events(&options);
	static char output[256 * 1024];
	int pipe_fds[2], saved_stderr;
	size_t used = 0;
	ssize_t got;

	assert_int_equal(pipe2(pipe_fds, O_CLOEXEC), 0);
	/* Room for every line, so emitting never blocks on the pipe. */
	fcntl(pipe_fds[1], F_SETPIPE_SZ, 1024 * 1024);
	saved_stderr = dup(STDERR_FILENO);
	assert_true(saved_stderr >= 0);
	assert_int_equal(dup2(pipe_fds[1], STDERR_FILENO), STDERR_FILENO);
	log_set_level(LOG_LEVEL_INFO);
	emit_every_kind(events);
	log_set_level(LOG_LEVEL_ERROR);
	assert_int_equal(dup2(saved_stderr, STDERR_FILENO), STDERR_FILENO);
	close(saved_stderr);
	close(pipe_fds[1]);
	while ((got = read(pipe_fds[0], output + used, sizeof(output) - 1 - used)) > 0)
		used += (size_t)got;
	close(pipe_fds[0]);
	output[used] = '\0';
	events_close(events);
	assert_true(used > 0);
	assert_int_equal(output[used - 1], '\n');

	size_t lines = 0;
	for (char *line = strtok(output, "\n"); line; line = strtok(NULL, "\n"), lines++) {
		json_error_t error;
		json_t *record = json_loads(line, 0, &error);
		if (!record)
			fail_msg("not one JSON object per line: %s", error.text);
		assert_true(json_is_string(json_object_get(record, "time")));
		assert_true(json_is_string(json_object_get(record, "level")));
		assert_string_equal(json_string_value(json_object_get(record, "msg")), "event");
		assert_true(json_is_true(json_object_get(record, "spooled")));
		json_t *event = json_object_get(record, "event");
		assert_true(lines < EVERY_EMITTER);
		assert_int_equal(event_integer(event, NULL, "class_uid"), every_emitter[lines].class_uid);
		assert_int_equal(event_integer(event, "metadata", "sequence"), lines + 1);
		/* Failures and findings stand out by level. */
		const char *level = json_string_value(json_object_get(record, "level"));
		json_int_t severity = event_integer(event, NULL, "severity_id");
		assert_string_equal(level, severity >= 4 ? "error" : severity >= 3 ? "warn" : "info");
		json_decref(record);
	}
	assert_int_equal(lines, EVERY_EMITTER);
}

/* ---- shipping ---- */

static void test_without_a_url_nothing_is_shipped_and_events_are_idle(void **state)
{
	struct fixture *fixture = *state;
	struct events_options options = options_for(fixture);
	struct events *events = open_events(&options);
	struct events_stats stats;
	uint64_t acknowledged;

	events_supervisor_started(events, "job", 1, true, false);
	events_flush(events);
	assert_true(events_idle(events));
	events_get_stats(events, &stats);
	assert_int_equal(stats.spooled, 1);
	assert_int_equal(stats.shipped, 0);
	events_close(events);
	json_t *records = read_spool(fixture->spool, &acknowledged);
	assert_int_equal(json_array_size(records), 1);
	assert_int_equal(acknowledged, 0);
	json_decref(records);
}

static void test_with_a_url_an_unacknowledged_event_is_not_idle_and_stays_spooled(void **state)
{
	struct fixture *fixture = *state;
	struct events_options options = options_for(fixture);
	struct events *events;
	uint64_t acknowledged;

	/* Port 1 on loopback: nobody acknowledges. */
	options.url = "http://127.0.0.1:1/events";
	events = open_events(&options);
	assert_true(events_idle(events));
	events_supervisor_started(events, "job", 1, true, false);
	assert_false(events_idle(events));
	events_close(events);
	json_t *records = read_spool(fixture->spool, &acknowledged);
	assert_int_equal(json_array_size(records), 1);
	assert_int_equal(acknowledged, 0);
	json_decref(records);
}

static void test_bad_url_fails_open_with_the_shipper_message_and_releases_the_spool(void **state)
{
	struct fixture *fixture = *state;
	struct events_options options = options_for(fixture);
	struct events *events = NULL;
	char error[256] = "";

	options.url = "ftp://gateway.example/events";
	assert_int_equal(events_open(&options, &events, error, sizeof(error)), -EINVAL);
	assert_null(events);
	assert_non_null(strstr(error, "events shipper: "));
	assert_true(strlen(error) > strlen("events shipper: "));
	/* The spool is closed again: a second spool_open would fail with -EBUSY. */
	options.url = NULL;
	events = open_events(&options);
	events_close(events);
}

/* ---- durability ---- */

static void run_loop_for(struct loop *loop, uint64_t milliseconds)
{
	struct loop_timer quit = { 0 };

	loop_timer_start(loop, &quit, milliseconds, (loop_timer_handler)loop_quit, loop);
	assert_int_equal(loop_run(loop), 0);
}

static void test_appends_are_synced_once_per_batch_by_the_loop_timer(void **state)
{
	struct fixture *fixture = *state;
	struct events_options options = options_for(fixture);
	struct events *events = open_events(&options);
	struct events_stats stats;

	events_process_launched(events, 2, "/bin/true", "workload");
	events_get_stats(events, &stats);
	assert_int_equal(stats.syncs, 0);
	run_loop_for(fixture->loop, 350);
	events_get_stats(events, &stats);
	assert_int_equal(stats.syncs, 1);
	for (int i = 0; i < 50; i++)
		events_process_launched(events, 3 + i, "/bin/true", "workload");
	run_loop_for(fixture->loop, 350);
	events_get_stats(events, &stats);
	assert_int_equal(stats.syncs, 2);
	assert_int_equal(stats.sync_failures, 0);
	/* Nothing appended since: the timer stays quiet. */
	run_loop_for(fixture->loop, 250);
	events_get_stats(events, &stats);
	assert_int_equal(stats.syncs, 2);
	events_close(events);
}

struct stream {
	struct events *events;
	struct loop *loop;
	struct loop_timer timer;
	int remaining;
};

static void emit_and_rearm(void *context)
{
	struct stream *stream = context;

	events_process_launched(stream->events, 1000 + stream->remaining, "/bin/true", "workload");
	if (--stream->remaining > 0)
		loop_timer_start(stream->loop, &stream->timer, 20, emit_and_rearm, stream);
}

/* A batch closes 100 ms after its first append, not after the last one: a
 * steady stream must not postpone durability for ever. */
static void test_a_steady_stream_of_appends_is_still_synced_while_it_lasts(void **state)
{
	struct fixture *fixture = *state;
	struct events_options options = options_for(fixture);
	struct stream stream = { .events = open_events(&options), .loop = fixture->loop, .remaining = 30 };
	struct events_stats stats;

	loop_timer_start(fixture->loop, &stream.timer, 0, emit_and_rearm, &stream);
	run_loop_for(fixture->loop, 500);
	events_get_stats(stream.events, &stats);
	assert_true(stream.remaining > 0);     /* still streaming when the syncs were counted */
	assert_true(stats.syncs >= 2);
	assert_true(stats.syncs < stats.spooled);
	loop_timer_stop(fixture->loop, &stream.timer);
	events_close(stream.events);
}

static void test_flush_syncs_pending_appends_at_once(void **state)
{
	struct fixture *fixture = *state;
	struct events_options options = options_for(fixture);
	struct events *events = open_events(&options);
	struct events_stats stats;

	events_process_launched(events, 2, "/bin/true", "workload");
	events_flush(events);
	events_get_stats(events, &stats);
	assert_int_equal(stats.syncs, 1);
	/* The timer was disarmed with it: no second sync for the same appends. */
	run_loop_for(fixture->loop, 250);
	events_get_stats(events, &stats);
	assert_int_equal(stats.syncs, 1);
	events_close(events);
}

/* ---- what the audit trail misses ---- */

static void test_events_dropped_by_the_size_bound_are_reported_by_one_finding(void **state)
{
	struct fixture *fixture = *state;
	struct events_options options = options_for(fixture);
	struct events *events;
	struct events_stats stats = { 0 };
	int emitted = 0;

	options.spool_max_bytes = 16 * 1024;
	events = open_events(&options);
	while (stats.dropped == 0 && emitted < 1000) {
		events_process_launched(events, 1000 + emitted++, "/bin/true", "workload");
		events_get_stats(events, &stats);
	}
	assert_true(stats.dropped > 0);
	assert_int_equal(stats.lost, 0);
	uint64_t dropped = stats.dropped;
	events_close(events);

	json_t *records = read_spool(fixture->spool, NULL);
	size_t count = json_array_size(records);
	uint64_t first = (uint64_t)json_integer_value(json_object_get(json_array_get(records, 0), "sequence"));
	/* The oldest were dropped, the rest are there without a gap, and the
	 * finding follows the append that dropped them. */
	assert_int_equal(first - 1, dropped);
	assert_gap_free(records, first);
	assert_int_equal(first + count - 1, (uint64_t)emitted + 1);
	json_t *last = record_event(records, count - 1);
	assert_true(is_finding_titled(last, "Events dropped"));
	assert_int_equal(event_integer(last, "unmapped", "count"), (json_int_t)dropped);
	for (size_t i = 0; i + 1 < count; i++)
		assert_false(is_finding_titled(record_event(records, i), "Events dropped"));
	json_decref(records);
}

static void append_to_newest_segment(const char *directory, const void *data, size_t size)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/seg-00000000000000000001.log", directory);
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, size), (ssize_t)size);
	close(fd);
}

static void test_torn_spool_tail_is_reported_by_one_finding_on_open(void **state)
{
	struct fixture *fixture = *state;
	struct events_options options = options_for(fixture);
	struct events *events = open_events(&options);
	static const char torn[] = "SPL1\x40\x00\x00\x00half a record";

	events_supervisor_started(events, "job", 1, true, false);
	events_supervisor_stopping(events, "SIGKILL", 137);
	events_close(events);
	append_to_newest_segment(fixture->spool, torn, sizeof(torn) - 1);

	events = open_events(&options);
	events_supervisor_started(events, "job", 1, true, false);
	events_close(events);
	json_t *records = read_spool(fixture->spool, NULL);
	assert_int_equal(json_array_size(records), 4);
	assert_gap_free(records, 1);
	json_t *finding = record_event(records, 2);
	assert_true(is_finding_titled(finding, "Spool corruption"));
	assert_int_equal(event_integer(finding, "unmapped", "corrupt_bytes"), sizeof(torn) - 1);
	assert_int_equal(event_integer(record_event(records, 3), NULL, "class_uid"), 6002);
	json_decref(records);
}

static void test_emitters_accept_null_events_and_do_nothing(void **state)
{
	struct events_stats stats;
	char reason[64] = "";

	(void)state;
	emit_every_kind(NULL);
	events_flush(NULL);
	events_close(NULL);
	assert_true(events_idle(NULL));
	assert_false(events_spool_writable(NULL, reason, sizeof(reason)));
	assert_true(strlen(reason) > 0);
	events_get_stats(NULL, &stats);
	assert_int_equal(stats.spooled, 0);
}

/* ---- a real full file system ---- */

#define CHILD_CHECK(condition)                                                              \
	do {                                                                                 \
		if (!(condition)) {                                                          \
			snprintf(failure, sizeof(failure), "line %d: %s", __LINE__, #condition); \
			return failure;                                                      \
		}                                                                            \
	} while (0)

static char failure[512];

#define PID_AFTER_SPACE_RETURNS 777777
#define PID_AFTER_REPORT 888888

/* The events lost while the file system was full, and what the spool holds
 * once space returned. */
static const char *check_lost_report(const char *spool_dir, uint64_t lost)
{
	json_t *records = read_spool_records(spool_dir, NULL);
	size_t count = json_array_size(records), findings = 0, found_at = 0;

	CHILD_CHECK(records != NULL);

	for (size_t i = 0; i < count; i++) {
		json_t *record = json_array_get(records, i);
		json_t *event = json_object_get(record, "event");
		CHILD_CHECK(json_integer_value(json_object_get(record, "sequence")) == (json_int_t)i + 1);
		CHILD_CHECK(event_integer(event, "metadata", "sequence") == (json_int_t)i + 1);
		if (is_finding_titled(event, "Events lost")) {
			findings++;
			found_at = i;
			CHILD_CHECK(event_integer(event, "unmapped", "count") == (json_int_t)lost);
		}
	}
	CHILD_CHECK(findings == 1);
	CHILD_CHECK(found_at >= 1 && found_at + 1 < count);
	CHILD_CHECK(event_integer(record_event(records, found_at - 1), "process", "pid") ==
		    PID_AFTER_SPACE_RETURNS);
	CHILD_CHECK(event_integer(record_event(records, found_at + 1), "process", "pid") == PID_AFTER_REPORT);
	CHILD_CHECK(found_at + 2 == count);
	json_decref(records);
	return NULL;
}

static const char *fill_lose_and_report(const char *mount_point)
{
	char spool_dir[200], filler_path[220], reason[256];
	static char filler[16 * 1024];
	struct events_stats stats = { 0 };
	struct loop *loop = NULL;
	struct events *events = NULL;

	snprintf(spool_dir, sizeof(spool_dir), "%.150s/spool", mount_point);
	snprintf(filler_path, sizeof(filler_path), "%.150s/filler", mount_point);
	int fd = open(filler_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(write(fd, filler, sizeof(filler)) == (ssize_t)sizeof(filler));
	close(fd);

	struct events_options options = { .spool_dir = spool_dir, .session_id = "session-1" };
	CHILD_CHECK(loop_new(&loop) == 0);
	options.loop = loop;
	CHILD_CHECK(events_open(&options, &events, reason, sizeof(reason)) == 0);
	CHILD_CHECK(events_spool_writable(events, reason, sizeof(reason)));
	for (int pid = 10; stats.lost == 0 && pid < 100000; pid++) {
		events_process_launched(events, pid, "/usr/bin/worker --fill", "workload");
		events_get_stats(events, &stats);
	}
	CHILD_CHECK(stats.lost == 1);
	CHILD_CHECK(stats.spooled > 10);
	uint64_t spooled_when_full = stats.spooled;
	for (int i = 0; i < 4; i++)
		events_signal_forwarded(events, "SIGTERM", 10, true);
	events_get_stats(events, &stats);
	CHILD_CHECK(stats.lost == 5);
	CHILD_CHECK(stats.spooled == spooled_when_full);
	CHILD_CHECK(!events_spool_writable(events, reason, sizeof(reason)));
	CHILD_CHECK(strstr(reason, "no space left") != NULL);

	/* Space returns. */
	CHILD_CHECK(unlink(filler_path) == 0);
	CHILD_CHECK(events_spool_writable(events, reason, sizeof(reason)));
	events_process_launched(events, PID_AFTER_SPACE_RETURNS, "/usr/bin/worker", "workload");
	events_get_stats(events, &stats);
	CHILD_CHECK(stats.spooled == spooled_when_full + 2);   /* the event and the finding */
	events_process_launched(events, PID_AFTER_REPORT, "/usr/bin/worker", "workload");
	events_get_stats(events, &stats);
	CHILD_CHECK(stats.spooled == spooled_when_full + 3);   /* reported once only */
	CHILD_CHECK(stats.lost == 5);
	events_close(events);
	loop_free(loop);
	return check_lost_report(spool_dir, 5);
}

static void test_full_file_system_counts_lost_events_and_reports_them_once_space_returns(
	void **state)
{
	struct fixture *fixture = *state;
	char mount_point[128];

	snprintf(mount_point, sizeof(mount_point), "%s/tmpfs", fixture->root);
	run_in_tiny_tmpfs(mount_point, "size=64k,mode=0700", fill_lose_and_report);
}

#define FIXTURE_TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		FIXTURE_TEST(test_open_without_a_loop_or_a_spool_directory_fails_with_einval),
		FIXTURE_TEST(test_open_with_a_loop_and_a_spool_directory_creates_the_spool),
		FIXTURE_TEST(test_open_where_the_spool_parent_is_missing_fails_naming_the_spool),
		FIXTURE_TEST(test_emitted_events_are_spooled_in_order_with_gap_free_sequences),
		FIXTURE_TEST(test_reopening_continues_the_sequence),
		FIXTURE_TEST(test_stderr_mirror_is_one_json_line_per_event_with_a_level),
		FIXTURE_TEST(test_without_a_url_nothing_is_shipped_and_events_are_idle),
		FIXTURE_TEST(test_with_a_url_an_unacknowledged_event_is_not_idle_and_stays_spooled),
		FIXTURE_TEST(test_bad_url_fails_open_with_the_shipper_message_and_releases_the_spool),
		FIXTURE_TEST(test_appends_are_synced_once_per_batch_by_the_loop_timer),
		FIXTURE_TEST(test_a_steady_stream_of_appends_is_still_synced_while_it_lasts),
		FIXTURE_TEST(test_flush_syncs_pending_appends_at_once),
		FIXTURE_TEST(test_events_dropped_by_the_size_bound_are_reported_by_one_finding),
		FIXTURE_TEST(test_torn_spool_tail_is_reported_by_one_finding_on_open),
		cmocka_unit_test(test_emitters_accept_null_events_and_do_nothing),
		FIXTURE_TEST(
			test_full_file_system_counts_lost_events_and_reports_them_once_space_returns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
