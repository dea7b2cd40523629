#include "events/spool_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define ACK_NAME "ack"
#define ACK_TEMPORARY_NAME "ack.tmp"
/* 20 digits and a newline; anything longer is not an ack file we wrote. */
#define ACK_TEXT_MAX 21

static int directory_take(int fd)
{
	struct stat status;

	if (fstat(fd, &status) < 0)
		return -errno;
	/* The spool is the audit trail: in a directory another user owns, that
	 * user could rewrite or delete it behind the supervisor's back. */
	if (status.st_uid != geteuid())
		return -EPERM;
	if ((status.st_mode & 07777) != 0700 && fchmod(fd, 0700) < 0)
		return -errno;
	/* Two supervisors appending to one spool would interleave sequences. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? -EBUSY : -errno;
	return 0;
}

int spool_directory_open(const char *path, int *directory_fd)
{
	int fd, rc;

	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	/* O_NOFOLLOW: a symlink in its place would move the audit trail to
	 * wherever it points. */
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP ? -ENOTDIR : -errno;
	rc = directory_take(fd);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	/* Left by a crash in the middle of spool_ack_store(); the ack file
	 * itself is then still the previous one. */
	if (unlinkat(fd, ACK_TEMPORARY_NAME, 0) < 0 && errno != ENOENT) {
		rc = -errno;
		close(fd);
		return rc;
	}
	*directory_fd = fd;
	return 0;
}

static bool ack_text_parse(const char *text, size_t length, uint64_t *sequence)
{
	uint64_t value = 0;

	if (length < 2 || length > ACK_TEXT_MAX || text[length - 1] != '\n')
		return false;
	for (size_t i = 0; i < length - 1; i++) {
		unsigned digit = (unsigned)(text[i] - '0');
		if (digit > 9 || value > (UINT64_MAX - digit) / 10)
			return false;
		value = value * 10 + digit;
	}
	if (value >= SPOOL_SEQUENCE_LIMIT)
		return false;
	*sequence = value;
	return true;
}

/* A missing ack file means nothing was acknowledged yet.  An unreadable one
 * is reported and taken as 0: shipping everything again only makes
 * duplicates, which the receiver drops by uid; trusting it could lose data. */
int spool_ack_load(struct spool *spool, struct spool_recovery *found)
{
	char text[ACK_TEXT_MAX + 1];
	size_t length = 0;
	int fd, rc = 0;

	spool->acknowledged = 0;
	fd = openat(spool->directory_fd, ACK_NAME, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	while (length < sizeof(text)) {
		ssize_t got = read(fd, text + length, sizeof(text) - length);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		if (got == 0)
			break;
		length += (size_t)got;
	}
	if (!ack_text_parse(text, length, &spool->acknowledged))
		found->ack_file_invalid = 1;
out:
	close(fd);
	return rc;
}

/* Write a temporary file, sync it, rename it over the old one, sync the
 * directory: after a crash the ack file is the old one or the new one, never
 * a mix, and once this returns the new one survives a power cut. */
int spool_ack_store(int directory_fd, uint64_t sequence)
{
	char text[ACK_TEXT_MAX + 1];
	int length = snprintf(text, sizeof(text), "%" PRIu64 "\n", sequence);
	int fd, rc;

	fd = openat(directory_fd, ACK_TEMPORARY_NAME,
		    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	rc = spool_write_all(fd, text, (size_t)length);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && renameat(directory_fd, ACK_TEMPORARY_NAME, directory_fd, ACK_NAME) < 0)
		rc = -errno;
	if (rc < 0) {
		unlinkat(directory_fd, ACK_TEMPORARY_NAME, 0);
		return rc;
	}
	if (fsync(directory_fd) < 0)
		return -errno;
	return 0;
}

static int segments_reserve(struct spool *spool, size_t count)
{
	if (spool->segment_capacity >= count)
		return 0;
	size_t capacity = spool->segment_capacity ? spool->segment_capacity * 2 : 16;
	while (capacity < count)
		capacity *= 2;
	struct spool_segment *grown = reallocarray(spool->segments, capacity, sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	spool->segments = grown;
	spool->segment_capacity = capacity;
	return 0;
}

static int segment_compare(const void *left, const void *right)
{
	const struct spool_segment *a = left, *b = right;

	return (a->first_sequence > b->first_sequence) - (a->first_sequence < b->first_sequence);
}

/* Every file named like a segment, oldest first; other names are left alone. */
static int segments_list(struct spool *spool)
{
	struct dirent *entry;
	uint64_t first;
	int rc = 0;
	int fd = openat(spool->directory_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	DIR *directory = fdopendir(fd);
	if (!directory) {
		rc = -errno;
		close(fd);
		return rc;
	}
	for (errno = 0; (entry = readdir(directory)); errno = 0) {
		if (!spool_segment_name_parse(entry->d_name, &first))
			continue;
		rc = segments_reserve(spool, spool->segment_count + 1);
		if (rc < 0)
			goto out;
		spool->segments[spool->segment_count++] = (struct spool_segment){
			.first_sequence = first,
		};
	}
	if (errno)
		rc = -errno;
out:
	closedir(directory);
	if (rc == 0 && spool->segment_count > 1)
		qsort(spool->segments, spool->segment_count, sizeof(spool->segments[0]),
		      segment_compare);
	return rc;
}

/* Keeps the valid records from the start of the segment and cuts the file
 * after the last one.  Corruption in the middle of an older segment is
 * treated like a torn tail: what follows it in that segment is dropped and
 * counted.  Searching past it for the next frame that checks out would bring
 * back records behind a hole of unknown size, and a segment's records are
 * contiguous by construction; the next segment starts cleanly at its name. */
static int segment_recover(struct spool *spool, struct spool_segment *segment,
			   uint64_t limit_sequence, struct spool_recovery *found)
{
	char name[SPOOL_SEGMENT_NAME_SIZE];
	struct spool_segment_scan scan;
	struct stat status;
	int fd, rc;

	spool_segment_name(name, segment->first_sequence);
	if (fstatat(spool->directory_fd, name, &status, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISREG(status.st_mode))
		return -EUCLEAN;
	fd = openat(spool->directory_fd, name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	rc = spool_segment_scan(fd, &spool->read_buffer, segment->first_sequence, limit_sequence,
				&scan);
	if (rc < 0)
		goto out;
	if (scan.valid_bytes < scan.file_bytes) {
		if (ftruncate(fd, (off_t)scan.valid_bytes) < 0 || fdatasync(fd) < 0) {
			rc = -errno;
			goto out;
		}
		found->corrupt_bytes_dropped += scan.file_bytes - scan.valid_bytes;
		found->segments_truncated++;
	}
	segment->records = scan.records;
	segment->bytes = scan.valid_bytes;
	segment->readable_bytes = scan.valid_bytes;
	found->records_recovered += scan.records;
	spool->bytes_on_disk += scan.valid_bytes;
out:
	close(fd);
	return rc;
}

int spool_segments_load(struct spool *spool, struct spool_recovery *found)
{
	int rc = segments_list(spool);

	for (size_t i = 0; rc == 0 && i < spool->segment_count; i++) {
		/* A record at or past the next segment's name would break the
		 * one sequence order segments are read in. */
		uint64_t limit = SPOOL_SEQUENCE_LIMIT;
		if (i + 1 < spool->segment_count)
			limit = spool->segments[i + 1].first_sequence;
		rc = segment_recover(spool, &spool->segments[i], limit, found);
	}
	return rc;
}

/* Creates the segment, makes its name durable and appends it to the list. */
int spool_segment_create(struct spool *spool, uint64_t first_sequence, int *fd)
{
	char name[SPOOL_SEGMENT_NAME_SIZE];
	int rc = segments_reserve(spool, spool->segment_count + 1);
	int created;

	if (rc < 0)
		return rc;
	spool_segment_name(name, first_sequence);
	created = openat(spool->directory_fd, name,
			 O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (created < 0)
		return -errno;
	/* Without this, a power cut could lose the file and with it records
	 * that spool_sync() had already reported durable. */
	if (fsync(spool->directory_fd) < 0) {
		rc = -errno;
		close(created);
		unlinkat(spool->directory_fd, name, 0);
		return rc;
	}
	spool->segments[spool->segment_count++] = (struct spool_segment){
		.first_sequence = first_sequence,
	};
	*fd = created;
	return 0;
}
