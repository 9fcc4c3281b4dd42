"""Attachments in an S3-compatible bucket: ATTACHMENT_STORAGE=s3://bucket/prefix.

The interface is chat/attachment_storage.py's (save, read, delete by a key the server made).
Every object is one plain request (PutObject, GetObject, DeleteObject) on the calling green
thread: its socket is the patched one, so the event loop serves others while bytes travel.
boto3's managed transfers (upload_fileobj and the like) are not used: they hand the work to a
pool of threads, which under eventlet are green threads sharing the connection pool badly,
and they split a 10 MB file into parts for nothing.

One client per process, made at the first use (not at import or start-up: `flask` commands
never pay for it, and a forked process makes its own). Making it loads boto3's description
of S3, ~100 ms of CPU, so it is made in an OS thread (chat/off_loop.py) while the loop
goes on. Keys are checked by chat/attachment_storage.py's rule.
"""
import os
import re
import threading
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from . import off_loop
from .attachment_storage import checked_key

# S3's rule for bucket names (MinIO and the others follow it).
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
ADDRESSING_STYLES = ("auto", "path", "virtual")
MISSING_OBJECT_CODES = {"NoSuchKey", "404", "NotFound"}


class S3StorageError(RuntimeError):
    """The bucket could not be used (missing, refused, unreachable): says which and why."""


def bucket_and_prefix(url):
    """("bucket", "prefix/" or "") of an s3://bucket/prefix URL; anything else stops start-up."""
    example = "s3://bucket or s3://bucket/some/prefix"
    parts = urlsplit(url or "")
    if parts.scheme != "s3" or parts.query or parts.fragment or "@" in parts.netloc:
        raise RuntimeError(f"ATTACHMENT_STORAGE must look like {example}, not {url!r}")
    if not BUCKET_NAME.fullmatch(parts.netloc) or ".." in parts.netloc:
        raise RuntimeError(f"ATTACHMENT_STORAGE names no valid bucket in {url!r}: a bucket name is 3 to 63 "
                           f"lower-case letters, digits, dots and hyphens, as in {example}")
    segments = [segment for segment in parts.path.split("/") if segment]
    if any(segment in (".", "..") for segment in segments):
        raise RuntimeError(f"ATTACHMENT_STORAGE's prefix may not hold '.' or '..': {url!r}")
    return parts.netloc, "".join(segment + "/" for segment in segments)


class S3Storage:
    """Objects `<prefix><key>` in one bucket. `config` is the app's settings (a mapping)."""
    # Its calls wait on green sockets, so they run on the calling green thread: in an OS thread
    # (where blocking storage is sent) a patched socket would fight the event loop.
    blocking = False

    @classmethod
    def from_config(cls, config):
        return cls(config["ATTACHMENT_STORAGE"], config)

    def __init__(self, url, config):
        self.bucket, self.prefix = bucket_and_prefix(url)
        self.url = url
        self.endpoint_url = config.get("ATTACHMENT_S3_ENDPOINT_URL") or None
        self.addressing_style = config.get("ATTACHMENT_S3_ADDRESSING_STYLE") or None
        if self.addressing_style not in (None, *ADDRESSING_STYLES):
            raise RuntimeError(f"ATTACHMENT_S3_ADDRESSING_STYLE must be one of {', '.join(ADDRESSING_STYLES)}")
        self._client = None
        self._client_pid = None
        self._making = threading.Lock()

    def save(self, key, data, content_type):
        self._call("save", key, "put_object", Body=data, ContentType=content_type)

    def read(self, key):
        """The object's bytes; KeyError when there is no such object."""
        return self._call("read", key, "get_object", read_body=True)

    def delete(self, key):
        """Remove the object; nothing happens when it is not there (S3 answers 204 either way)."""
        self._call("delete", key, "delete_object")

    def object_key(self, key):
        return self.prefix + checked_key(key)

    def client(self):
        """This process's client, made once (by the first caller; the others wait for it)."""
        if self._client is None or self._client_pid != os.getpid():
            with self._making:
                if self._client is None or self._client_pid != os.getpid():
                    # A session of its own (boto3's default one is shared by every thread). Its
                    # credentials are found here, on the green thread: without AWS_* variables
                    # boto3 may ask an EC2 or ECS metadata service, over a patched socket.
                    session = boto3.session.Session()
                    session.get_credentials()
                    self._client = off_loop.run(self.new_client, session)
                    self._client_pid = os.getpid()
        return self._client

    def new_client(self, session):
        """The client, from the usual AWS variables, read by boto3 (AWS_REGION by us: boto3 reads
        it only on AWS's own compute). No I/O: the credentials are the session's already."""
        addressing = self.addressing_style or ("path" if self.endpoint_url else "auto")
        settings = Config(
            connect_timeout=5, read_timeout=30,
            retries={"mode": "standard", "max_attempts": 3},
            # Green threads uploading at once each take a connection; past this many a
            # connection is made for one request and closed after it.
            max_pool_connections=50,
            # Checksums only where S3 requires them: boto3 1.36+ adds CRC headers to every
            # upload, which servers other than AWS may refuse, for what TLS already checks.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            s3={"addressing_style": addressing})
        region = os.environ.get("AWS_REGION") or None
        return session.client("s3", endpoint_url=self.endpoint_url, region_name=region, config=settings)

    def _call(self, action, key, operation, read_body=False, **arguments):
        name = self.object_key(key)
        try:
            response = getattr(self.client(), operation)(Bucket=self.bucket, Key=name, **arguments)
            return response["Body"].read() if read_body else None
        except ClientError as error:
            if action == "read" and error_code(error) in MISSING_OBJECT_CODES:
                raise KeyError(key) from None
            raise self._failure(action, key, error) from None
        except BotoCoreError as error:
            raise self._failure(action, key, error) from None

    def _failure(self, action, key, error):
        where = f"bucket {self.bucket!r}" + (f" at {self.endpoint_url}" if self.endpoint_url else "")
        code = error_code(error) if isinstance(error, ClientError) else None
        if code == "NoSuchBucket":
            reason = "the bucket does not exist: create it, or fix ATTACHMENT_STORAGE"
        elif code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403"):
            reason = f"access refused ({code}): check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the bucket's policy"
        else:
            reason = str(error)
        return S3StorageError(f"Could not {action} attachment {self.prefix}{key} in {where}: {reason}")


def error_code(error):
    return str(error.response.get("Error", {}).get("Code", ""))
