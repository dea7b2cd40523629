#include "events/spool.h"

#include "events/spool_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int limits_resolve(const struct spool_limits *requested, struct spool_limits *out)
{
	*out = (struct spool_limits){
		.max_bytes = SPOOL_DEFAULT_MAX_BYTES,
		.segment_bytes = SPOOL_DEFAULT_SEGMENT_BYTES,
	};
	if (requested && requested->max_bytes)
		out->max_bytes = requested->max_bytes;
	if (requested && requested->segment_bytes)
		out->segment_bytes = requested->segment_bytes;
	if (out->segment_bytes <= SPOOL_FRAME_HEADER_BYTES ||
	    out->segment_bytes > out->max_bytes)
		return -EINVAL;
	return 0;
}

/* How many of the segment's records the receiver has not acknowledged. */
static uint64_t segment_unshipped(const struct spool_segment *segment, uint64_t acknowledged)
{
	uint64_t end = segment->first_sequence + segment->records;
	uint64_t from = segment->first_sequence > acknowledged ? segment->first_sequence
							      : acknowledged + 1;

	return end > from ? end - from : 0;
}

static struct spool_segment *active_segment(struct spool *spool)
{
	return &spool->segments[spool->segment_count - 1];
}

/* After the newest record, and after the acknowledged sequence: records the
 * receiver acknowledged may be gone from disk (a power cut before they were
 * synced, or every segment reclaimed), and their sequences must not be given
 * out again: the receiver would see two different events with one sequence. */
static uint64_t next_sequence_recover(struct spool *spool)
{
	uint64_t next = spool->acknowledged + 1;

	if (spool->segment_count > 0) {
		struct spool_segment *newest = active_segment(spool);
		if (newest->first_sequence + newest->records > next)
			next = newest->first_sequence + newest->records;
	}
	return next;
}

/* Prepares the newest segment for appending.  It continues the sequence only
 * if its records end right before next_sequence; otherwise (the ack file is
 * ahead of the segments, as after a power cut that lost records already
 * acknowledged, or the segments are gone) a new segment named next_sequence
 * starts, because a segment's records must be contiguous from its name. */
static int active_prepare(struct spool *spool)
{
	char name[SPOOL_SEGMENT_NAME_SIZE];

	if (spool->segment_count > 0) {
		struct spool_segment *newest = active_segment(spool);
		if (newest->first_sequence + newest->records == spool->next_sequence) {
			spool_segment_name(name, newest->first_sequence);
			spool->active_fd = openat(spool->directory_fd, name,
						  O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
			return spool->active_fd < 0 ? -errno : 0;
		}
	}
	if (spool->next_sequence >= SPOOL_SEQUENCE_LIMIT)
		return -EOVERFLOW;
	return spool_segment_create(spool, spool->next_sequence, &spool->active_fd);
}

static void spool_free(struct spool *spool)
{
	if (spool->active_fd >= 0)
		close(spool->active_fd);
	/* Closing the directory releases the flock. */
	if (spool->directory_fd >= 0)
		close(spool->directory_fd);
	free(spool->segments);
	free(spool->write_buffer.data);
	free(spool->read_buffer.data);
	free(spool);
}

int spool_open(const char *directory, const struct spool_limits *limits, struct spool **out,
	       struct spool_recovery *recovery)
{
	struct spool_recovery found = { 0 };
	struct spool *spool = calloc(1, sizeof(*spool));
	int rc;

	if (!spool)
		return -ENOMEM;
	spool->directory_fd = -1;
	spool->active_fd = -1;
	rc = limits_resolve(limits, &spool->limits);
	if (rc < 0)
		goto out;
	rc = spool_directory_open(directory, &spool->directory_fd);
	if (rc < 0)
		goto out;
	rc = spool_ack_load(spool, &found);
	if (rc < 0)
		goto out;
	rc = spool_segments_load(spool, &found);
	if (rc < 0)
		goto out;

	spool->next_sequence = next_sequence_recover(spool);
	rc = active_prepare(spool);
	if (rc < 0)
		goto out;
	rc = spool_reclaim_acknowledged(spool);
	if (rc < 0)
		goto out;

	spool->counters.corrupt_bytes = found.corrupt_bytes_dropped;
	if (recovery)
		*recovery = found;
	*out = spool;
	spool = NULL;
out:
	if (spool)
		spool_free(spool);
	return rc;
}

void spool_close(struct spool *spool)
{
	if (!spool)
		return;
	spool_sync(spool);
	spool_free(spool);
}

uint64_t spool_next_sequence(const struct spool *spool)
{
	return spool->next_sequence;
}

uint64_t spool_acknowledged(const struct spool *spool)
{
	return spool->acknowledged;
}

int spool_sync(struct spool *spool)
{
	if (!spool->unsynced)
		return 0;
	if (fdatasync(spool->active_fd) < 0)
		return -errno;
	spool->unsynced = false;
	return 0;
}

int spool_write_all(int fd, const void *data, size_t size)
{
	const uint8_t *bytes = data;

	while (size > 0) {
		ssize_t written = write(fd, bytes, size);
		if (written < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (written == 0)
			return -EIO;
		bytes += written;
		size -= (size_t)written;
	}
	return 0;
}

/* A failed append can leave part of a frame behind (a write cut short by a
 * full disk).  Left in place it would end the segment at the next open and
 * take every later record with it, so it goes before anything is appended. */
static int active_repair(struct spool *spool)
{
	if (!spool->active_needs_truncate)
		return 0;
	if (ftruncate(spool->active_fd, (off_t)active_segment(spool)->bytes) < 0)
		return -errno;
	spool->active_needs_truncate = false;
	return 0;
}

static int rotate_if_full(struct spool *spool, uint64_t frame_size)
{
	struct spool_segment *active = active_segment(spool);
	int fd, rc;

	if (active->records == 0)
		return 0;
	if (!spool->rotate_before_append &&
	    active->bytes + frame_size <= spool->limits.segment_bytes)
		return 0;
	/* Sync the segment being closed, so that a power cut loses a suffix
	 * of the sequence, never a hole in front of a newer segment. */
	rc = spool_sync(spool);
	if (rc < 0)
		return rc;
	rc = spool_segment_create(spool, spool->next_sequence, &fd);
	if (rc < 0)
		return rc;
	close(spool->active_fd);
	spool->active_fd = fd;
	spool->rotate_before_append = false;
	return 0;
}

/* Oldest first, and acknowledged segments are always the oldest, so this
 * reclaims shipped data before it drops unshipped records.  The active segment
 * always fits on its own: it is rotated once the next frame would take it past
 * segment_bytes, which is at most max_bytes, and a frame is at most max_bytes. */
static int make_room(struct spool *spool, uint64_t frame_size)
{
	while (spool->bytes_on_disk + frame_size > spool->limits.max_bytes &&
	       spool->segment_count > 1) {
		int rc = spool_segment_remove_oldest(spool);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int write_frame(struct spool *spool, const void *payload, uint32_t length)
{
	struct spool_segment *active = active_segment(spool);
	size_t frame_size = SPOOL_FRAME_HEADER_BYTES + (size_t)length;
	int rc = spool_buffer_reserve(&spool->write_buffer, frame_size);

	if (rc < 0)
		return rc;
	/* One write(2) for the whole frame: a crash can tear it only at the end
	 * of the file, where the next open finds and cuts it. */
	spool_frame_encode_header(spool->write_buffer.data, spool->next_sequence, payload, length);
	memcpy(spool->write_buffer.data + SPOOL_FRAME_HEADER_BYTES, payload, length);
	rc = spool_write_all(spool->active_fd, spool->write_buffer.data, frame_size);
	if (rc < 0) {
		if (ftruncate(spool->active_fd, (off_t)active->bytes) < 0)
			spool->active_needs_truncate = true;
		return rc;
	}

	active->records++;
	active->bytes += frame_size;
	active->readable_bytes += frame_size;
	spool->bytes_on_disk += frame_size;
	spool->next_sequence++;
	spool->unsynced = true;
	spool->counters.appended++;
	spool->counters.appended_bytes += frame_size;
	return 0;
}

static int append_record(struct spool *spool, const void *payload, size_t length)
{
	uint64_t frame_size = SPOOL_FRAME_HEADER_BYTES + (uint64_t)length;
	int rc;

	if (length > SPOOL_RECORD_MAX_BYTES || frame_size > spool->limits.max_bytes)
		return -EFBIG;
	if (!spool_payload_is_valid(payload, length))
		return -EINVAL;
	if (spool->next_sequence >= SPOOL_SEQUENCE_LIMIT)
		return -EOVERFLOW;
	rc = active_repair(spool);
	if (rc < 0)
		return rc;
	rc = rotate_if_full(spool, frame_size);
	if (rc < 0)
		return rc;
	rc = make_room(spool, frame_size);
	if (rc < 0)
		return rc;
	return write_frame(spool, payload, (uint32_t)length);
}

int spool_append(struct spool *spool, const void *payload, size_t length)
{
	int rc = append_record(spool, payload, length);

	if (rc < 0) {
		spool->counters.append_failures++;
		if (rc == -ENOSPC)
			spool->counters.append_no_space++;
	}
	return rc;
}

int spool_acknowledge(struct spool *spool, uint64_t sequence)
{
	int rc;

	if (sequence >= spool->next_sequence)
		return -EINVAL;
	if (sequence <= spool->acknowledged)
		return 0;
	rc = spool_ack_store(spool->directory_fd, sequence);
	if (rc < 0)
		return rc;
	spool->acknowledged = sequence;
	return spool_reclaim_acknowledged(spool);
}

int spool_reclaim_acknowledged(struct spool *spool)
{
	/* Never the active segment: appends continue in it. */
	while (spool->segment_count > 1 &&
	       segment_unshipped(&spool->segments[0], spool->acknowledged) == 0) {
		int rc = spool_segment_remove_oldest(spool);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int spool_segment_remove_oldest(struct spool *spool)
{
	struct spool_segment *oldest = &spool->segments[0];
	char name[SPOOL_SEGMENT_NAME_SIZE];

	spool_segment_name(name, oldest->first_sequence);
	/* No directory sync: a file a power cut brings back is reclaimed again
	 * or shipped twice on the next start, and neither loses a record. */
	if (unlinkat(spool->directory_fd, name, 0) < 0 && errno != ENOENT)
		return -errno;
	spool->counters.dropped_unshipped += segment_unshipped(oldest, spool->acknowledged);
	spool->bytes_on_disk -= oldest->bytes;
	spool->segment_count--;
	memmove(&spool->segments[0], &spool->segments[1],
		spool->segment_count * sizeof(spool->segments[0]));
	return 0;
}

void spool_get_stats(const struct spool *spool, struct spool_stats *out)
{
	*out = spool->counters;
	out->next_sequence = spool->next_sequence;
	out->acknowledged = spool->acknowledged;
	out->bytes_on_disk = spool->bytes_on_disk;
	out->segments = spool->segment_count;
	out->unshipped = 0;
	for (size_t i = 0; i < spool->segment_count; i++)
		out->unshipped += segment_unshipped(&spool->segments[i], spool->acknowledged);
}
