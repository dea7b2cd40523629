/* Test workload that will not go quietly.
 *   stubborn ignore-term        ignore SIGTERM/SIGINT, print "ready", sleep forever
 *   stubborn leave-behind FILE  start a child in a new session that ignores SIGTERM
 *                               and writes its pid to FILE, then exit 0 at once */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void ignore_termination(void)
{
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "ignore-term") == 0) {
		ignore_termination();
		printf("ready\n");
		fflush(stdout);
		for (;;)
			pause();
	}
	if (argc >= 3 && strcmp(argv[1], "leave-behind") == 0) {
		int ready[2];
		if (pipe(ready) < 0)
			return 1;
		pid_t pid = fork();
		if (pid == 0) {
			setsid();
			ignore_termination();
			FILE *file = fopen(argv[2], "w");
			fprintf(file, "%d\n", getpid());
			fclose(file);
			close(ready[1]);
			for (;;)
				pause();
		}
		char byte;
		close(ready[1]);
		(void)!read(ready[0], &byte, 1);
		return 0;
	}
	fprintf(stderr, "usage: stubborn ignore-term | leave-behind FILE\n");
	return 2;
}
