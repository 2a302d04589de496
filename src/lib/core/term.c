/* term.c: raw mode for the relay, with the terminal's own mode restored on
 * every exit path, including the signals that end a session. */
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "core/term.h"

static struct termios term_saved;
static int term_fd = -1;

static void
term_signal(int sig)
{
	if (term_fd != -1)
		tcsetattr(term_fd, TCSADRAIN, &term_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

int
term_raw(int fd)
{
	static const int sigs[] = { SIGTERM, SIGHUP, SIGINT, SIGQUIT };
	struct sigaction sa;
	struct termios raw;
	size_t i;

	if (!isatty(fd))
		return 0;
	if (tcgetattr(fd, &term_saved) != 0)
		return -1;
	raw = term_saved;
	cfmakeraw(&raw);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = term_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	if (tcsetattr(fd, TCSADRAIN, &raw) != 0)
		return -1;
	term_fd = fd;
	return 0;
}

void
term_restore(void)
{
	if (term_fd == -1)
		return;
	tcsetattr(term_fd, TCSADRAIN, &term_saved);
	term_fd = -1;
}
