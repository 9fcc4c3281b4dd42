"""Where attachments' bytes live: a folder under instance/ by default, or an S3-compatible
bucket (`ATTACHMENT_STORAGE=s3://bucket/prefix`, chat/attachment_storage_s3.py) for servers on
several machines. Keys are made by the server only ("<session_id>/<attachment_id>" and
".../thumb"), never from a file name."""
import os
import re
import secrets
from pathlib import Path

KEY_PATTERN = re.compile(r"^[A-Za-z0-9-]{1,64}(/[A-Za-z0-9-]{1,64}){0,3}$")


def checked_key(key):
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise ValueError(f"not an attachment storage key: {key!r}")
    return key


class LocalStorage:
    """Files in a folder (ATTACHMENT_STORAGE unset or empty: <instance>/attachments). Its
    reads and writes block: chat/attachments.py runs them off the event loop."""
    blocking = True

    def __init__(self, root):
        self.root = Path(root)

    def _path(self, key):
        # "<session>/<id>" and "<session>/<id>/thumb" cannot both be files: the file is "<id>/file".
        parts = checked_key(key).split("/")
        if len(parts) == 2:
            parts.append("file")
        return self.root.joinpath(*parts)

    def save(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole or not at all: a reader never sees half a file. (The builtin open, not
        # os.open/os.fdopen, which eventlet turns green: this runs in an OS thread.)
        temporary = path.parent / f".upload-{secrets.token_hex(8)}"
        try:
            with open(temporary, "xb") as out:
                out.write(data)
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def read(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            raise KeyError(key) from None

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        # The attachment's folder, once its file and thumbnail are gone (and the chat's, once empty).
        for folder in (path.parent, path.parent.parent):
            if folder != self.root:
                try:
                    folder.rmdir()
                except OSError:
                    break


def storage_for(config):
    """The storage ATTACHMENT_STORAGE names: "" (or unset) a folder under the instance
    folder (ATTACHMENT_FOLDER), "s3://bucket/prefix" a bucket."""
    location = (config.get("ATTACHMENT_STORAGE") or "").strip()
    if location.startswith("s3://"):
        from .attachment_storage_s3 import S3Storage
        return S3Storage.from_config(config)
    if location:
        raise RuntimeError(f"ATTACHMENT_STORAGE must be empty (a folder under instance/) or s3://bucket/prefix, "
                           f"not {location!r}")
    return LocalStorage(config["ATTACHMENT_FOLDER"])
