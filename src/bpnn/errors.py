"""Errors a user can cause.  The CLI turns them into one line on stderr and exit status 2."""


class BpnnError(Exception):
    """Base class of every user-caused error (bad file, bad option, diverging run)."""


class FormatError(BpnnError, ValueError):
    """A file that is not what it claims to be: truncated, corrupt, wrong kind or version."""
