#include "turn/lines.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void line_buffer_init(struct line_buffer *buffer, size_t limit)
{
	*buffer = (struct line_buffer){ .limit = limit };
}

void line_buffer_release(struct line_buffer *buffer)
{
	free(buffer->data);
	*buffer = (struct line_buffer){ 0 };
}

int line_buffer_append(struct line_buffer *buffer, const char *data, size_t length)
{
	if (buffer->used + length > buffer->capacity) {
		size_t capacity = buffer->capacity ? buffer->capacity : 4096;
		while (capacity < buffer->used + length)
			capacity *= 2;
		char *grown = realloc(buffer->data, capacity);
		if (!grown)
			return -ENOMEM;
		buffer->data = grown;
		buffer->capacity = capacity;
	}
	memcpy(buffer->data + buffer->used, data, length);
	buffer->used += length;

	/* Only the unfinished tail can outgrow the limit: the caller takes
	 * whole lines out after every append. */
	const char *last_newline = memrchr(buffer->data, '\n', buffer->used);
	size_t tail = last_newline ? buffer->used - (size_t)(last_newline + 1 - buffer->data) : buffer->used;
	return tail > buffer->limit ? -E2BIG : 0;
}

bool line_buffer_next(struct line_buffer *buffer, bool at_eof, const char **line, size_t *length)
{
	/* The line handed out last time stays valid until now, so its bytes are
	 * dropped here rather than when it was taken. */
	if (buffer->consumed) {
		memmove(buffer->data, buffer->data + buffer->consumed, buffer->used - buffer->consumed);
		buffer->used -= buffer->consumed;
		buffer->consumed = 0;
	}
	const char *newline = buffer->used ? memchr(buffer->data, '\n', buffer->used) : NULL;
	if (newline) {
		*line = buffer->data;
		*length = (size_t)(newline - buffer->data);
		buffer->consumed = *length + 1;
		return true;
	}
	if (at_eof && buffer->used) {
		*line = buffer->data;
		*length = buffer->used;
		buffer->consumed = buffer->used;
		return true;
	}
	return false;
}
