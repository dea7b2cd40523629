/* Test workload: prints the numbers of its open fds, one line, space-separated. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	DIR *directory = opendir("/proc/self/fd");
	if (!directory)
		return 1;
	struct dirent *entry;
	while ((entry = readdir(directory))) {
		if (entry->d_name[0] == '.')
			continue;
		int fd = atoi(entry->d_name);
		if (fd != dirfd(directory))
			printf("%d ", fd);
	}
	printf("\n");
	closedir(directory);
	return 0;
}
