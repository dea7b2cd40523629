/* Splitting a byte stream into lines of bounded length.  Internal to turn/. */
#ifndef SANDBOX_INIT_TURN_LINES_H
#define SANDBOX_INIT_TURN_LINES_H

#include <stdbool.h>
#include <stddef.h>

struct line_buffer {
	char *data;
	size_t used, capacity, limit;
	size_t consumed; /* bytes of the line last handed out, dropped on the next call */
};

void line_buffer_init(struct line_buffer *buffer, size_t limit);
void line_buffer_release(struct line_buffer *buffer);

/* Appends bytes; -ENOMEM, or -E2BIG once a line outgrows the limit. */
int line_buffer_append(struct line_buffer *buffer, const char *data, size_t length);

/* Takes the next complete line (without its newline) into line and length,
 * valid until the next call; false when no whole line is buffered.  With
 * at_eof, a last line without a newline counts too. */
bool line_buffer_next(struct line_buffer *buffer, bool at_eof, const char **line, size_t *length);

#endif
