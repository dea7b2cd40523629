#include "events/spool_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

struct read_request {
	spool_record_fn fn;
	void *context;
	uint64_t wanted;            /* the lowest sequence still to pass */
	size_t max_records;
	size_t max_bytes;
	size_t records;             /* passed so far */
	size_t bytes;
	int result;                 /* < 0: fn's error */
	bool done;
};

/* Starts where the previous read stopped when that is in this segment and not
 * past the wanted sequence; otherwise at the segment's start. */
static void reader_start(struct spool *spool, const struct spool_segment *segment, int fd,
			 uint64_t wanted, struct spool_reader *reader)
{
	const struct spool_read_position *position = &spool->read_position;
	uint64_t offset = 0, expected = segment->first_sequence;
	uint64_t end = segment->first_sequence + segment->records;

	if (position->sequence != 0 &&
	    position->segment_first_sequence == segment->first_sequence &&
	    position->sequence <= wanted && position->offset <= segment->readable_bytes) {
		offset = position->offset;
		expected = position->sequence;
	}
	spool_reader_init(reader, fd, &spool->read_buffer, offset, segment->readable_bytes,
			  expected, end);
}

/* The segment checked out on open and since then only this process wrote
 * it, so a bad frame now is damage from outside (a failing disk, someone
 * with the supervisor's rights).  Nothing after it in the segment can be
 * trusted; it is counted once and the next append starts a new segment. */
static void segment_mark_damaged(struct spool *spool, struct spool_segment *segment,
				 uint64_t offset)
{
	spool->counters.corrupt_bytes += segment->readable_bytes - offset;
	segment->readable_bytes = offset;
	if (segment == &spool->segments[spool->segment_count - 1])
		spool->rotate_before_append = true;
}

static void pass_record(struct spool *spool, const struct spool_segment *segment,
			const struct spool_frame *frame, struct read_request *request)
{
	if (request->records > 0 && (request->bytes >= request->max_bytes ||
				     frame->length > request->max_bytes - request->bytes)) {
		request->done = true;
		return;
	}
	spool->read_position = (struct spool_read_position){
		.sequence = frame->sequence + 1,
		.segment_first_sequence = segment->first_sequence,
		.offset = frame->offset + frame->size,
	};
	request->records++;
	request->bytes += frame->length;
	request->wanted = frame->sequence + 1;
	int rc = request->fn(request->context, frame->sequence, frame->payload, frame->length);
	if (rc < 0)
		request->result = rc;
	if (rc != 0 || request->records == request->max_records)
		request->done = true;
}

static int read_segment(struct spool *spool, struct spool_segment *segment,
			struct read_request *request)
{
	char name[SPOOL_SEGMENT_NAME_SIZE];
	struct spool_reader reader;
	struct spool_frame frame;
	int rc = 0;

	spool_segment_name(name, segment->first_sequence);
	int fd = openat(spool->directory_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	reader_start(spool, segment, fd, request->wanted, &reader);
	while (!request->done && (rc = spool_reader_next(&reader, &frame)) == 1) {
		if (frame.sequence >= request->wanted)
			pass_record(spool, segment, &frame, request);
	}
	if (!request->done && rc == -EBADMSG) {
		segment_mark_damaged(spool, segment, reader.offset);
		rc = 0;
	}
	close(fd);
	return request->done ? 0 : rc;
}

int spool_read(struct spool *spool, uint64_t after_sequence, size_t max_records,
	       size_t max_bytes, spool_record_fn fn, void *context)
{
	struct read_request request = {
		.fn = fn,
		.context = context,
		.max_records = max_records < INT_MAX ? max_records : INT_MAX,
		.max_bytes = max_bytes,
	};

	if (after_sequence >= spool->next_sequence || max_records == 0)
		return 0;
	request.wanted = after_sequence + 1;
	for (size_t i = 0; i < spool->segment_count && !request.done; i++) {
		struct spool_segment *segment = &spool->segments[i];
		if (segment->records == 0 ||
		    segment->first_sequence + segment->records <= request.wanted)
			continue;
		int rc = read_segment(spool, segment, &request);
		if (rc < 0)
			return rc;
	}
	return request.result < 0 ? request.result : (int)request.records;
}
