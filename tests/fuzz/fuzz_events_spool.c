/* Arbitrary bytes as a segment file, and some as the ack file: opening,
 * reading, appending and reopening the spool must never crash, and every
 * record it passes must be a whole frame of the input whose CRC-32C holds,
 * as checked here by a separate bit-by-bit CRC.
 *
 * Input: byte 0 gives the length n (0-31) of the ack file's text, the next n
 * bytes are that text (no ack file when n is 0), the rest is the segment
 * file seg-00000000000000000001.log. */
#include "events/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEADER_BYTES 20
#define SEGMENT_NAME "seg-00000000000000000001.log"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char directory[128];

struct expectation {
	const uint8_t *segment;     /* the input's segment bytes */
	size_t segment_size;
	size_t offset;              /* where the next record's frame must start */
	uint64_t previous_sequence;
	uint64_t records;
	bool from_input;            /* frames are checked against the input bytes */
};

static uint32_t crc32c_bitwise(uint32_t crc, const uint8_t *data, size_t length)
{
	crc = ~crc;
	for (size_t i = 0; i < length; i++) {
		crc ^= data[i];
		for (int bit = 0; bit < 8; bit++)
			crc = (crc >> 1) ^ (0x82f63b78 & -(crc & 1));
	}
	return ~crc;
}

static void put_le(uint8_t *out, uint64_t value, int bytes)
{
	for (int i = 0; i < bytes; i++)
		out[i] = (uint8_t)(value >> (8 * i));
}

/* The frame spool_append() would have written for this record. */
static void frame_header(uint8_t header[HEADER_BYTES], uint64_t sequence, const void *payload,
			 size_t length)
{
	memcpy(header, "SPL1", 4);
	put_le(header + 4, length, 4);
	put_le(header + 8, sequence, 8);
	put_le(header + 16, crc32c_bitwise(crc32c_bitwise(0, header, 16), payload, length), 4);
}

static int check_record(void *context, uint64_t sequence, const void *payload, size_t length)
{
	struct expectation *expect = context;
	uint8_t header[HEADER_BYTES];

	if (sequence <= expect->previous_sequence || length == 0 ||
	    length > SPOOL_RECORD_MAX_BYTES || memchr(payload, '\n', length))
		abort();
	if (expect->from_input) {
		/* Recovered records are the input's frames, back to back from 0. */
		frame_header(header, sequence, payload, length);
		if (expect->offset + HEADER_BYTES + length > expect->segment_size ||
		    memcmp(expect->segment + expect->offset, header, HEADER_BYTES) != 0 ||
		    memcmp(expect->segment + expect->offset + HEADER_BYTES, payload, length) != 0)
			abort();
		expect->offset += HEADER_BYTES + length;
	}
	expect->previous_sequence = sequence;
	expect->records++;
	return 0;
}

static void write_file(const char *name, const uint8_t *data, size_t size)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", directory, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size))
		abort();
	close(fd);
}

static char root[64];

static void directory_empty(void)
{
	DIR *listing = opendir(directory);
	struct dirent *entry;

	if (!listing)
		abort();
	while ((entry = readdir(listing)))
		if (entry->d_name[0] != '.')
			unlinkat(dirfd(listing), entry->d_name, 0);
	closedir(listing);
}

static void directory_remove(void)
{
	directory_empty();
	rmdir(directory);
	rmdir(root);
}

/* One directory on a tmpfs for the whole run, emptied before each input. */
static void directory_reset(void)
{
	if (directory[0] != '\0') {
		directory_empty();
		return;
	}
	snprintf(root, sizeof(root), "/dev/shm/fuzz-events-spool-XXXXXX");
	if (!mkdtemp(root))
		abort();
	snprintf(directory, sizeof(directory), "%s/spool", root);
	if (mkdir(directory, 0700) < 0)
		abort();
	atexit(directory_remove);
}

static bool segment_one_exists(void)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", directory, SEGMENT_NAME);
	return access(path, F_OK) == 0;
}

static struct spool *open_or_abort(struct spool_recovery *recovery)
{
	const struct spool_limits limits = { .max_bytes = 1 << 20, .segment_bytes = 4096 };
	struct spool *spool = NULL;
	int rc = spool_open(directory, &limits, &spool, recovery);

	/* An ack file claiming the last sequence there is leaves no sequence. */
	if (rc == -EOVERFLOW)
		return NULL;
	if (rc != 0 || !spool)
		abort();
	return spool;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spool_recovery recovery, reopened;
	size_t ack_length = size > 0 ? data[0] & 31 : 0;

	if (size < 1 + ack_length)
		return 0;
	directory_reset();
	const uint8_t *segment = data + 1 + ack_length;
	size_t segment_size = size - 1 - ack_length;
	write_file(SEGMENT_NAME, segment, segment_size);
	if (ack_length > 0)
		write_file("ack", data + 1, ack_length);

	struct spool *spool = open_or_abort(&recovery);
	if (!spool)
		return 0;
	if (recovery.corrupt_bytes_dropped > segment_size)
		abort();

	struct expectation expect = {
		.segment = segment,
		.segment_size = segment_size,
		.from_input = true,
	};
	int rc = spool_read(spool, 0, SIZE_MAX, SIZE_MAX, check_record, &expect);
	if (rc < 0 || (uint64_t)rc != expect.records)
		abort();
	/* Every recovered record is read back, unless the ack file covered them
	 * all and their segment was reclaimed. */
	if (expect.records != recovery.records_recovered &&
	    !(expect.records == 0 && !segment_one_exists()))
		abort();
	if (expect.offset + recovery.corrupt_bytes_dropped != segment_size && segment_one_exists())
		abort();

	uint64_t sequence = spool_next_sequence(spool);
	if (sequence <= expect.previous_sequence || sequence <= spool_acknowledged(spool))
		abort();
	rc = spool_append(spool, "{}", 2);
	if (rc == -EOVERFLOW) {
		spool_close(spool);
		return 0;
	}
	if (rc != 0 || spool_sync(spool) != 0)
		abort();
	spool_close(spool);

	/* The first open left only valid records behind; the sequence goes on. */
	spool = open_or_abort(&reopened);
	if (!spool || reopened.corrupt_bytes_dropped != 0 ||
	    reopened.ack_file_invalid != recovery.ack_file_invalid ||
	    spool_next_sequence(spool) != sequence + 1)
		abort();
	expect = (struct expectation){ .previous_sequence = sequence - 1 };
	if (spool_read(spool, sequence - 1, SIZE_MAX, SIZE_MAX, check_record, &expect) != 1 ||
	    expect.previous_sequence != sequence)
		abort();
	spool_close(spool);
	return 0;
}
