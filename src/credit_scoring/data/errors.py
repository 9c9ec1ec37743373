"""The base of the errors a user fixes in the data (a stage reports them in one line)."""


class DataError(ValueError):
    """Input data is missing, malformed or breaks a rule: the message says what and where."""
