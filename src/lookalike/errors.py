"""What can go wrong that a user can fix: one exception hierarchy for the whole library.

Library code raises these with a message that says what is wrong and what to
do; only the command line's `main` turns them into a printed message and an
exit status, so Python callers (and the demo) can catch them like any error.
"""

from __future__ import annotations


class LookalikeError(Exception):
    """Base class: `str(exc)` is the message for people; `exit_code` is what the command exits with."""

    exit_code = 1


class StageMissing(LookalikeError):
    """A stage needs what an earlier stage writes, and it is not there yet; the message names the command."""


class InputError(LookalikeError):
    """A file or folder that was given cannot be used (wrong layout, unreadable, inconsistent)."""


class SettingError(LookalikeError):
    """A setting is unknown or out of range."""


class NotAvailable(LookalikeError):
    """Something outside the library that the request needs is missing (a GPU, Chromium, a free port)."""
