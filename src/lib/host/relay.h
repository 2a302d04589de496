/* relay.h: the byte relay, an event loop over endpoints. An endpoint is a
 * pair of descriptors (read side, write side; the same socket for both, or
 * stdin/stdout); a link carries the bytes read from one endpoint to another
 * through a bounded buffer. A source with several links fans its bytes out
 * to all of them and is read only while every one of them has room
 * (backpressure: nothing is dropped, nothing grows without bound). */
#ifndef SERCON_RELAY_H
#define SERCON_RELAY_H

#include <stdint.h>
#include <stddef.h>

#define RELAY_MAX_EPS    16
#define RELAY_MAX_LINKS  32
#define RELAY_BUF_DEFAULT (64 * 1024)

/* Endpoint flags. */
#define RELAY_F_END_ON_EOF   0x01  /* its read side ending (EOF or error),
                                    * once its bytes are delivered, ends the
                                    * run */
#define RELAY_F_END_ON_GONE  0x02  /* its write side failing (peer gone) ends
                                    * the run */

/* Why relay_run returned. */
enum relay_why {
	RELAY_DONE,       /* no link can carry bytes any more */
	RELAY_EP_EOF,     /* an END_ON_EOF endpoint's read side ended */
	RELAY_EP_GONE,    /* an END_ON_GONE endpoint's write side failed */
	RELAY_STOPPED,    /* the stop descriptor became readable */
	RELAY_ERROR       /* poll itself failed */
};

/* How one side of an endpoint ended. */
enum relay_side {
	RELAY_OPEN,       /* still open when the run ended */
	RELAY_EOF,        /* read side: end of file */
	RELAY_SHUT,       /* write side: end of file passed on (shutdown) */
	RELAY_FAILED      /* an error (EIO, ECONNRESET, EPIPE, hang-up) */
};

struct relay_stats {
	uint64_t bytes_in;     /* read from this endpoint */
	uint64_t bytes_out;    /* written to this endpoint */
	enum relay_side rd, wr;
	int rd_errno, wr_errno; /* 0 unless FAILED by an errno */
};

struct relay;

struct relay *relay_new(void);
/* Puts the descriptors' flags back as they were; closes nothing. */
void relay_free(struct relay *r);

/* Adds an endpoint that reads rfd and writes wfd (either may be -1, both
 * may be the same descriptor). The descriptors stay the caller's; the relay
 * makes them non-blocking for the run. Returns the endpoint's number, or -1
 * when the table is full or a descriptor is invalid. */
int relay_add(struct relay *r, const char *name, int rfd, int wfd,
    int flags);
/* Carries what src reads to dst through a buffer of cap bytes (0 means
 * RELAY_BUF_DEFAULT). Returns 0, or -1 on a bad argument or no memory. */
int relay_link(struct relay *r, int src, int dst, size_t cap);
/* A descriptor (the read end of a self-pipe written by a signal handler)
 * whose readability stops the run. */
void relay_set_stop_fd(struct relay *r, int fd);

/* Moves bytes until one of the reasons above; *who gets the endpoint that
 * ended the run (-1 when none did). */
enum relay_why relay_run(struct relay *r, int *who);

/* What happened at an endpoint so far. */
const struct relay_stats *relay_stats(const struct relay *r, int ep);

#endif
