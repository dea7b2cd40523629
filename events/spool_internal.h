/* Inside events/ only (and its tests): the spool's on-disk format and the
 * state its files share.
 *
 * A record is a 20-byte header followed by its payload, integers little-endian:
 *   magic "SPL1" | payload length u32 | sequence u64 | CRC-32C u32
 * The CRC covers the first 16 header bytes and the payload, so a torn write,
 * a zero-filled tail after a power cut or a flipped bit all fail it. */
#ifndef SANDBOX_INIT_SPOOL_INTERNAL_H
#define SANDBOX_INIT_SPOOL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "events/spool.h"

#define SPOOL_FRAME_HEADER_BYTES 20
#define SPOOL_FRAME_MAGIC "SPL1"
/* "seg-" + 20 digits + ".log" */
#define SPOOL_SEGMENT_NAME_LENGTH 28
#define SPOOL_SEGMENT_NAME_SIZE (SPOOL_SEGMENT_NAME_LENGTH + 1)
/* Every sequence, segment name and acknowledged sequence is below it, so the
 * next sequence always fits in a uint64_t. */
#define SPOOL_SEQUENCE_LIMIT UINT64_MAX

uint32_t spool_crc32c(uint32_t crc, const void *data, size_t length);

/* Writes the header for a record with this sequence and payload. */
void spool_frame_encode_header(uint8_t header[SPOOL_FRAME_HEADER_BYTES], uint64_t sequence,
			       const void *payload, uint32_t length);

/* A payload the spool accepts: non-empty, at most SPOOL_RECORD_MAX_BYTES, no '\n'. */
bool spool_payload_is_valid(const void *payload, size_t length);

void spool_segment_name(char name[SPOOL_SEGMENT_NAME_SIZE], uint64_t first_sequence);

/* True when name is exactly a segment name; *first_sequence is then >= 1 and
 * below SPOOL_SEQUENCE_LIMIT. */
bool spool_segment_name_parse(const char *name, uint64_t *first_sequence);

/* A growable buffer the reader keeps between calls, so reading allocates only
 * when a record is larger than any before. */
struct spool_buffer {
	uint8_t *data;
	size_t capacity;
};

/* Grows buffer to at least wanted bytes; returns 0 or -ENOMEM. */
int spool_buffer_reserve(struct spool_buffer *buffer, size_t wanted);

/* Reads the records of one segment file front to back.  A record is accepted
 * only if its frame is complete within limit_offset, its magic, length and
 * CRC are right, its payload is valid and its sequence is exactly the one
 * expected (the segment's first, then one more each) and below
 * limit_sequence (where the next segment begins). */
struct spool_reader {
	int fd;
	struct spool_buffer *buffer;
	size_t start, end;          /* unread bytes: buffer->data[start, end) */
	uint64_t offset;            /* the file offset of buffer->data[start] */
	uint64_t limit_offset;
	uint64_t expected_sequence;
	uint64_t limit_sequence;
};

struct spool_frame {
	uint64_t sequence;
	const uint8_t *payload;     /* inside the reader's buffer, until the next call */
	uint32_t length;
	uint64_t offset;            /* of the frame in the file */
	uint64_t size;              /* header included */
};

void spool_reader_init(struct spool_reader *reader, int fd, struct spool_buffer *buffer,
		       uint64_t offset, uint64_t limit_offset, uint64_t expected_sequence,
		       uint64_t limit_sequence);

/* Returns 1 with the next record in *frame, 0 at limit_offset, -EBADMSG when
 * the bytes at reader->offset are not a valid record, -ENOMEM, or the -errno
 * of a failed read. */
int spool_reader_next(struct spool_reader *reader, struct spool_frame *frame);

struct spool_segment_scan {
	uint64_t records;
	uint64_t valid_bytes;       /* the offset after the last valid record */
	uint64_t file_bytes;
};

/* Counts the valid records from the start of the segment file fd. */
int spool_segment_scan(int fd, struct spool_buffer *buffer, uint64_t first_sequence,
		       uint64_t limit_sequence, struct spool_segment_scan *scan);

/* One segment file, as recovered on open and kept up to date by appends. */
struct spool_segment {
	uint64_t first_sequence;    /* from its name: the sequence of its first record */
	uint64_t records;           /* contiguous from first_sequence */
	uint64_t bytes;             /* of valid frames; the file is exactly this long */
	uint64_t readable_bytes;    /* below bytes once reading found corruption there */
};

/* Where the last spool_read() stopped, so the shipper's next read starts
 * there instead of rescanning the segment from its start. */
struct spool_read_position {
	uint64_t sequence;          /* of the frame at offset; 0: no position */
	uint64_t segment_first_sequence;
	uint64_t offset;
};

struct spool {
	int directory_fd;           /* holds the flock that keeps a second supervisor out */
	int active_fd;              /* the newest segment, O_WRONLY | O_APPEND */
	struct spool_limits limits;
	struct spool_segment *segments;  /* oldest first; the last one is active */
	size_t segment_count, segment_capacity;
	uint64_t next_sequence;
	uint64_t acknowledged;
	uint64_t bytes_on_disk;
	bool unsynced;
	bool active_needs_truncate; /* a failed append left bytes past active bytes */
	bool rotate_before_append;  /* reading found the active segment corrupt */
	struct spool_buffer write_buffer, read_buffer;
	struct spool_read_position read_position;
	struct spool_stats counters;     /* the counting fields only */
};

/* spool_directory.c: the directory, the ack file and the segment files. */
int spool_directory_open(const char *path, int *directory_fd);
int spool_ack_load(struct spool *spool, struct spool_recovery *found);
int spool_ack_store(int directory_fd, uint64_t sequence);
int spool_segments_load(struct spool *spool, struct spool_recovery *found);
int spool_segment_create(struct spool *spool, uint64_t first_sequence, int *fd);

/* spool.c */
int spool_write_all(int fd, const void *data, size_t size);
int spool_segment_remove_oldest(struct spool *spool);
int spool_reclaim_acknowledged(struct spool *spool);

#endif
