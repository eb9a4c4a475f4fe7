"""Domain errors that are not validation errors, mapped to HTTP by okrplan.lib.api."""


class StaleVersion(Exception):
    """The version a writer sent is not the current one (HTTP 409)."""

    def __init__(self, current_version: int):
        super().__init__(f"stale version; current is {current_version}")
        self.current_version = current_version
