/* Test workload: a process group of three (this process and two children)
 * that records every signal it receives in a file, one "pid SIGNAME" per line.
 * SIGTERM and SIGINT are recorded, then end it; the leader exits 0 once both
 * children are gone.
 *   signal-recorder FILE */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int record_fd;
static volatile sig_atomic_t stop;

static void on_signal(int signo)
{
	char line[64];
	int length = snprintf(line, sizeof(line), "%d SIG%s\n", getpid(), sigabbrev_np(signo));
	(void)!write(record_fd, line, (size_t)length);
	if (signo == SIGTERM || signo == SIGINT)
		stop = 1;
}

static void install_handlers(void)
{
	static const int signals[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
	struct sigaction action = { .sa_handler = on_signal };
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		sigaction(signals[i], &action, NULL);
}

static void announce_ready(void)
{
	char line[32];
	int length = snprintf(line, sizeof(line), "%d ready\n", getpid());
	(void)!write(record_fd, line, (size_t)length);
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	record_fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (record_fd < 0)
		return perror("open"), 1;
	install_handlers();
	for (int i = 0; i < 2; i++) {
		if (fork() == 0) {
			announce_ready();
			while (!stop)
				pause();
			_exit(0);
		}
	}
	announce_ready();
	while (!stop)
		pause();
	while (wait(NULL) > 0)
		;
	return 0;
}
