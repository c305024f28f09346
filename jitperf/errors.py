"""The errors a batch run reports to its user rather than as a bug.

Each carries a one-line message that names the file or argument at fault;
the CLI prints it and exits with ``exit_code``, without a traceback.
"""


class JitperfError(Exception):
    """Base of the errors the CLI reports in one line."""

    exit_code = 1


class InputError(JitperfError, ValueError):
    """A bad input file or argument: missing, malformed, or not what was asked."""

    exit_code = 2


class OutputError(JitperfError, OSError):
    """An output that cannot be written: it exists, its folder is read-only,
    the disk is full or a file size limit was hit. Nothing is left behind."""

    exit_code = 1


class OutputExists(OutputError):
    """The target exists and ``force`` was not given."""

    exit_code = 2
