/* The durable event spool: framing, recovery after crashes and corruption,
 * acknowledgement, the size bound and a real full file system. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/unit/tiny_tmpfs.h"

#include "events/spool.h"
#include "events/spool_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Every test payload has this length, so frame arithmetic stays readable. */
#define PAYLOAD_LENGTH 24
#define FRAME (SPOOL_FRAME_HEADER_BYTES + PAYLOAD_LENGTH)
#define MAX_COLLECTED 4096

/* Three records per segment. */
static const struct spool_limits small_segments = {
	.segment_bytes = 3 * FRAME,
	.max_bytes = 100 * FRAME,
};

struct fixture {
	char root[64];
	char directory[128];
};

struct collected {
	size_t count;
	uint64_t sequences[MAX_COLLECTED];
	char payloads[MAX_COLLECTED][PAYLOAD_LENGTH + 1];
};

static int setup(void **state)
{
	struct fixture *fixture = calloc(1, sizeof(*fixture));

	if (!fixture)
		return -1;
	snprintf(fixture->root, sizeof(fixture->root), "/tmp/test-spool-XXXXXX");
	if (!mkdtemp(fixture->root))
		return -1;
	snprintf(fixture->directory, sizeof(fixture->directory), "%s/spool", fixture->root);
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
	free(fixture);
	return 0;
}

static void payload_for(uint64_t sequence, char out[PAYLOAD_LENGTH + 1])
{
	snprintf(out, PAYLOAD_LENGTH + 1, "{\"sequence\":%010" PRIu64 "}", sequence);
}

static int append_next(struct spool *spool)
{
	char payload[PAYLOAD_LENGTH + 1];

	payload_for(spool_next_sequence(spool), payload);
	return spool_append(spool, payload, PAYLOAD_LENGTH);
}

static void append_records(struct spool *spool, unsigned count)
{
	for (unsigned i = 0; i < count; i++)
		assert_int_equal(append_next(spool), 0);
}

static int collect(void *context, uint64_t sequence, const void *payload, size_t length)
{
	struct collected *collected = context;

	assert_true(collected->count < MAX_COLLECTED);
	assert_int_equal(length, PAYLOAD_LENGTH);
	collected->sequences[collected->count] = sequence;
	memcpy(collected->payloads[collected->count], payload, length);
	collected->payloads[collected->count][length] = '\0';
	collected->count++;
	return 0;
}

static struct collected *read_all(struct spool *spool, uint64_t after)
{
	struct collected *collected = calloc(1, sizeof(*collected));

	assert_non_null(collected);
	int rc = spool_read(spool, after, SIZE_MAX, SIZE_MAX, collect, collected);
	assert_int_equal(rc, (int)collected->count);
	return collected;
}

/* The records read are exactly first..last, each with its own payload. */
static void assert_records(const struct collected *collected, uint64_t first, uint64_t last)
{
	char expected[PAYLOAD_LENGTH + 1];

	assert_int_equal(collected->count, last >= first ? last - first + 1 : 0);
	for (size_t i = 0; i < collected->count; i++) {
		assert_int_equal(collected->sequences[i], first + i);
		payload_for(first + i, expected);
		assert_string_equal(collected->payloads[i], expected);
	}
}

static struct spool *open_spool(const struct fixture *fixture, const struct spool_limits *limits,
				struct spool_recovery *recovery)
{
	struct spool *spool = NULL;

	assert_int_equal(spool_open(fixture->directory, limits, &spool, recovery), 0);
	assert_non_null(spool);
	return spool;
}

static void segment_path(const struct fixture *fixture, uint64_t first, char *out, size_t size)
{
	char name[SPOOL_SEGMENT_NAME_SIZE];

	spool_segment_name(name, first);
	snprintf(out, size, "%s/%s", fixture->directory, name);
}

static off_t segment_size(const struct fixture *fixture, uint64_t first)
{
	char path[256];
	struct stat status;

	segment_path(fixture, first, path, sizeof(path));
	assert_int_equal(stat(path, &status), 0);
	return status.st_size;
}

static bool segment_exists(const struct fixture *fixture, uint64_t first)
{
	char path[256];

	segment_path(fixture, first, path, sizeof(path));
	return access(path, F_OK) == 0;
}

static void segment_truncate(const struct fixture *fixture, uint64_t first, off_t size)
{
	char path[256];

	segment_path(fixture, first, path, sizeof(path));
	assert_int_equal(truncate(path, size), 0);
}

static void segment_write_at_end(const struct fixture *fixture, uint64_t first,
				 const void *data, size_t size)
{
	char path[256];

	segment_path(fixture, first, path, sizeof(path));
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, size), (ssize_t)size);
	close(fd);
}

static void segment_flip_bit(const struct fixture *fixture, uint64_t first, off_t offset)
{
	char path[256];
	uint8_t byte;

	segment_path(fixture, first, path, sizeof(path));
	int fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &byte, 1, offset), 1);
	byte ^= 0x10;
	assert_int_equal(pwrite(fd, &byte, 1, offset), 1);
	close(fd);
}

static size_t count_segment_files(const struct fixture *fixture)
{
	DIR *directory = opendir(fixture->directory);
	struct dirent *entry;
	size_t count = 0;
	uint64_t first;

	assert_non_null(directory);
	while ((entry = readdir(directory)))
		count += spool_segment_name_parse(entry->d_name, &first);
	closedir(directory);
	return count;
}

static bool directory_has(const struct fixture *fixture, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", fixture->directory, name);
	return access(path, F_OK) == 0;
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* ---- the checksum and the names ---- */

static uint32_t crc32c_bitwise(const uint8_t *data, size_t length)
{
	uint32_t crc = 0xffffffff;

	for (size_t i = 0; i < length; i++) {
		crc ^= data[i];
		for (int bit = 0; bit < 8; bit++)
			crc = (crc >> 1) ^ (0x82f63b78 & -(crc & 1));
	}
	return ~crc;
}

static void test_crc32c_gives_the_castagnoli_check_value(void **state)
{
	(void)state;
	assert_int_equal(spool_crc32c(0, "123456789", 9), 0xe3069283);
	assert_int_equal(spool_crc32c(spool_crc32c(0, "1234", 4), "56789", 5), 0xe3069283);
}

static void test_crc32c_table_agrees_with_the_bitwise_definition(void **state)
{
	uint8_t data[4096];

	(void)state;
	srandom(7);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)random();
	for (size_t length = 0; length <= sizeof(data); length += 97)
		assert_int_equal(spool_crc32c(0, data, length), crc32c_bitwise(data, length));
}

static void test_segment_names_parse_back_to_their_first_sequence(void **state)
{
	char name[SPOOL_SEGMENT_NAME_SIZE];
	uint64_t first = 0;

	(void)state;
	spool_segment_name(name, 12345);
	assert_string_equal(name, "seg-00000000000000012345.log");
	assert_true(spool_segment_name_parse(name, &first));
	assert_int_equal(first, 12345);
}

static void test_names_that_are_not_segments_are_rejected(void **state)
{
	uint64_t first;

	(void)state;
	assert_false(spool_segment_name_parse("seg-00000000000000000000.log", &first));
	assert_false(spool_segment_name_parse("seg-0000000000000000001.log", &first));
	assert_false(spool_segment_name_parse("seg-000000000000000000001.log", &first));
	assert_false(spool_segment_name_parse("seg-0000000000000000000x.log", &first));
	assert_false(spool_segment_name_parse("seg-00000000000000000001.tmp", &first));
	assert_false(spool_segment_name_parse("seg-99999999999999999999.log", &first));
	assert_false(spool_segment_name_parse("seg-18446744073709551615.log", &first));
	assert_true(spool_segment_name_parse("seg-18446744073709551614.log", &first));
}

/* ---- opening ---- */

static void test_open_creates_the_directory_with_mode_0700(void **state)
{
	struct fixture *fixture = *state;
	struct stat status;

	spool_close(open_spool(fixture, NULL, NULL));
	assert_int_equal(stat(fixture->directory, &status), 0);
	assert_true(S_ISDIR(status.st_mode));
	assert_int_equal(status.st_mode & 07777, 0700);
	assert_int_equal(status.st_uid, geteuid());
}

static void test_open_tightens_an_existing_directory_to_mode_0700(void **state)
{
	struct fixture *fixture = *state;
	struct stat status;

	assert_int_equal(mkdir(fixture->directory, 0755), 0);
	assert_int_equal(chmod(fixture->directory, 0755), 0);
	spool_close(open_spool(fixture, NULL, NULL));
	assert_int_equal(stat(fixture->directory, &status), 0);
	assert_int_equal(status.st_mode & 07777, 0700);
}

static void test_open_of_a_directory_owned_by_another_user_fails_with_eperm(void **state)
{
	struct fixture *fixture = *state;
	struct spool *spool = NULL;

	if (geteuid() != 0) {
		print_message("skipped: giving a directory to another user needs root\n");
		skip();
	}
	assert_int_equal(mkdir(fixture->directory, 0700), 0);
	assert_int_equal(chown(fixture->directory, 4242, 4242), 0);
	assert_int_equal(spool_open(fixture->directory, NULL, &spool, NULL), -EPERM);
	assert_null(spool);
}

static void test_open_of_a_symlink_fails_with_enotdir(void **state)
{
	struct fixture *fixture = *state;
	struct spool *spool = NULL;
	char target[128];

	snprintf(target, sizeof(target), "%s/elsewhere", fixture->root);
	assert_int_equal(mkdir(target, 0700), 0);
	assert_int_equal(symlink(target, fixture->directory), 0);
	assert_int_equal(spool_open(fixture->directory, NULL, &spool, NULL), -ENOTDIR);
}

static void test_second_open_of_the_same_directory_fails_with_ebusy(void **state)
{
	struct fixture *fixture = *state;
	struct spool *first = open_spool(fixture, NULL, NULL);
	struct spool *second = NULL;

	assert_int_equal(spool_open(fixture->directory, NULL, &second, NULL), -EBUSY);
	assert_null(second);
	spool_close(first);
}

static void test_open_after_the_first_spool_closed_succeeds(void **state)
{
	struct fixture *fixture = *state;

	spool_close(open_spool(fixture, NULL, NULL));
	spool_close(open_spool(fixture, NULL, NULL));
}

static void test_open_with_segments_larger_than_max_bytes_fails_with_einval(void **state)
{
	struct fixture *fixture = *state;
	struct spool_limits limits = { .max_bytes = 4096, .segment_bytes = 4097 };
	struct spool *spool = NULL;

	assert_int_equal(spool_open(fixture->directory, &limits, &spool, NULL), -EINVAL);
	limits.segment_bytes = 4096;
	spool = open_spool(fixture, &limits, NULL);
	spool_close(spool);
}

static void test_open_with_a_segment_name_that_is_not_a_file_fails_with_euclean(void **state)
{
	struct fixture *fixture = *state;
	struct spool *spool = NULL;
	char path[256];

	spool_close(open_spool(fixture, NULL, NULL));
	segment_path(fixture, 100, path, sizeof(path));
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(spool_open(fixture->directory, NULL, &spool, NULL), -EUCLEAN);
	assert_int_equal(rmdir(path), 0);
	spool_close(open_spool(fixture, NULL, NULL));
}

/* ---- appending and reading ---- */

static void test_sequences_start_at_one_and_each_append_takes_the_next(void **state)
{
	struct fixture *fixture = *state;
	struct spool *spool = open_spool(fixture, NULL, NULL);

	assert_int_equal(spool_next_sequence(spool), 1);
	assert_int_equal(append_next(spool), 0);
	assert_int_equal(spool_next_sequence(spool), 2);
	assert_int_equal(append_next(spool), 0);
	assert_int_equal(spool_next_sequence(spool), 3);
	spool_close(spool);
}

static void test_appended_records_read_back_in_order_across_segments(void **state)
{
	struct fixture *fixture = *state;
	struct spool *spool = open_spool(fixture, &small_segments, NULL);

	append_records(spool, 10);
	assert_int_equal(count_segment_files(fixture), 4);
	struct collected *collected = read_all(spool, 0);
	assert_records(collected, 1, 10);
	free(collected);
	spool_close(spool);
}

static void test_read_passes_only_records_after_the_given_sequence(void **state)
{
	struct fixture *fixture = *state;
	struct spool *spool = open_spool(fixture, &small_segments, NULL);

	append_records(spool, 10);
	struct collected *collected = read_all(spool, 4);
	assert_records(collected, 5, 10);
	free(collected);
	collected = read_all(spool, 10);
	assert_records(collected, 1, 0);
	free(collected);
	spool_close(spool);
}

static void test_read_in_batches_passes_every_record_once_in_order(void **state)
{
	struct fixture *fixture = *state;
	struct spool *spool = open_spool(fixture, &small_segments, NULL);
	struct collected *collected = calloc(1, sizeof(*collected));
	uint64_t after = 0;
	int rc;

	append_records(spool, 20);
	while ((rc = spool_read(spool, after, 4, SIZE_MAX, collect, collected)) > 0) {
		assert_true(rc <= 4);
		after = collected->sequences[collected->count - 1];
	}
	assert_int_equal(rc, 0);
	assert_records(collected, 1, 20);
	free(collected);
	spool_close(spool);
}

static void test_read_stops_at_max_records_and_at_max_bytes(void **state)
{
	struct fixture *fixture = *state;
	struct spool *spool = open_spool(fixture, &small_segments, NULL);
	struct collected *collected = calloc(1, sizeof(*collected));

	append_records(spool, 10);
	assert_int_equal(spool_read(spool, 0, 3, SIZE_MAX, collect, collected), 3);
	assert_records(collected, 1, 3);
	memset(collected, 0, sizeof(*collected));
	assert_int_equal(spool_read(spool, 3, SIZE_MAX, 2 * PAYLOAD_LENGTH + 1, collect, collected),
			 2);
	assert_records(collected, 4, 5);
	free(collected);
	spool_close(spool);
}

static int count_large(void *context, uint64_t sequence, const void *payload, size_t length)
{
	size_t *lengths = context;

	(void)payload;
	lengths[sequence - 1] = length;
	return 0;
}

static void test_read_passes_a_record_larger_than_max_bytes_alone(void **state)
{
	struct fixture *fixture = *state;
	struct spool *spool = open_spool(fixture, NULL, NULL);
	char large[1000];
	size_t lengths[2] = { 0 };

	memset(large, 'x', sizeof(large));
	assert_int_equal(spool_append(spool, large, sizeof(large)), 0);
	assert_int_equal(spool_append(spool, large, 10), 0);
	assert_int_equal(spool_read(spool, 0, SIZE_MAX, 100, count_large, lengths), 1);
	assert_int_equal(lengths[0], sizeof(large));
	assert_int_equal(lengths[1], 0);
	spool_close(spool);
}

static int fail_on_third(void *context, uint64_t sequence, const void *payload, size_t length)
{
	(void)payload;
	(void)length;
	*(uint64_t *)context = sequence;
	return sequence == 3 ? -ECANCELED : 0;
}

static int stop_on_second(void *context, uint64_t sequence, const void *payload, size_t length)
{
	(void)payload;
	(void)length;
	*(uint64_t *)context = sequence;
	return sequence == 2 ? 1 : 0;
}

static void test_read_returns_the_error_of_the_callback_and_stops(void **state)
{
	struct fixture *fixture = *state;
	struct spool *spool = open_spool(fixture, NULL, NULL);
	uint64_t last = 0;

	append_records(spool, 5);
	assert_int_equal(spool_read(spool, 0, SIZE_MAX, SIZE_MAX, fail_on_third, &last),
			 -ECANCELED);
	assert_int_equal(last, 3);
	spool_close(spool);
}

static void test_read_stops_cleanly_when_the_callback_returns_positive(void **state)
{
	struct fixture *fixture = *state;
	struct spool *spool = open_spool(fixture, NULL, NULL);
	uint64_t last = 0;

	append_records(spool, 5);
	assert_int_equal(spool_read(spool, 0, SIZE_MAX, SIZE_MAX, stop_on_second, &last), 2);
	assert_int_equal(last, 2);
	spool_close(spool);
}

static void test_append_of_an_empty_payload_fails_with_einval(void **state)
{
	struct fixture *fixture = *state;
	struct spool *spool = open_spool(fixture, NULL, NULL);
	struct spool_stats stats;

	assert_int_equal(spool_append(spool, "", 0), -EINVAL);
	assert_int_equal(spool_next_sequence(spool), 1);
	spool_get_stats(spool, &stats);
	assert_int_equal(stats.append_failures, 1);
	assert_int_equal(spool_append(spool, "{}", 2), 0);
	spool_close(spool);
}

static void test_append_of_a_payload_with_a_newline_fails_with_einval(void **state)
{
	struct fixture *fixture = *state;
	struct spool *spool = open_spool(fixture, NULL, NULL);

	assert_int_equal(spool_append(spool, "{}\n{}", 5), -EINVAL);
	assert_int_equal(spool_next_sequence(spool), 1);
	assert_int_equal(spool_append(spool, "{} {}", 5), 0);
	assert_int_equal(spool_next_sequence(spool), 2);
	spool_close(spool);
}

static void test_append_larger_than_the_record_limit_fails_with_efbig(void **state)
{
	struct fixture *fixture = *state;
	struct spool *spool = open_spool(fixture, NULL, NULL);
	char *large = malloc(SPOOL_RECORD_MAX_BYTES + 1);
	size_t lengths[1] = { 0 };

	memset(large, 'x', SPOOL_RECORD_MAX_BYTES + 1);
	assert_int_equal(spool_append(spool, large, SPOOL_RECORD_MAX_BYTES + 1), -EFBIG);
	assert_int_equal(spool_append(spool, large, SPOOL_RECORD_MAX_BYTES), 0);
	assert_int_equal(spool_read(spool, 0, 1, SIZE_MAX, count_large, lengths), 1);
	assert_int_equal(lengths[0], SPOOL_RECORD_MAX_BYTES);
	free(large);
	spool_close(spool);
}

static void test_append_larger_than_max_bytes_fails_with_efbig(void **state)
{
	struct fixture *fixture = *state;
	struct spool_limits limits = { .max_bytes = 200, .segment_bytes = 100 };
	struct spool *spool = open_spool(fixture, &limits, NULL);
	char payload[200];

	memset(payload, 'x', sizeof(payload));
	assert_int_equal(spool_append(spool, payload, 200 - SPOOL_FRAME_HEADER_BYTES + 1), -EFBIG);
	assert_int_equal(spool_append(spool, payload, 200 - SPOOL_FRAME_HEADER_BYTES), 0);
	spool_close(spool);
}

/* ---- restarts ---- */

static void test_reopen_continues_the_sequence_and_keeps_the_acknowledgement(void **state)
{
	struct fixture *fixture = *state;
	struct spool_recovery recovery;
	struct spool *spool = open_spool(fixture, &small_segments, NULL);

	append_records(spool, 7);
	assert_int_equal(spool_acknowledge(spool, 4), 0);
	spool_close(spool);

	spool = open_spool(fixture, &small_segments, &recovery);
	assert_int_equal(spool_next_sequence(spool), 8);
	assert_int_equal(spool_acknowledged(spool), 4);
	assert_int_equal(recovery.corrupt_bytes_dropped, 0);
	assert_int_equal(recovery.segments_truncated, 0);
	assert_int_equal(recovery.ack_file_invalid, 0);
	append_records(spool, 2);
	struct collected *collected = read_all(spool, spool_acknowledged(spool));
	assert_records(collected, 5, 9);
	free(collected);
	spool_close(spool);
}

static void test_reopen_without_segments_continues_after_the_acknowledgement(void **state)
{
	struct fixture *fixture = *state;
	struct spool *spool = open_spool(fixture, &small_segments, NULL);
	char path[256];

	append_records(spool, 8);
	assert_int_equal(spool_acknowledge(spool, 8), 0);
	spool_close(spool);
	/* Only the active segment is left after the acknowledgement; take it too. */
	assert_int_equal(count_segment_files(fixture), 1);
	segment_path(fixture, 7, path, sizeof(path));
	assert_int_equal(unlink(path), 0);

	spool = open_spool(fixture, &small_segments, NULL);
	assert_int_equal(spool_next_sequence(spool), 9);
	assert_int_equal(append_next(spool), 0);
	assert_true(segment_exists(fixture, 9));
	struct collected *collected = read_all(spool, 0);
	assert_records(collected, 9, 9);
	free(collected);
	spool_close(spool);
}

static void test_acknowledged_position_ahead_of_the_records_starts_a_new_segment(void **state)
{
	struct fixture *fixture = *state;
	struct spool *spool = open_spool(fixture, &small_segments, NULL);
	char path[256];

	append_records(spool, 2);
	spool_close(spool);
	/* As after a power cut that lost synced-late records the receiver
	 * had already acknowledged: their sequences must not be reused. */
	snprintf(path, sizeof(path), "%s/ack", fixture->directory);
	write_file(path, "5\n");

	spool = open_spool(fixture, &small_segments, NULL);
	assert_int_equal(spool_next_sequence(spool), 6);
	assert_false(segment_exists(fixture, 1));
	append_records(spool, 2);
	spool_close(spool);

	spool = open_spool(fixture, &small_segments, NULL);
	assert_int_equal(spool_next_sequence(spool), 8);
	struct collected *collected = read_all(spool, 5);
	assert_records(collected, 6, 7);
	free(collected);
	spool_close(spool);
}

/* ---- damage found on open ---- */

static void write_frame_by_hand(const struct fixture *fixture, uint64_t segment_first,
				uint64_t sequence)
{
	uint8_t frame[FRAME];
	char payload[PAYLOAD_LENGTH + 1];

	payload_for(sequence, payload);
	spool_frame_encode_header(frame, sequence, payload, PAYLOAD_LENGTH);
	memcpy(frame + SPOOL_FRAME_HEADER_BYTES, payload, PAYLOAD_LENGTH);
	segment_write_at_end(fixture, segment_first, frame, FRAME);
}

static void test_torn_tail_is_cut_at_the_last_whole_record(void **state)
{
	struct fixture *fixture = *state;
	struct spool_recovery recovery;
	struct spool *spool = open_spool(fixture, NULL, NULL);

	append_records(spool, 5);
	spool_close(spool);
	segment_truncate(fixture, 1, 5 * FRAME - 7);

	spool = open_spool(fixture, NULL, &recovery);
	assert_int_equal(recovery.records_recovered, 4);
	assert_int_equal(recovery.corrupt_bytes_dropped, FRAME - 7);
	assert_int_equal(recovery.segments_truncated, 1);
	assert_int_equal(segment_size(fixture, 1), 4 * FRAME);
	assert_int_equal(spool_next_sequence(spool), 5);
	struct collected *collected = read_all(spool, 0);
	assert_records(collected, 1, 4);
	free(collected);

	append_records(spool, 1);
	spool_close(spool);
	spool = open_spool(fixture, NULL, &recovery);
	assert_int_equal(recovery.corrupt_bytes_dropped, 0);
	collected = read_all(spool, 0);
	assert_records(collected, 1, 5);
	free(collected);
	spool_close(spool);
}

static void test_junk_after_the_last_record_is_cut_and_never_read(void **state)
{
	struct fixture *fixture = *state;
	struct spool_recovery recovery;
	struct spool *spool = open_spool(fixture, NULL, NULL);
	char junk[100];

	append_records(spool, 3);
	spool_close(spool);
	memset(junk, 0, sizeof(junk));
	memcpy(junk, "SPL1 not a frame", 16);
	segment_write_at_end(fixture, 1, junk, sizeof(junk));

	spool = open_spool(fixture, NULL, &recovery);
	assert_int_equal(recovery.corrupt_bytes_dropped, sizeof(junk));
	assert_int_equal(segment_size(fixture, 1), 3 * FRAME);
	struct collected *collected = read_all(spool, 0);
	assert_records(collected, 1, 3);
	free(collected);
	assert_int_equal(spool_next_sequence(spool), 4);
	spool_close(spool);
}

static void test_half_written_frame_from_a_crash_is_discarded_on_open(void **state)
{
	struct fixture *fixture = *state;
	struct spool_recovery recovery;
	struct spool *spool = open_spool(fixture, NULL, NULL);
	uint8_t frame[FRAME];
	char payload[PAYLOAD_LENGTH + 1];

	append_records(spool, 3);
	spool_close(spool);
	/* The frame record 4 would have been, cut where a crash could cut it. */
	payload_for(4, payload);
	spool_frame_encode_header(frame, 4, payload, PAYLOAD_LENGTH);
	memcpy(frame + SPOOL_FRAME_HEADER_BYTES, payload, PAYLOAD_LENGTH);
	segment_write_at_end(fixture, 1, frame, FRAME / 2);

	spool = open_spool(fixture, NULL, &recovery);
	assert_int_equal(recovery.records_recovered, 3);
	assert_int_equal(recovery.corrupt_bytes_dropped, FRAME / 2);
	assert_int_equal(spool_next_sequence(spool), 4);
	append_records(spool, 1);
	struct collected *collected = read_all(spool, 0);
	assert_records(collected, 1, 4);
	free(collected);
	spool_close(spool);
}

static void test_whole_frame_written_by_hand_is_accepted_on_open(void **state)
{
	struct fixture *fixture = *state;
	struct spool_recovery recovery;
	struct spool *spool = open_spool(fixture, NULL, NULL);

	append_records(spool, 3);
	spool_close(spool);
	write_frame_by_hand(fixture, 1, 4);

	spool = open_spool(fixture, NULL, &recovery);
	assert_int_equal(recovery.records_recovered, 4);
	assert_int_equal(recovery.corrupt_bytes_dropped, 0);
	assert_int_equal(spool_next_sequence(spool), 5);
	spool_close(spool);
}

static void test_bit_flip_in_a_payload_is_detected_and_its_record_dropped(void **state)
{
	struct fixture *fixture = *state;
	struct spool_recovery recovery;
	struct spool *spool = open_spool(fixture, NULL, NULL);

	append_records(spool, 5);
	spool_close(spool);
	segment_flip_bit(fixture, 1, 2 * FRAME + SPOOL_FRAME_HEADER_BYTES + 5);

	spool = open_spool(fixture, NULL, &recovery);
	assert_int_equal(recovery.records_recovered, 2);
	assert_int_equal(recovery.corrupt_bytes_dropped, 3 * FRAME);
	struct collected *collected = read_all(spool, 0);
	assert_records(collected, 1, 2);
	free(collected);
	spool_close(spool);
}

static void test_record_out_of_sequence_is_treated_as_corrupt(void **state)
{
	struct fixture *fixture = *state;
	struct spool_recovery recovery;
	struct spool *spool = open_spool(fixture, NULL, NULL);

	append_records(spool, 3);
	spool_close(spool);
	/* A valid frame replayed: its checksum holds, its place does not. */
	write_frame_by_hand(fixture, 1, 2);

	spool = open_spool(fixture, NULL, &recovery);
	assert_int_equal(recovery.records_recovered, 3);
	assert_int_equal(recovery.corrupt_bytes_dropped, FRAME);
	assert_int_equal(spool_next_sequence(spool), 4);
	spool_close(spool);
}

static void test_corruption_inside_an_older_segment_keeps_the_newer_segments(void **state)
{
	struct fixture *fixture = *state;
	struct spool_recovery recovery;
	struct spool *spool = open_spool(fixture, &small_segments, NULL);

	append_records(spool, 9);
	spool_close(spool);
	/* Record 2, in the middle of the first segment (records 1 to 3). */
	segment_flip_bit(fixture, 1, FRAME + SPOOL_FRAME_HEADER_BYTES + 3);

	spool = open_spool(fixture, &small_segments, &recovery);
	assert_int_equal(recovery.records_recovered, 7);
	assert_int_equal(recovery.corrupt_bytes_dropped, 2 * FRAME);
	assert_int_equal(recovery.segments_truncated, 1);
	assert_int_equal(spool_next_sequence(spool), 10);
	struct collected *collected = read_all(spool, 0);
	assert_int_equal(collected->count, 7);
	assert_int_equal(collected->sequences[0], 1);
	for (size_t i = 1; i < 7; i++)
		assert_int_equal(collected->sequences[i], 3 + i);
	free(collected);
	spool_close(spool);
}

static void test_records_overlapping_the_next_segment_are_cut_from_the_older_one(void **state)
{
	struct fixture *fixture = *state;
	struct spool_recovery recovery;
	struct spool *spool = open_spool(fixture, NULL, NULL);
	char path[256];

	append_records(spool, 5);
	spool_close(spool);
	/* A newer segment starting at 4 claims 4 and 5 as well: the order the
	 * reader relies on is one sequence across segments, so the older copy goes. */
	segment_path(fixture, 4, path, sizeof(path));
	write_file(path, "");
	for (uint64_t sequence = 4; sequence <= 6; sequence++)
		write_frame_by_hand(fixture, 4, sequence);

	spool = open_spool(fixture, NULL, &recovery);
	assert_int_equal(recovery.records_recovered, 6);
	assert_int_equal(recovery.corrupt_bytes_dropped, 2 * FRAME);
	assert_int_equal(segment_size(fixture, 1), 3 * FRAME);
	assert_int_equal(spool_next_sequence(spool), 7);
	struct collected *collected = read_all(spool, 0);
	assert_records(collected, 1, 6);
	free(collected);
	spool_close(spool);
}

/* ---- damage found while reading ---- */

static void test_record_corrupted_after_open_is_skipped_counted_once_and_never_read(
	void **state)
{
	struct fixture *fixture = *state;
	struct spool *spool = open_spool(fixture, &small_segments, NULL);
	struct spool_stats stats;

	append_records(spool, 9);
	segment_flip_bit(fixture, 1, FRAME + SPOOL_FRAME_HEADER_BYTES + 3);
	for (int round = 0; round < 2; round++) {
		struct collected *collected = read_all(spool, 0);
		assert_int_equal(collected->count, 7);
		assert_int_equal(collected->sequences[0], 1);
		assert_int_equal(collected->sequences[1], 4);
		assert_int_equal(collected->sequences[6], 9);
		free(collected);
		spool_get_stats(spool, &stats);
		assert_int_equal(stats.corrupt_bytes, 2 * FRAME);
	}
	spool_close(spool);
}

static void test_damage_in_the_active_segment_moves_appends_to_a_new_segment(void **state)
{
	struct fixture *fixture = *state;
	struct spool *spool = open_spool(fixture, &small_segments, NULL);

	append_records(spool, 8);
	/* Records 7 and 8 are in the active segment; damage record 8. */
	segment_flip_bit(fixture, 7, FRAME + SPOOL_FRAME_HEADER_BYTES + 3);
	struct collected *collected = read_all(spool, 6);
	assert_records(collected, 7, 7);
	free(collected);

	append_records(spool, 1);
	assert_true(segment_exists(fixture, 9));
	collected = read_all(spool, 7);
	assert_records(collected, 9, 9);
	free(collected);
	spool_close(spool);
}

/* ---- acknowledgement ---- */

static void test_acknowledge_unlinks_segments_holding_only_acknowledged_records(void **state)
{
	struct fixture *fixture = *state;
	struct spool *spool = open_spool(fixture, &small_segments, NULL);
	struct spool_stats stats;

	append_records(spool, 9);
	assert_int_equal(count_segment_files(fixture), 3);
	assert_int_equal(spool_acknowledge(spool, 5), 0);
	assert_false(segment_exists(fixture, 1));
	assert_true(segment_exists(fixture, 4));
	spool_get_stats(spool, &stats);
	assert_int_equal(stats.unshipped, 4);
	assert_int_equal(stats.bytes_on_disk, 6 * FRAME);

	assert_int_equal(spool_acknowledge(spool, 9), 0);
	assert_false(segment_exists(fixture, 4));
	/* Appends continue in the active segment, so it stays. */
	assert_true(segment_exists(fixture, 7));
	spool_get_stats(spool, &stats);
	assert_int_equal(stats.unshipped, 0);
	assert_int_equal(stats.acknowledged, 9);
	spool_close(spool);
}

static void test_acknowledge_of_a_sequence_never_appended_fails_with_einval(void **state)
{
	struct fixture *fixture = *state;
	struct spool *spool = open_spool(fixture, NULL, NULL);

	append_records(spool, 3);
	assert_int_equal(spool_acknowledge(spool, 4), -EINVAL);
	assert_int_equal(spool_acknowledged(spool), 0);
	assert_int_equal(spool_acknowledge(spool, 3), 0);
	assert_int_equal(spool_acknowledged(spool), 3);
	spool_close(spool);
}

static void test_acknowledge_of_an_older_sequence_keeps_the_newer_one(void **state)
{
	struct fixture *fixture = *state;
	struct spool *spool = open_spool(fixture, NULL, NULL);

	append_records(spool, 3);
	assert_int_equal(spool_acknowledge(spool, 3), 0);
	assert_int_equal(spool_acknowledge(spool, 1), 0);
	assert_int_equal(spool_acknowledged(spool), 3);
	spool_close(spool);
}

static void test_acknowledged_sequence_is_stored_by_rename_without_leftovers(void **state)
{
	struct fixture *fixture = *state;
	struct spool *spool = open_spool(fixture, NULL, NULL);
	char path[256], text[32] = { 0 };

	append_records(spool, 12);
	assert_int_equal(spool_acknowledge(spool, 12), 0);
	snprintf(path, sizeof(path), "%s/ack", fixture->directory);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_true(read(fd, text, sizeof(text) - 1) > 0);
	close(fd);
	assert_string_equal(text, "12\n");
	assert_false(directory_has(fixture, "ack.tmp"));
	spool_close(spool);
}

static void test_leftover_temporary_ack_file_is_removed_and_ignored(void **state)
{
	struct fixture *fixture = *state;
	struct spool *spool = open_spool(fixture, NULL, NULL);
	char path[256];

	append_records(spool, 3);
	assert_int_equal(spool_acknowledge(spool, 1), 0);
	spool_close(spool);
	snprintf(path, sizeof(path), "%s/ack.tmp", fixture->directory);
	write_file(path, "3\n");

	spool = open_spool(fixture, NULL, NULL);
	assert_int_equal(spool_acknowledged(spool), 1);
	assert_false(directory_has(fixture, "ack.tmp"));
	spool_close(spool);
}

static void test_unreadable_ack_file_is_reported_and_everything_shipped_again(void **state)
{
	struct fixture *fixture = *state;
	struct spool_recovery recovery;
	struct spool *spool = open_spool(fixture, NULL, NULL);
	char path[256];

	append_records(spool, 3);
	assert_int_equal(spool_acknowledge(spool, 2), 0);
	spool_close(spool);
	snprintf(path, sizeof(path), "%s/ack", fixture->directory);
	write_file(path, "2x\n");

	spool = open_spool(fixture, NULL, &recovery);
	assert_int_equal(recovery.ack_file_invalid, 1);
	assert_int_equal(spool_acknowledged(spool), 0);
	assert_int_equal(spool_next_sequence(spool), 4);
	struct collected *collected = read_all(spool, 0);
	assert_records(collected, 1, 3);
	free(collected);
	spool_close(spool);
}

/* ---- the size bound ---- */

/* Four segments of three records fill max_bytes. */
static const struct spool_limits bounded = {
	.segment_bytes = 3 * FRAME,
	.max_bytes = 12 * FRAME,
};

static void test_full_spool_reclaims_acknowledged_segments_before_dropping_any(void **state)
{
	struct fixture *fixture = *state;
	struct spool *spool = open_spool(fixture, &bounded, NULL);
	struct spool_stats stats;

	append_records(spool, 3);
	/* The segment is still active, so the acknowledgement cannot unlink it. */
	assert_int_equal(spool_acknowledge(spool, 3), 0);
	append_records(spool, 9);
	assert_true(segment_exists(fixture, 1));
	spool_get_stats(spool, &stats);
	assert_int_equal(stats.bytes_on_disk, 12 * FRAME);

	append_records(spool, 1);
	assert_false(segment_exists(fixture, 1));
	spool_get_stats(spool, &stats);
	assert_int_equal(stats.dropped_unshipped, 0);
	assert_true(stats.bytes_on_disk <= bounded.max_bytes);
	struct collected *collected = read_all(spool, 3);
	assert_records(collected, 4, 13);
	free(collected);
	spool_close(spool);
}

static void test_full_spool_drops_the_oldest_unshipped_segment_and_counts_it(void **state)
{
	struct fixture *fixture = *state;
	struct spool *spool = open_spool(fixture, &bounded, NULL);
	struct spool_stats stats;

	append_records(spool, 13);
	spool_get_stats(spool, &stats);
	assert_int_equal(stats.dropped_unshipped, 3);
	assert_int_equal(stats.unshipped, 10);
	assert_true(stats.bytes_on_disk <= bounded.max_bytes);
	assert_false(segment_exists(fixture, 1));
	/* The gap is visible to the reader: it resumes at the oldest kept record. */
	struct collected *collected = read_all(spool, 0);
	assert_records(collected, 4, 13);
	free(collected);

	append_records(spool, 3);
	spool_get_stats(spool, &stats);
	assert_int_equal(stats.dropped_unshipped, 6);
	spool_close(spool);
}

static void test_stats_count_appends_failures_and_unshipped_records(void **state)
{
	struct fixture *fixture = *state;
	struct spool *spool = open_spool(fixture, &small_segments, NULL);
	struct spool_stats stats;

	append_records(spool, 4);
	assert_int_equal(spool_append(spool, "", 0), -EINVAL);
	assert_int_equal(spool_sync(spool), 0);
	assert_int_equal(spool_acknowledge(spool, 1), 0);
	spool_get_stats(spool, &stats);
	assert_int_equal(stats.appended, 4);
	assert_int_equal(stats.appended_bytes, 4 * FRAME);
	assert_int_equal(stats.append_failures, 1);
	assert_int_equal(stats.append_no_space, 0);
	assert_int_equal(stats.next_sequence, 5);
	assert_int_equal(stats.acknowledged, 1);
	assert_int_equal(stats.unshipped, 3);
	assert_int_equal(stats.bytes_on_disk, 4 * FRAME);
	assert_int_equal(stats.segments, 2);
	spool_close(spool);
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

struct full_disk_check {
	uint64_t expected;
	bool in_order;
};

static int check_in_order(void *context, uint64_t sequence, const void *payload, size_t length)
{
	struct full_disk_check *check = context;
	char expected[PAYLOAD_LENGTH + 1];

	payload_for(sequence, expected);
	if (sequence != check->expected || length != PAYLOAD_LENGTH ||
	    memcmp(payload, expected, PAYLOAD_LENGTH) != 0)
		check->in_order = false;
	check->expected++;
	return 0;
}

static const char *fill_and_recover(const char *mount_point)
{
	char directory[200], filler_path[220], segment[240];
	struct spool_limits limits = { .max_bytes = 16 << 20, .segment_bytes = 1 << 20 };
	struct spool_recovery recovery;
	struct spool_stats stats;
	struct spool *spool = NULL;
	struct stat status;
	static char filler[16 * 1024];
	int rc = 0;

	snprintf(directory, sizeof(directory), "%.150s/spool", mount_point);
	snprintf(filler_path, sizeof(filler_path), "%.150s/filler", mount_point);
	int fd = open(filler_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(write(fd, filler, sizeof(filler)) == (ssize_t)sizeof(filler));
	close(fd);

	CHILD_CHECK(spool_open(directory, &limits, &spool, NULL) == 0);
	for (int i = 0; i < 100000 && rc == 0; i++)
		rc = append_next(spool);
	CHILD_CHECK(rc == -ENOSPC);
	uint64_t written = spool_next_sequence(spool) - 1;
	CHILD_CHECK(written > 10);
	CHILD_CHECK(spool_append(spool, "{}", 2) == -ENOSPC);
	spool_get_stats(spool, &stats);
	CHILD_CHECK(stats.append_no_space == 2 && stats.append_failures == 2);
	CHILD_CHECK(stats.appended == written);
	/* Nothing of the failed frames stayed behind. */
	snprintf(segment, sizeof(segment), "%.200s/seg-00000000000000000001.log", directory);
	CHILD_CHECK(stat(segment, &status) == 0);
	CHILD_CHECK((uint64_t)status.st_size == written * FRAME);
	CHILD_CHECK(stats.bytes_on_disk == written * FRAME);

	struct full_disk_check check = { .expected = 1, .in_order = true };
	CHILD_CHECK(spool_read(spool, 0, SIZE_MAX, SIZE_MAX, check_in_order, &check) ==
		    (int)written);
	CHILD_CHECK(check.in_order);
	/* The acknowledgement needs a page for its temporary file too. */
	CHILD_CHECK(spool_acknowledge(spool, 1) == -ENOSPC);
	CHILD_CHECK(spool_acknowledged(spool) == 0);
	CHILD_CHECK(access(filler_path, F_OK) == 0);

	/* Space returns. */
	CHILD_CHECK(unlink(filler_path) == 0);
	CHILD_CHECK(spool_acknowledge(spool, 1) == 0);
	CHILD_CHECK(spool_next_sequence(spool) == written + 1);
	CHILD_CHECK(append_next(spool) == 0);
	CHILD_CHECK(spool_sync(spool) == 0);
	spool_close(spool);

	spool = NULL;
	CHILD_CHECK(spool_open(directory, &limits, &spool, &recovery) == 0);
	CHILD_CHECK(recovery.corrupt_bytes_dropped == 0);
	CHILD_CHECK(recovery.records_recovered == written + 1);
	CHILD_CHECK(spool_next_sequence(spool) == written + 2);
	CHILD_CHECK(spool_acknowledged(spool) == 1);
	check = (struct full_disk_check){ .expected = 2, .in_order = true };
	CHILD_CHECK(spool_read(spool, 1, SIZE_MAX, SIZE_MAX, check_in_order, &check) ==
		    (int)written);
	CHILD_CHECK(check.in_order);
	spool_close(spool);
	return NULL;
}

static void test_full_file_system_fails_with_enospc_and_the_spool_stays_consistent(
	void **state)
{
	struct fixture *fixture = *state;
	char mount_point[128];

	snprintf(mount_point, sizeof(mount_point), "%s/tmpfs", fixture->root);
	run_in_tiny_tmpfs(mount_point, "size=64k,mode=0700", fill_and_recover);
}

#define FIXTURE_TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c_gives_the_castagnoli_check_value),
		cmocka_unit_test(test_crc32c_table_agrees_with_the_bitwise_definition),
		cmocka_unit_test(test_segment_names_parse_back_to_their_first_sequence),
		cmocka_unit_test(test_names_that_are_not_segments_are_rejected),
		FIXTURE_TEST(test_open_creates_the_directory_with_mode_0700),
		FIXTURE_TEST(test_open_tightens_an_existing_directory_to_mode_0700),
		FIXTURE_TEST(test_open_of_a_directory_owned_by_another_user_fails_with_eperm),
		FIXTURE_TEST(test_open_of_a_symlink_fails_with_enotdir),
		FIXTURE_TEST(test_second_open_of_the_same_directory_fails_with_ebusy),
		FIXTURE_TEST(test_open_after_the_first_spool_closed_succeeds),
		FIXTURE_TEST(test_open_with_segments_larger_than_max_bytes_fails_with_einval),
		FIXTURE_TEST(test_open_with_a_segment_name_that_is_not_a_file_fails_with_euclean),
		FIXTURE_TEST(test_sequences_start_at_one_and_each_append_takes_the_next),
		FIXTURE_TEST(test_appended_records_read_back_in_order_across_segments),
		FIXTURE_TEST(test_read_passes_only_records_after_the_given_sequence),
		FIXTURE_TEST(test_read_in_batches_passes_every_record_once_in_order),
		FIXTURE_TEST(test_read_stops_at_max_records_and_at_max_bytes),
		FIXTURE_TEST(test_read_passes_a_record_larger_than_max_bytes_alone),
		FIXTURE_TEST(test_read_returns_the_error_of_the_callback_and_stops),
		FIXTURE_TEST(test_read_stops_cleanly_when_the_callback_returns_positive),
		FIXTURE_TEST(test_append_of_an_empty_payload_fails_with_einval),
		FIXTURE_TEST(test_append_of_a_payload_with_a_newline_fails_with_einval),
		FIXTURE_TEST(test_append_larger_than_the_record_limit_fails_with_efbig),
		FIXTURE_TEST(test_append_larger_than_max_bytes_fails_with_efbig),
		FIXTURE_TEST(test_reopen_continues_the_sequence_and_keeps_the_acknowledgement),
		FIXTURE_TEST(test_reopen_without_segments_continues_after_the_acknowledgement),
		FIXTURE_TEST(test_acknowledged_position_ahead_of_the_records_starts_a_new_segment),
		FIXTURE_TEST(test_torn_tail_is_cut_at_the_last_whole_record),
		FIXTURE_TEST(test_junk_after_the_last_record_is_cut_and_never_read),
		FIXTURE_TEST(test_half_written_frame_from_a_crash_is_discarded_on_open),
		FIXTURE_TEST(test_whole_frame_written_by_hand_is_accepted_on_open),
		FIXTURE_TEST(test_bit_flip_in_a_payload_is_detected_and_its_record_dropped),
		FIXTURE_TEST(test_record_out_of_sequence_is_treated_as_corrupt),
		FIXTURE_TEST(test_corruption_inside_an_older_segment_keeps_the_newer_segments),
		FIXTURE_TEST(test_records_overlapping_the_next_segment_are_cut_from_the_older_one),
		FIXTURE_TEST(
			test_record_corrupted_after_open_is_skipped_counted_once_and_never_read),
		FIXTURE_TEST(test_damage_in_the_active_segment_moves_appends_to_a_new_segment),
		FIXTURE_TEST(test_acknowledge_unlinks_segments_holding_only_acknowledged_records),
		FIXTURE_TEST(test_acknowledge_of_a_sequence_never_appended_fails_with_einval),
		FIXTURE_TEST(test_acknowledge_of_an_older_sequence_keeps_the_newer_one),
		FIXTURE_TEST(test_acknowledged_sequence_is_stored_by_rename_without_leftovers),
		FIXTURE_TEST(test_leftover_temporary_ack_file_is_removed_and_ignored),
		FIXTURE_TEST(test_unreadable_ack_file_is_reported_and_everything_shipped_again),
		FIXTURE_TEST(test_full_spool_reclaims_acknowledged_segments_before_dropping_any),
		FIXTURE_TEST(test_full_spool_drops_the_oldest_unshipped_segment_and_counts_it),
		FIXTURE_TEST(test_stats_count_appends_failures_and_unshipped_records),
		FIXTURE_TEST(
			test_full_file_system_fails_with_enospc_and_the_spool_stays_consistent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
