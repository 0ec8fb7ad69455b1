"""The one base of every error a user can fix (a file, a setting, a database address, a venue
that refuses): the command line shows its message as one line and exits with code 2, and can
catch it without importing the heavy module that raises it."""


class UserError(Exception):
    """An error whose message names what is wrong and what to do about it."""
