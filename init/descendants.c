#include "init/descendants.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int descendants_parse_stat(const char *stat_line, pid_t *parent)
{
	const char *close = strrchr(stat_line, ')');
	if (!close)
		return -EINVAL;
	char state;
	int value;
	if (sscanf(close + 1, " %c %d", &state, &value) != 2 || value < 0)
		return -EINVAL;
	*parent = value;
	return 0;
}

size_t descendants_select(struct process_link *links, size_t count, pid_t root)
{
	size_t selected = 0;
	bool grew = true;

	/* Each pass adopts the children of what is already selected; the depth of
	 * a process tree bounds the passes. */
	while (grew) {
		grew = false;
		for (size_t i = selected; i < count; i++) {
			bool parent_selected = links[i].parent == root;
			for (size_t j = 0; j < selected && !parent_selected; j++)
				parent_selected = links[j].pid == links[i].parent;
			if (!parent_selected)
				continue;
			struct process_link swap = links[selected];
			links[selected++] = links[i];
			links[i] = swap;
			grew = true;
		}
	}
	return selected;
}

static int read_parent(int proc_fd, const char *pid_name, pid_t *parent)
{
	char path[64], line[1024];
	snprintf(path, sizeof(path), "%s/stat", pid_name);
	int fd = openat(proc_fd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t got = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (got <= 0)
		return -EIO;
	line[got] = '\0';
	return descendants_parse_stat(line, parent);
}

static int list_processes(struct process_link **out, size_t *count)
{
	DIR *proc = opendir("/proc");
	if (!proc)
		return -errno;
	size_t capacity = 256, used = 0;
	struct process_link *links = malloc(capacity * sizeof(*links));
	struct dirent *entry;
	int error = 0;

	while (links && (entry = readdir(proc))) {
		if (!isdigit((unsigned char)entry->d_name[0]))
			continue;
		pid_t parent;
		/* A process that exits while we look is simply not there any more. */
		if (read_parent(dirfd(proc), entry->d_name, &parent) < 0)
			continue;
		if (used == capacity) {
			struct process_link *grown = reallocarray(links, capacity * 2, sizeof(*links));
			if (!grown) {
				error = -ENOMEM;
				break;
			}
			links = grown;
			capacity *= 2;
		}
		links[used++] = (struct process_link){ .pid = atoi(entry->d_name), .parent = parent };
	}
	closedir(proc);
	if (!links)
		return -ENOMEM;
	if (error) {
		free(links);
		return error;
	}
	*out = links;
	*count = used;
	return 0;
}

int descendants_signal_all(int signo)
{
	struct process_link *links = NULL;
	size_t count = 0;
	int error = list_processes(&links, &count);
	if (error < 0)
		return error;
	size_t selected = descendants_select(links, count, getpid());
	for (size_t i = 0; i < selected; i++)
		kill(links[i].pid, signo);
	free(links);
	return (int)selected;
}
