/*
 * evloop.h: the event loop the Stratus servers share (epoll, timers,
 * signals, and calls posted from other threads).
 *
 * One loop runs in one thread.  Callbacks run in that thread and must not
 * block.  evloop_post() and evloop_stop() are the only calls that are safe
 * from other threads.
 */
#ifndef STRATUS_EVLOOP_H
#define STRATUS_EVLOOP_H

#include <stdint.h>

struct evloop;

/* Readiness callback: events is a mask of EV_READ / EV_WRITE / EV_ERROR. */
typedef void (*evloop_fd_cb)(struct evloop *loop, int fd, unsigned events, void *arg);
/* Timer, signal and posted-call callback. */
typedef void (*evloop_cb)(struct evloop *loop, void *arg);

#define EV_READ  1u
#define EV_WRITE 2u
#define EV_ERROR 4u /* hang-up or error; always reported */

/* New loop, or NULL with errno set. */
struct evloop *evloop_new(void);
/* Free the loop.  Does not close the fds that were added. */
void evloop_free(struct evloop *loop);

/* Watch fd (not owned).  0 or -errno (-EEXIST if already watched). */
int evloop_add_fd(struct evloop *loop, int fd, unsigned events, evloop_fd_cb cb, void *arg);
int evloop_mod_fd(struct evloop *loop, int fd, unsigned events);
/* Stop watching fd; safe to call from that fd's own callback. */
int evloop_del_fd(struct evloop *loop, int fd);

/* Run cb after ms milliseconds, then every ms if repeat.  Returns an id > 0 or -errno. */
int64_t evloop_add_timer(struct evloop *loop, int64_t ms, int repeat, evloop_cb cb, void *arg);
/* Cancel a timer by id (no-op if it already fired and was not repeating). */
void evloop_cancel_timer(struct evloop *loop, int64_t id);

/* Call cb when signal signo arrives (it is blocked for the whole process). */
int evloop_add_signal(struct evloop *loop, int signo, evloop_cb cb, void *arg);

/* From any thread: run cb(arg) in the loop thread soon.  0 or -errno. */
int evloop_post(struct evloop *loop, evloop_cb cb, void *arg);

/* Run until evloop_stop().  0, or -errno if epoll fails. */
int evloop_run(struct evloop *loop);
/* From any thread: make evloop_run return after the current callbacks. */
void evloop_stop(struct evloop *loop);

/* Monotonic milliseconds. */
int64_t evloop_now_ms(void);

#endif
