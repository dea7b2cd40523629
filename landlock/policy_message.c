/* The one error format every policy loader uses: "name:line: field: reason",
 * the field spelled from the node's place in the document. */
#include "landlock/policy.h"
#include "landlock/policy_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keys and values are attacker-chosen: shown escaped and cut short so that a
 * message stays one readable line. */
#define SHOWN_KEY_BYTES 48

struct text_buffer {
	char *data;
	size_t size;
	size_t used;
};

static void buffer_vappend(struct text_buffer *buffer, const char *format, va_list arguments)
	__attribute__((format(printf, 2, 0)));
static void buffer_append(struct text_buffer *buffer, const char *format, ...)
	__attribute__((format(printf, 2, 3)));

/* Appends what fits; a message cut short is still a message. */
static void buffer_vappend(struct text_buffer *buffer, const char *format, va_list arguments)
{
	int written;

	if (buffer->used + 1 >= buffer->size)
		return;
	written = vsnprintf(buffer->data + buffer->used, buffer->size - buffer->used, format,
			    arguments);
	if (written < 0)
		return;
	buffer->used += (size_t)written;
	if (buffer->used >= buffer->size)
		buffer->used = buffer->size - 1;
}

static void buffer_append(struct text_buffer *buffer, const char *format, ...)
{
	va_list arguments;

	va_start(arguments, format);
	buffer_vappend(buffer, format, arguments);
	va_end(arguments);
}

static void buffer_append_escaped(struct text_buffer *buffer, const char *text, size_t length,
				  size_t limit, bool quoted)
{
	size_t shown = length < limit ? length : limit;

	for (size_t i = 0; i < shown; i++) {
		unsigned char c = (unsigned char)text[i];
		if (quoted && (c == '"' || c == '\\'))
			buffer_append(buffer, "\\%c", c);
		else if (c > 0x20 && c < 0x7f)
			buffer_append(buffer, "%c", c);
		else if (c == ' ' && quoted)
			buffer_append(buffer, " ");
		else
			buffer_append(buffer, "\\x%02x", c);
	}
	if (shown < length)
		buffer_append(buffer, "...");
}

const char *policy_quote(const char *text, size_t length, char *data, size_t size)
{
	struct text_buffer buffer = { .data = data, .size = size };

	data[0] = '\0';
	buffer_append(&buffer, "\"");
	buffer_append_escaped(&buffer, text, length, POLICY_QUOTE_BYTES, true);
	buffer_append(&buffer, "\"");
	return data;
}

static void append_key(struct text_buffer *buffer, const struct policy_node *key)
{
	if (key->kind != POLICY_NODE_SCALAR || !key->text)
		return;
	if (buffer->used > 0)
		buffer_append(buffer, ".");
	buffer_append_escaped(buffer, key->text, key->length, SHOWN_KEY_BYTES, false);
}

/* "filesystem_policy.read_write[2]": mapping values by their key, sequence
 * items by their index, from the root down. */
static void format_field(const struct policy_node *node, char *data, size_t size)
{
	const struct policy_node *chain[POLICY_MAX_DEPTH + 4];
	struct text_buffer buffer = { .data = data, .size = size };
	size_t depth = 0;

	data[0] = '\0';
	for (; node && depth < sizeof(chain) / sizeof(chain[0]); node = node->parent)
		chain[depth++] = node;
	while (depth-- > 0) {
		node = chain[depth];
		if (!node->parent)
			continue;
		if (node->is_key)
			append_key(&buffer, node);
		else if (node->key)
			append_key(&buffer, node->key);
		else
			buffer_append(&buffer, "[%zu]", node->index);
	}
	if (data[0] == '\0')
		snprintf(data, size, "document");
}

static int vreject_at(const struct policy_reader *reader, size_t line, const char *field,
		      const char *format, va_list arguments) __attribute__((format(printf, 4, 0)));

static int vreject_at(const struct policy_reader *reader, size_t line, const char *field,
		      const char *format, va_list arguments)
{
	struct text_buffer buffer = { .data = reader->error->message,
				      .size = sizeof(reader->error->message) };

	buffer.data[0] = '\0';
	buffer_append(&buffer, "%s:%zu: %s: ", reader->name, line, field);
	buffer_vappend(&buffer, format, arguments);
	return -EINVAL;
}

int policy_reject_at(const struct policy_reader *reader, size_t line, const char *field,
		     const char *format, ...)
{
	va_list arguments;
	int ret;

	va_start(arguments, format);
	ret = vreject_at(reader, line, field, format, arguments);
	va_end(arguments);
	return ret;
}

/* A mapping's value is reported at its key's line: for a nested block the
 * value itself starts on the next line. */
int policy_reject(const struct policy_reader *reader, const struct policy_node *node,
		  const char *format, ...)
{
	char field[256];
	va_list arguments;
	int ret;

	format_field(node, field, sizeof(field));
	va_start(arguments, format);
	ret = vreject_at(reader, node->key ? node->key->line : node->line, field, format,
			 arguments);
	va_end(arguments);
	return ret;
}

int policy_reject_missing(const struct policy_reader *reader, const struct policy_node *mapping,
			  const char *field)
{
	char parent[256], path[320];

	format_field(mapping, parent, sizeof(parent));
	if (mapping->parent)
		snprintf(path, sizeof(path), "%s.%s", parent, field);
	else
		snprintf(path, sizeof(path), "%s", field);
	return policy_reject_at(reader, mapping->key ? mapping->key->line : mapping->line, path,
				"required field is missing");
}

int policy_reject_unknown(const struct policy_reader *reader, const struct policy_node *value)
{
	return policy_reject(reader, value, "unknown field");
}

int policy_reject_too_large(const struct policy_reader *reader, size_t length)
{
	snprintf(reader->error->message, sizeof(reader->error->message),
		 "%s: larger than %d bytes (%zu)", reader->name, POLICY_MAX_SIZE, length);
	return -EFBIG;
}

int policy_out_of_memory(const struct policy_reader *reader)
{
	snprintf(reader->error->message, sizeof(reader->error->message), "%s: out of memory",
		 reader->name);
	return -ENOMEM;
}
