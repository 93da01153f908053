"""User-facing errors.

Every problem caused by the user's input (config, CSV, archive, images, model
directory, output directory) is raised as a subclass of ``UserInputError``.
The CLI prints ``error: <message>`` as one line and exits with status 2.
Anything else is a bug: the CLI prints the traceback and exits with status 1.
"""


class UserInputError(Exception):
    """Bad input that the user can fix; the message names the culprit."""


class ConfigError(UserInputError):
    """The YAML config is invalid (bad YAML, unknown key, wrong type, bad value)."""


class ArchiveError(UserInputError):
    """The raw-data archive is unreadable, unsafe or over a limit."""


class DataError(UserInputError):
    """The dataset CSV or the images it references are unusable."""


class ModelError(UserInputError):
    """A saved model directory is incomplete or from an incompatible version."""


class OutputError(UserInputError):
    """The output directory cannot be written."""
