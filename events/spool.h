/* The durable event spool: every event is appended here before it counts as
 * emitted, and the shipper reads it back from the acknowledged position.
 *
 * On disk, a directory (mode 0700, owned by the supervisor, one supervisor at a
 * time) holds append-only segment files `seg-<first sequence, 20 digits>.log`
 * and a file `ack` with the last sequence the receiver acknowledged.  Each
 * record is framed and checksummed (CRC-32C), so a torn or corrupt tail left
 * by a crash is found on open, cut off and reported, never read back.
 *
 * Durability: spool_append() only write(2)s.  spool_sync() makes everything
 * appended so far durable; the caller runs it on a short timer (say 100 ms),
 * before acknowledging and at shutdown.  A power cut (or a kernel crash) loses
 * at most the records appended since the last successful spool_sync(); a
 * crash of the supervisor alone loses nothing, the data is in the page cache.
 * The acknowledged position is replaced atomically (temporary file, fsync,
 * rename, fsync of the directory), so it is either the old or the new one.
 *
 * Sequences start at 1, increase by one per record and are never reused, also
 * across restarts and after every segment was reclaimed.  A gap in what
 * spool_read() returns means records were lost: dropped by the size bound
 * (counted in spool_stats.dropped_unshipped) or cut off as corrupt (counted in
 * spool_recovery and spool_stats.corrupt_bytes).
 *
 * Single-threaded: no function may be called concurrently with another on the
 * same spool. */
#ifndef SANDBOX_INIT_SPOOL_H
#define SANDBOX_INIT_SPOOL_H

#include <stddef.h>
#include <stdint.h>

/* The largest payload one record may carry. */
#define SPOOL_RECORD_MAX_BYTES (1024 * 1024)

#define SPOOL_DEFAULT_MAX_BYTES (64ULL * 1024 * 1024)
#define SPOOL_DEFAULT_SEGMENT_BYTES (1024ULL * 1024)

struct spool_limits {
	/* Bound on the bytes all segments may take; 0: SPOOL_DEFAULT_MAX_BYTES.
	 * When an append would exceed it, acknowledged segments are unlinked
	 * first (oldest first); if that is not enough, the oldest segments still
	 * holding unshipped records are dropped and their records counted in
	 * spool_stats.dropped_unshipped. */
	uint64_t max_bytes;
	/* A segment is closed and a new one started once the next record would
	 * take it past this size; 0: SPOOL_DEFAULT_SEGMENT_BYTES.  Must not exceed
	 * max_bytes; several segments per max_bytes make the bound finer. */
	uint64_t segment_bytes;
};

/* What spool_open() found and repaired. */
struct spool_recovery {
	uint64_t records_recovered;      /* valid records found in the segments */
	uint64_t corrupt_bytes_dropped;  /* torn or corrupt bytes cut off */
	uint64_t segments_truncated;     /* segments that had such bytes */
	uint64_t ack_file_invalid;       /* 1: unreadable ack file, 0 taken as acknowledged */
};

struct spool_stats {
	uint64_t appended;           /* records appended since open */
	uint64_t appended_bytes;     /* on-disk bytes of those records, framing included */
	uint64_t append_failures;    /* spool_append() calls that returned an error */
	uint64_t append_no_space;    /* of those, -ENOSPC from the file system */
	uint64_t dropped_unshipped;  /* records never acknowledged, dropped by max_bytes */
	uint64_t corrupt_bytes;      /* corrupt bytes found since open, on open and on reading */
	uint64_t next_sequence;
	uint64_t acknowledged;
	uint64_t unshipped;          /* records on disk after the acknowledged sequence */
	uint64_t bytes_on_disk;      /* of all segments */
	uint64_t segments;
};

struct spool;

/* Opens the spool in directory (created with mode 0700 if missing; its parent
 * must exist), recovers it and prepares the next append.  limits may be NULL
 * for the defaults; recovery may be NULL.
 * Returns 0, or -EINVAL (bad limits), -EPERM (the directory belongs to another
 * user), -EBUSY (another spool has it open), -ENOTDIR (not a directory, or a
 * symlink), -EUCLEAN (a segment name that is not a regular file), -EOVERFLOW
 * (the ack file holds the last sequence there is), or the -errno of a failed
 * file operation. */
int spool_open(const char *directory, const struct spool_limits *limits, struct spool **out,
	       struct spool_recovery *recovery);

/* Syncs (best effort: call spool_sync() first to see its error) and frees. */
void spool_close(struct spool *spool);

/* The sequence the next spool_append() will give its record, so the caller can
 * put it inside the event it is about to append. */
uint64_t spool_next_sequence(const struct spool *spool);

/* Appends one record with sequence spool_next_sequence(); payload is one
 * NDJSON event without its newline.  Returns 0, or -EINVAL (empty payload or
 * one containing '\n', which would split the event on the wire), -EFBIG (larger
 * than SPOOL_RECORD_MAX_BYTES or than max_bytes), -EOVERFLOW (sequences
 * exhausted), -ENOSPC (the file system is full; nothing of the record stays on
 * disk, the spool remains consistent and a later append may succeed), or the
 * -errno of another failed file operation.  On error the sequence is not used. */
int spool_append(struct spool *spool, const void *payload, size_t length);

/* Makes every record appended so far durable.  Returns 0 or -errno. */
int spool_sync(struct spool *spool);

/* Called by spool_read() once per record, in sequence order.  payload is valid
 * only during the call; the callback must not call any other spool function.
 * Returns 0 to continue, > 0 to stop (spool_read() then succeeds), < 0 to stop
 * with that error. */
typedef int (*spool_record_fn)(void *context, uint64_t sequence, const void *payload,
			       size_t length);

/* Passes fn the records with a sequence greater than after_sequence, in order,
 * at most max_records of them and, except for the first, only while their
 * payloads add up to at most max_bytes (so a record larger than max_bytes is
 * still delivered, alone, and never blocks the spool).  Every record has
 * passed its checksum; a record found corrupt now is skipped and counted, with
 * the rest of its segment.  Returns the number of records passed (0: none
 * after after_sequence), or a negative error from fn or from reading. */
int spool_read(struct spool *spool, uint64_t after_sequence, size_t max_records,
	       size_t max_bytes, spool_record_fn fn, void *context);

/* Records durably that the receiver has every record up to sequence, then
 * unlinks the segments holding only such records.  An older sequence than the
 * current acknowledged one changes nothing.  Returns 0, -EINVAL (a sequence
 * never appended), or -errno. */
int spool_acknowledge(struct spool *spool, uint64_t sequence);

uint64_t spool_acknowledged(const struct spool *spool);

void spool_get_stats(const struct spool *spool, struct spool_stats *out);

#endif
