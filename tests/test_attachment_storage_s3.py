"""Attachment storage against real servers: S3Storage against a local S3-compatible server
(moto's server mode, started by this module on a free loopback port; boto3 talks to it over
HTTP, nothing is patched), and LocalStorage (chat/attachment_storage.py) through the same
round-trip tests. Then S3Storage the way production runs it: under eventlet and gevent, and
behind a live server whose visitor uploads and fetches files."""
import io
import json
import os
import subprocess
import sys
import uuid

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer

from chat.attachment_storage import LocalStorage, storage_for
from chat.attachment_storage_s3 import S3Storage, S3StorageError
from tests.support import ROOT, free_port, server_environment, start_chat

pytestmark = pytest.mark.database_independent

BUCKET = "chat-attachments"
AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "test-key", "AWS_SECRET_ACCESS_KEY": "test-secret", "AWS_REGION": "us-east-1",
    # Nothing from this machine's own AWS set-up, and never the EC2 metadata address.
    "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
UNSET = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_DEFAULT_REGION")


@pytest.fixture(scope="module")
def s3_endpoint():
    """A moto S3 server on a free loopback port holding one bucket, BUCKET; its URL."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in AWS_ENVIRONMENT.items():
            env.setenv(name, value)
        for name in UNSET:
            env.delenv(name, raising=False)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            endpoint = f"http://{host}:{port}"
            bucket_client(endpoint).create_bucket(Bucket=BUCKET)
            yield endpoint
        finally:
            server.stop()


def bucket_client(endpoint):
    """A plain boto3 client: what an operator looking into the bucket sees."""
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


def s3_storage(endpoint, url=None):
    return S3Storage(url or f"s3://{BUCKET}/run-{uuid.uuid4().hex[:8]}/attachments",
                     {"ATTACHMENT_S3_ENDPOINT_URL": endpoint})


@pytest.fixture(params=["s3", "local"])
def storage(request, tmp_path):
    if request.param == "s3":
        return s3_storage(request.getfixturevalue("s3_endpoint"))
    return LocalStorage(tmp_path / "attachments")


# ---------------------------------------------------------------- both storages

def test_a_saved_file_and_its_thumbnail_read_back_until_deleted(storage):
    storage.save("session-1/attachment-1", b"%PDF-1.7 a small file", "application/pdf")
    storage.save("session-1/attachment-1/thumb", b"\x89PNG thumbnail", "image/png")
    assert storage.read("session-1/attachment-1") == b"%PDF-1.7 a small file"
    assert storage.read("session-1/attachment-1/thumb") == b"\x89PNG thumbnail"

    storage.delete("session-1/attachment-1")
    with pytest.raises(KeyError):
        storage.read("session-1/attachment-1")
    assert storage.read("session-1/attachment-1/thumb") == b"\x89PNG thumbnail"
    storage.delete("session-1/attachment-1/thumb")
    with pytest.raises(KeyError):
        storage.read("session-1/attachment-1/thumb")


def test_saving_again_replaces_the_file(storage):
    storage.save("session-1/attachment-2", b"first", "text/plain")
    storage.save("session-1/attachment-2", b"second", "text/plain")
    assert storage.read("session-1/attachment-2") == b"second"


def test_a_file_never_saved_is_a_key_error(storage):
    with pytest.raises(KeyError):
        storage.read("session-1/never-saved")


def test_deleting_a_missing_file_is_silent(storage):
    storage.delete("session-1/never-saved")
    storage.save("session-1/attachment-3", b"x", "text/plain")
    storage.delete("session-1/attachment-3")
    storage.delete("session-1/attachment-3")


def test_a_10_mb_file_reads_back_byte_for_byte(storage):
    data = os.urandom(10 * 1024 * 1024)
    storage.save("session-2/large", data, "application/octet-stream")
    assert storage.read("session-2/large") == data
    storage.delete("session-2/large")


# ---------------------------------------------------------------- the bucket

def test_objects_live_under_the_prefix_with_their_type(s3_endpoint):
    client = bucket_client(s3_endpoint)
    storage = s3_storage(s3_endpoint, f"s3://{BUCKET}/tenant-a/files/")
    storage.save("session-3/attachment-1", b"photo", "image/jpeg")

    found = client.list_objects_v2(Bucket=BUCKET, Prefix="tenant-a/")["Contents"]
    assert [item["Key"] for item in found] == ["tenant-a/files/session-3/attachment-1"]
    head = client.head_object(Bucket=BUCKET, Key="tenant-a/files/session-3/attachment-1")
    assert head["ContentType"] == "image/jpeg"

    storage.delete("session-3/attachment-1")
    assert "Contents" not in client.list_objects_v2(Bucket=BUCKET, Prefix="tenant-a/")


def test_without_a_prefix_objects_are_at_the_top_of_the_bucket(s3_endpoint):
    client = bucket_client(s3_endpoint)
    client.create_bucket(Bucket="chat-no-prefix")
    s3_storage(s3_endpoint, "s3://chat-no-prefix").save("session-4/attachment-1", b"a", "text/plain")
    found = client.list_objects_v2(Bucket="chat-no-prefix")["Contents"]
    assert [item["Key"] for item in found] == ["session-4/attachment-1"]


def test_a_bucket_that_does_not_exist_is_named_not_taken_for_a_missing_file(s3_endpoint):
    storage = s3_storage(s3_endpoint, "s3://no-such-bucket/attachments")
    for attempt in (lambda: storage.save("session-5/a", b"x", "text/plain"),
                    lambda: storage.read("session-5/a"),
                    lambda: storage.delete("session-5/a")):
        with pytest.raises(S3StorageError) as refused:
            attempt()
        message = str(refused.value)
        assert "'no-such-bucket'" in message and s3_endpoint in message
        assert "the bucket does not exist: create it, or fix ATTACHMENT_STORAGE" in message


def test_a_server_that_is_not_there_is_named(s3_endpoint):
    nowhere = f"http://127.0.0.1:{free_port()}"
    storage = s3_storage(nowhere)
    with pytest.raises(S3StorageError) as refused:
        storage.save("session-6/a", b"x", "text/plain")
    assert f"Could not save attachment {storage.prefix}session-6/a in bucket '{BUCKET}' at {nowhere}: " \
        in str(refused.value)


def test_the_setting_s3_url_gives_the_bucket(s3_endpoint):
    storage = storage_for({"ATTACHMENT_STORAGE": f"s3://{BUCKET}/from-settings",
                                                "ATTACHMENT_S3_ENDPOINT_URL": s3_endpoint})
    storage.save("session-7/attachment-1", b"set", "text/plain")
    assert bucket_client(s3_endpoint).get_object(
        Bucket=BUCKET, Key="from-settings/session-7/attachment-1")["Body"].read() == b"set"


@pytest.mark.parametrize("url, says", [
    ("s3://", "names no valid bucket"),
    ("s3:///attachments", "names no valid bucket"),
    ("s3://Chat_Files/attachments", "names no valid bucket"),
    ("s3://ab", "names no valid bucket"),
    ("http://chat-attachments/files", "must look like s3://bucket or s3://bucket/some/prefix"),
    ("s3://key:secret@chat-attachments", "must look like"),
    ("s3://chat-attachments/files?region=eu", "must look like"),
    ("s3://chat-attachments/../other", "may not hold '.' or '..'"),
])
def test_a_malformed_storage_url_stops_start_up_saying_why(url, says):
    with pytest.raises(RuntimeError) as refused:
        S3Storage(url, {})
    assert "ATTACHMENT_STORAGE" in str(refused.value) and says in str(refused.value)


def test_the_server_does_not_start_with_a_storage_url_without_a_bucket(tmp_path):
    env = server_environment(tmp_path, {"ATTACHMENT_STORAGE": "s3:///attachments", "PORT": str(free_port())})
    done = subprocess.run([sys.executable, "wsgi.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "ATTACHMENT_STORAGE names no valid bucket in 's3:///attachments'" in done.stderr


def test_an_unknown_addressing_style_stops_start_up():
    with pytest.raises(RuntimeError, match="ATTACHMENT_S3_ADDRESSING_STYLE must be one of auto, path, virtual"):
        S3Storage(f"s3://{BUCKET}", {"ATTACHMENT_S3_ADDRESSING_STYLE": "sideways"})


# ---------------------------------------------------------------- as served: eventlet, gevent

GREEN_RUN = r"""
import {library}
{patch}
import json, os, sys, time
from chat.attachment_storage_s3 import S3Storage
from chat import create_app

sleep = {sleep}
spawn = {spawn}
config = create_app().config          # ATTACHMENT_S3_ENDPOINT_URL as the server reads it
storage = S3Storage(sys.argv[1], config)
ticks = [0]

def tick():
    while True:
        sleep(0.001)
        ticks[0] += 1

spawn(tick)
sleep(0.05)

def during(action):
    before = ticks[0]
    result = action()
    return result, ticks[0] - before

clients, made_ticks = during(lambda: [storage.client() for _ in range(3)])
large = os.urandom(10 * 1024 * 1024)
_, upload_ticks = during(lambda: storage.save("green/large", large, "application/octet-stream"))

def round_trip(n):
    data = os.urandom(1024 * 1024)
    storage.save(f"green/{{n}}", data, "application/octet-stream")
    return storage.read(f"green/{{n}}") == data and storage.client() is clients[0]

workers = [spawn(round_trip, n) for n in range(8)]
results = [worker.get() if hasattr(worker, "get") else worker.wait() for worker in workers]
try:
    storage.read("green/never-saved")
    missing = "read"
except KeyError:
    missing = "KeyError"
print(json.dumps({{"one_client": all(client is clients[0] for client in clients), "made_ticks": made_ticks,
                  "upload_ticks": upload_ticks, "large_back": storage.read("green/large") == large,
                  "round_trips": results, "missing": missing}}))
"""
LIBRARIES = {
    "eventlet": {"library": "eventlet", "patch": "eventlet.monkey_patch()", "sleep": "eventlet.sleep",
                 "spawn": "eventlet.spawn"},
    "gevent": {"library": "gevent.monkey", "patch": "gevent.monkey.patch_all()", "sleep": "gevent.sleep",
               "spawn": "gevent.spawn"},
}


@pytest.mark.parametrize("library", ["eventlet", "gevent"])
def test_under_an_async_library_one_client_is_made_off_the_loop_and_green_threads_share_it(
        s3_endpoint, library, tmp_path):
    env = dict(os.environ, CHAT_ENV="testing", SECRET_KEY="test", ATTACHMENT_S3_ENDPOINT_URL=s3_endpoint,
               SOCKETIO_ASYNC_MODE=library, INSTANCE_PATH=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path}/chat.db")
    script = GREEN_RUN.format(**LIBRARIES[library])
    url = f"s3://{BUCKET}/{library}-{uuid.uuid4().hex[:8]}"
    done = subprocess.run([sys.executable, "-c", script, url], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["one_client"] and seen["round_trips"] == [True] * 8 and seen["large_back"]
    assert seen["missing"] == "KeyError"
    # The loop went on (its ticker ran) while the client was made and while 10 MB went up.
    assert seen["made_ticks"] > 0, seen
    assert seen["upload_ticks"] > 0, seen


# ---------------------------------------------------------------- a live server on the bucket

def test_a_live_server_keeps_a_visitors_photo_and_pdf_in_the_bucket_and_serves_them(s3_endpoint, own_server):
    from PIL import Image

    from tests.support.files import ACCEPTED, jpeg_with_gps
    prefix = f"live-{uuid.uuid4().hex[:8]}"
    live = own_server(ATTACHMENT_STORAGE=f"s3://{BUCKET}/{prefix}", ATTACHMENT_S3_ENDPOINT_URL=s3_endpoint)
    chat = start_chat(live)
    key = {"X-Session-Key": chat["session_key"]}
    pdf, photo = ACCEPTED["invoice.pdf"][0], jpeg_with_gps(size=(1600, 1200))
    ids = {}
    for name, data in (("invoice.pdf", pdf), ("photo.jpg", photo)):
        answer = requests.post(live.api("/attachments"), data={"session_id": chat["session_id"]},
                               files={"file": (name, data, "application/octet-stream")}, headers=key, timeout=30)
        assert answer.status_code == 201, answer.text
        ids[name] = answer.json()["attachment_id"]

    found = requests.post(live.api("/attachments/links"), headers=key, timeout=10,
                          json={"session_id": chat["session_id"], "attachment_ids": list(ids.values())}).json()["links"]
    assert requests.get(live.url + found[ids["invoice.pdf"]]["url"], timeout=10).content == pdf
    assert found[ids["invoice.pdf"]]["thumbnail_url"] is None
    served = Image.open(io.BytesIO(requests.get(live.url + found[ids["photo.jpg"]]["url"], timeout=10).content))
    assert served.size == (1600, 1200)
    thumbnail = requests.get(live.url + found[ids["photo.jpg"]]["thumbnail_url"], timeout=10)
    assert thumbnail.status_code == 200 and max(Image.open(io.BytesIO(thumbnail.content)).size) < 1600

    listed = bucket_client(s3_endpoint).list_objects_v2(Bucket=BUCKET, Prefix=prefix + "/")["Contents"]
    folder = f"{prefix}/{chat['session_id']}"
    assert sorted(item["Key"] for item in listed) == sorted(
        [f"{folder}/{ids['invoice.pdf']}", f"{folder}/{ids['photo.jpg']}", f"{folder}/{ids['photo.jpg']}/thumb"])
