"""Dirty-arbiter exceptions, and their dict form for ERROR messages on the wire."""

# error_type name -> class, filled as classes are defined, so from_dict finds subclasses.
_BY_NAME = {}

# How many bytes of a bad frame a DirtyProtocolError keeps (as hex) for the log.
_RAW_DATA_KEEP = 100


def _present(**fields):
    return {name: value for name, value in fields.items() if value is not None}


def _rebuild(cls, state):
    err = cls.__new__(cls)
    Exception.__init__(err, state.get("message"))
    err.__dict__.update(state)
    return err


class DirtyError(Exception):
    """Base of every dirty-arbiter error; travels as ``{error_type, message, details}``."""

    # Attributes a subclass keeps both on itself and in ``details``; from_dict restores them.
    fields = ()

    def __init__(self, message, details=None):
        super().__init__(message)
        self.message = message
        self.details = {} if details is None else details

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _BY_NAME[cls.__name__] = cls

    def __str__(self):
        if self.details:
            return f"{self.message}: {self.details}"
        return str(self.message)

    def __repr__(self):
        return f"{type(self).__name__}({self.message!r}, details={self.details!r})"

    def __reduce__(self):
        return (_rebuild, (type(self), dict(self.__dict__)))

    def to_dict(self):
        return {
            "error_type": type(self).__name__,
            "message": self.message,
            "details": self.details,
        }

    @classmethod
    def from_dict(cls, data):
        """The error ``data`` describes: the class its ``error_type`` names, else DirtyError."""
        if not isinstance(data, dict):
            return DirtyError(str(data))
        error_cls = _BY_NAME.get(data.get("error_type"), DirtyError)
        message = data.get("message")
        if message is None:
            message = "unknown dirty error"
        details = data.get("details")
        # Subclass constructors take other arguments; build through the base one.
        err = error_cls.__new__(error_cls)
        DirtyError.__init__(err, message, details)
        for name in error_cls.fields:
            if isinstance(details, dict) and name in details:
                setattr(err, name, details[name])
            else:
                setattr(err, name, data.get(name))
        return err


_BY_NAME["DirtyError"] = DirtyError


class DirtyTimeoutError(DirtyError):
    """A dirty task or a client read took longer than its timeout."""

    fields = ("timeout",)

    def __init__(self, message="Operation timed out", timeout=None):
        self.timeout = timeout
        super().__init__(message, _present(timeout=timeout))


class DirtyConnectionError(DirtyError):
    """The dirty arbiter's socket is missing, refused the connection or closed it."""

    fields = ("socket_path",)

    def __init__(self, message="Connection failed", socket_path=None):
        self.socket_path = socket_path
        super().__init__(message, _present(socket_path=socket_path))


class DirtyWorkerError(DirtyError):
    """A dirty worker failed (crashed, was killed, or answered nonsense)."""

    fields = ("worker_id", "traceback")

    def __init__(self, message, worker_id=None, traceback=None):
        self.worker_id = worker_id
        self.traceback = traceback
        super().__init__(message, _present(worker_id=worker_id, traceback=traceback))


class DirtyAppError(DirtyError):
    """A dirty app raised, or was asked for an action it does not have."""

    fields = ("app_path", "action", "traceback")

    def __init__(self, message, app_path=None, action=None, traceback=None):
        self.app_path = app_path
        self.action = action
        self.traceback = traceback
        super().__init__(
            message, _present(app_path=app_path, action=action, traceback=traceback)
        )


class DirtyAppNotFoundError(DirtyAppError):
    """No dirty app is loaded under the requested ``module:Class`` path."""

    def __init__(self, app_path):
        super().__init__(f"Dirty app not found: {app_path}", app_path=app_path)


class DirtyNoWorkersAvailableError(DirtyError):
    """No dirty worker has the requested app loaded right now."""

    fields = ("app_path",)

    def __init__(self, app_path, message=None):
        self.app_path = app_path
        if message is None:
            message = f"No workers available for app: {app_path}"
        super().__init__(message, _present(app_path=app_path))


class DirtyAppNotConfiguredError(DirtyAppNotFoundError, DirtyNoWorkersAvailableError):
    """The requested app is not in ``dirty_apps``.

    Also a DirtyNoWorkersAvailableError: that is what upstream sends here, so
    code written against upstream that catches it still does.
    """

    fields = ("app_path", "action", "traceback")

    def __init__(self, app_path):
        self.app_path = app_path
        self.action = None
        self.traceback = None
        DirtyError.__init__(self, f"Dirty app not found: {app_path} (not in dirty_apps)",
                            _present(app_path=app_path))


class DirtyProtocolError(DirtyError):
    """Bytes on the dirty socket do not follow the wire format."""

    def __init__(self, message="Protocol error", raw_data=None):
        details = {}
        if raw_data is not None:
            details["raw_data"] = bytes(raw_data[:_RAW_DATA_KEEP]).hex()
        super().__init__(message, details)


class StashError(DirtyError):
    """A stash operation failed in the dirty arbiter."""


class StashTableNotFoundError(StashError):
    """The stash table does not exist."""

    fields = ("table_name",)

    def __init__(self, table_name):
        self.table_name = table_name
        super().__init__(f"Stash table not found: {table_name}")

    def to_dict(self):
        # The name travels outside ``details`` so str() stays the bare message.
        data = super().to_dict()
        data["table_name"] = self.table_name
        return data


class StashKeyNotFoundError(StashError, KeyError):
    """The key is not in the stash table (a KeyError too, as StashTable is dict-like)."""

    fields = ("table_name", "key")

    def __init__(self, table_name, key):
        self.table_name = table_name
        self.key = key
        super().__init__(f"Key not found in {table_name}: {key}")

    def to_dict(self):
        data = super().to_dict()
        data["table_name"] = self.table_name
        data["key"] = self.key
        return data
