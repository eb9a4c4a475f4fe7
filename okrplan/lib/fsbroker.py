"""The embedded broker: kombu's filesystem transport, made safe for restarts.

Kombu's reader can pick up a message file that a publisher has created but not
yet written (and crashes the worker on it), and a publisher killed mid-write
leaves a file that crashes every worker started after it. Here a message is
written to a hidden temporary file and renamed into place (readers see all of it
or nothing), a reader claims a file by renaming it (two readers never share one),
and a file that cannot be decoded is logged and set aside instead of crashing.
"""

import logging
import os
import uuid

from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

log = logging.getLogger(__name__)


class Channel(filesystem.Channel):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # the broker's folders, made by the first process that uses them (not the settings)
        for folder in {self.data_folder_in, self.data_folder_out, self.control_folder}:
            os.makedirs(folder, exist_ok=True)

    def _put(self, queue, payload, **kwargs):
        folder = self.data_folder_out
        name = f"{round(filesystem.monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        temporary = os.path.join(folder, f".{uuid.uuid4()}.tmp")  # never "<queue>.msg"
        try:
            with open(temporary, "wb") as out:
                out.write(str_to_bytes(dumps(payload)))
            os.replace(temporary, os.path.join(folder, name))
        except OSError as error:
            raise filesystem.ChannelError(f"Cannot add file {name!r} to directory") from error

    def _get(self, queue):
        while True:
            raw = self._claim(queue)  # raises Empty when there is nothing
            try:
                return loads(bytes_to_str(raw))
            except ValueError:
                log.warning("embedded broker: set aside an undecodable message in %s", queue)

    def _claim(self, queue) -> bytes:
        wanted = f"{queue}.msg"
        for filename in sorted(os.listdir(self.data_folder_in)):
            if filename.partition(".")[2] != wanted:
                continue
            source = os.path.join(self.data_folder_in, filename)
            claimed = os.path.join(self.data_folder_in, f".{filename}.{uuid.uuid4()}.claimed")
            try:
                os.replace(source, claimed)  # another reader now gets ENOENT
            except OSError:
                continue
            try:
                with open(claimed, "rb") as message:
                    return message.read()
            finally:
                os.remove(claimed)
        raise filesystem.Empty()


class Transport(filesystem.Transport):
    Channel = Channel
