"""Signals in forked dirty processes: drop the parent's handlers, name what each one means."""

import os
import signal

# The master's (or the dirty arbiter's) handlers write to its own queues and
# pipes; a forked child must not run them.
INHERITED = (
    signal.SIGHUP, signal.SIGQUIT, signal.SIGINT, signal.SIGTERM, signal.SIGTTIN,
    signal.SIGTTOU, signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH, signal.SIGCHLD,
    signal.SIGABRT,
)

# dirty arbiter: signal -> the name of its handling (surface.md, "Dirty arbiter")
ARBITER_SIGNALS = {
    signal.SIGTERM: "graceful_stop",
    signal.SIGQUIT: "quick_stop",
    signal.SIGINT: "quick_stop",
    signal.SIGHUP: "reload",
    signal.SIGUSR1: "reopen_logs",
    signal.SIGTTIN: "add_worker",
    signal.SIGTTOU: "remove_worker",
    signal.SIGCHLD: "reap",
}


def reset_inherited_signals():
    """Default handlers and no wake-up fd, as a freshly forked process needs."""
    try:
        signal.set_wakeup_fd(-1)
    except ValueError:  # only the main thread may; a fork always runs there
        pass
    for sig in INHERITED:
        signal.signal(sig, signal.SIG_DFL)
    # Until the process installs its own handlers these must neither kill it
    # (HUP, USR1, USR2) nor freeze it (TTIN/TTOU stop a process by default).
    for sig in (signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH,
                signal.SIGTTIN, signal.SIGTTOU):
        signal.signal(sig, signal.SIG_IGN)


def fork_with_signals_reset():
    """``os.fork()``; the child starts with default handlers (see ``reset_inherited_signals``).

    The inherited signals are held across the fork until the child has reset
    them: one delivered in between would run the parent's handler in the child,
    or land on the parent's wake-up fd as if sent to the parent.
    """
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, INHERITED)
    try:
        pid = os.fork()
        if pid == 0:
            reset_inherited_signals()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    return pid
