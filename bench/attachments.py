"""Attachments (issue 15): how long a 10 MB upload takes over loopback, how soon a 20-megapixel
photo's thumbnail is there, and what either does to the server's event loop.

    bin/bench --attachments                            # 10 uploads of each, local folder and S3
    python bench/attachments.py --uploads 3 --storages local     # a quick look

A live server (`wsgi.py`, eventlet, SQLite, LOOP_STALL_WARNING_MS=20) pinned to CPU 0, this
process to CPU 1, as bench.py does. For each storage (`local`: the folder under instance/;
`s3`: a moto S3 server on loopback, started here, `ATTACHMENT_STORAGE=s3://...`):

1. **idle**: the server alone for a few seconds, its stalls (the machine's own noise);
2. **10 MB file**: `--uploads` POSTs of a 10 MB PDF (random bytes in a PDF wrapper, so nothing
   compresses) to `POST /api/v1/chat/public/attachments` as the visitor, one after the other;
   the multipart body is made once, before the clock starts;
3. **20 MP photo**: the same with a 5472x3648 JPEG (a camera's 20 megapixels: smooth shapes and
   colour noise, EXIF with a location, kept under the size limit), then, for each, the visitor's
   signed link (`POST .../attachments/links`) asked until it names a thumbnail, and the thumbnail
   fetched: upload to thumbnail served.

Each row: wall ms p50 / p95 / max, the server's CPU per upload, and its `event loop stalled`
warnings over the row's whole window (count and worst). It prints a table; it asserts nothing.
"""
import argparse
import io
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests
from urllib3 import encode_multipart_formdata

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bench as load  # noqa: E402  (bench/bench.py: the servers, stalls, CPU)
from tests.support import LiveServer, server_environment, start_chat  # noqa: E402

SEED = 15
MB = 1024 * 1024
PHOTO_SIZE = (5472, 3648)                 # 19.96 megapixels, a 3:2 camera sensor
BUCKET = "bench-attachments"
S3_ENVIRONMENT = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1",
                  "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.devnull,
                  "AWS_SHARED_CREDENTIALS_FILE": os.devnull}


# ---------------------------------------------------------------- the files

def pdf_of(size):
    """A PDF of exactly `size` bytes whose one stream is random (incompressible) bytes."""
    head = b"%%PDF-1.7\n1 0 obj\n<< /Length %d >>\nstream\n"
    tail = b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    length = size - len(head % 0) - len(tail)
    length = size - len(head % length) - len(tail)
    body = head % length + random.Random(SEED).randbytes(length) + tail
    assert len(body) == size
    return body


def photo_of(limit_bytes):
    """A 20-megapixel JPEG as a camera would write it: smooth shapes and light, colour noise
    (a sensor's), EXIF with a camera and a GPS position; the best quality under `limit_bytes`."""
    from PIL import Image, ImageChops, ImageDraw, ImageFilter
    rng = random.Random(SEED)
    small = Image.new("RGB", (PHOTO_SIZE[0] // 8, PHOTO_SIZE[1] // 8))
    draw = ImageDraw.Draw(small)
    for y in range(small.height):              # a sky-to-ground gradient
        shade = y / small.height
        draw.line([(0, y), (small.width, y)], fill=(int(90 + 120 * shade), int(140 + 60 * shade), int(220 - 150 * shade)))
    for _ in range(60):                          # things in the scene
        x, y = rng.randrange(small.width), rng.randrange(small.height)
        r = rng.randrange(10, 120)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=tuple(rng.randrange(256) for _ in range(3)))
    base = small.filter(ImageFilter.GaussianBlur(3)).resize(PHOTO_SIZE, Image.Resampling.BICUBIC)
    noise = Image.merge("RGB", [Image.effect_noise(PHOTO_SIZE, 10) for _ in range(3)])
    image = ImageChops.add(base, noise, scale=1.0, offset=-128)
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0132] = "Bench Camera", "BC-20", "2026:11:29 12:00:00"
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    for quality in (92, 88, 84, 80, 75, 70, 60, 50):
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality, exif=exif)
        if out.tell() <= limit_bytes:
            return out.getvalue(), quality
    raise RuntimeError("no quality brings the photo under the upload limit")


def multipart(chat, name, data, content_type):
    body, form_type = encode_multipart_formdata({"session_id": chat["session_id"],
                                                 "file": (name, data, content_type)})
    return body, {"Content-Type": form_type, "X-Session-Key": chat["session_key"]}


# ---------------------------------------------------------------- the server

def start_server(workdir, storage, s3_endpoint, server_cpus=(0,)):
    extra = {"ACCESS_LOG": "0", "LOG_LEVEL": "WARNING", "LOOP_STALL_WARNING_MS": str(load.STALL_MS),
             "SCHEDULER_ENABLED": "1", "MAX_CONNECTIONS_PER_ADDRESS": "0",
             # every upload of the run is one chat's, from one address
             "UPLOAD_LIMIT_PER_IP": "100000 per minute", "ATTACHMENTS_PER_SESSION_HOUR": "100000",
             "ATTACHMENT_MB_PER_SESSION_HOUR": "1000000"}
    if storage == "s3":
        extra.update(S3_ENVIRONMENT, ATTACHMENT_STORAGE=f"s3://{BUCKET}/{Path(workdir).name}",
                     ATTACHMENT_S3_ENDPOINT_URL=s3_endpoint)
    os.environ.pop("TEST_DATABASE_URL", None)
    server = LiveServer(workdir, env=server_environment(workdir, extra))
    server.env["SOCKETIO_ASYNC_MODE"] = "eventlet"
    server.prepare_database()
    server.start()
    os.sched_setaffinity(server.process.pid, set(server_cpus))     # its OS threads (tpool) inherit it
    load.pin(0, 1)
    return server


def start_s3():
    """moto's S3 server in this process on a free loopback port, with the bench's bucket."""
    import logging

    import boto3
    from moto.server import ThreadedMotoServer
    os.environ.update(S3_ENVIRONMENT)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)      # moto's line per request
    s3 = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    s3.start()
    host, port = s3.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=BUCKET)
    return s3, endpoint


# ---------------------------------------------------------------- the runs

class Window:
    """The servers' stalls and CPU (summed) from its start to its end."""

    def __init__(self, *servers):
        self.servers = list(servers)

    def cpu_seconds(self):
        return sum(load.cpu_seconds(server.process.pid) for server in self.servers)

    def __enter__(self):
        self.offsets = load.log_offsets(self.servers)
        self.cpu = self.cpu_seconds()
        self.load = os.getloadavg()[0]
        return self

    def __exit__(self, *exc):
        time.sleep(0.5)                       # the loop watch logs a stall once it wakes
        self.cpu = self.cpu_seconds() - self.cpu
        self.stalls, self.worst = load.loop_stalls(self.servers, self.offsets)
        self.held, self.most_held = load.held_stalls(self.servers, self.offsets)
        self.every = load.logged_stalls(self.servers, self.offsets)
        self.collections = load.logged_collections(self.servers, self.offsets)
        self.errors = load.server_errors(self.servers, self.offsets)
        self.load = (self.load, os.getloadavg()[0])


def upload(http, server, body, headers):
    started = time.perf_counter()
    response = http.post(server.api("/attachments"), data=body, headers=headers, timeout=60)
    elapsed = time.perf_counter() - started
    if response.status_code != 201:
        raise RuntimeError(f"upload refused: {response.status_code} {response.text[:300]}")
    return elapsed, response.json()


def thumbnail_served(http, server, chat, attachment_id, timeout=30):
    """Ask for the visitor's links until one names the thumbnail, then fetch it."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        links = http.post(server.api("/attachments/links"), headers={"X-Session-Key": chat["session_key"]},
                          json={"session_id": chat["session_id"], "attachment_ids": [attachment_id]}, timeout=10)
        links.raise_for_status()
        url = links.json()["links"][attachment_id]["thumbnail_url"]
        if url:
            thumbnail = http.get(server.url + url, timeout=10)
            thumbnail.raise_for_status()
            return len(thumbnail.content)
        time.sleep(0.02)
    raise RuntimeError("no thumbnail within 30 s")


def idle(server, seconds):
    with Window(server) as window:
        time.sleep(seconds)
    return {"label": f"idle {seconds} s (noise)", "times": [], "window": window}


def uploads(server, count, label, name, data, content_type, thumbnails=False):
    chat = start_chat(server, name="Bench visitor")
    body, headers = multipart(chat, name, data, content_type)
    http = requests.Session()

    def one():
        sent = time.perf_counter()
        elapsed, answer = upload(http, server, body, headers)
        if not thumbnails:
            return elapsed, None, None
        thumb_bytes = thumbnail_served(http, server, chat, answer["attachment_id"])
        return elapsed, time.perf_counter() - sent, (answer.get("width"), answer.get("height"), thumb_bytes)

    one()                                     # the first (imports, the storage's client) is not timed
    times, thumbs, sizes = [], [], set()
    with Window(server) as window:
        for _ in range(count):
            elapsed, thumb, size = one()
            times.append(elapsed)
            if thumbnails:
                thumbs.append(thumb)
                sizes.add(size)
    return {"label": label, "times": times, "thumbs": thumbs, "bytes": len(data), "window": window,
            "sizes": sizes}


def ms(values):
    if not values:
        return "-"
    values = [value * 1000 for value in values]
    return f"{statistics.median(values):.0f} / {load.percentile(values, 0.95):.0f} / {max(values):.0f}"


def print_header(count):
    print(f"\n| storage, what | n | upload ms p50 / p95 / max | MB/s (p50) | upload to thumbnail served ms "
          f"p50 / p95 / max | server CPU ms per upload | loop stalls >= {load.STALL_MS} ms (worst ms) "
          f"| of them held by the loop's work (most CPU ms in one) | load average (start, end) |")
    print("|---|---|---|---|---|---|---|---|---|")


def print_row(storage, row):
    window, times = row["window"], row["times"]
    rate = f"{row['bytes'] / MB / statistics.median(times):.0f}" if times else "-"
    cpu = f"{window.cpu * 1000 / len(times):.0f}" if times else f"({window.cpu * 1000:.0f} in all)"
    errors = "; ".join(f"{key} x{count}" for key, count in window.errors.items())
    print(f"| {storage}, {row['label']} | {len(times) or '-'} | {ms(times)} | {rate} | {ms(row.get('thumbs'))} "
          f"| {cpu} | {window.stalls} ({window.worst}) | {window.held} ({window.most_held}) "
          f"| {window.load[0]:.1f}, {window.load[1]:.1f} |" + (f" errors: {errors}" if errors else ""))
    if window.every:
        print("  (stalls, ms late / the loop's CPU ms in it: "
              + ", ".join(f"{late}/{cpu}" for late, cpu in window.every) + ")", file=sys.stderr)
    if window.collections:
        print("  (garbage collections of 20 ms or more, ms / generation: "
              + ", ".join(f"{ms}/{generation}" for ms, generation in window.collections) + ")", file=sys.stderr)
    sys.stdout.flush()


def run(storage, args, files):
    s3, endpoint = start_s3() if storage == "s3" else (None, None)
    with tempfile.TemporaryDirectory() as workdir:
        server = start_server(Path(workdir), storage, endpoint, args.server_cpus)
        try:
            print_row(storage, idle(server, args.idle_seconds))
            (pdf, photo, quality) = files
            print_row(storage, uploads(server, args.uploads, "10 MB file (PDF)", "report.pdf", pdf,
                                       "application/pdf"))
            row = uploads(server, args.uploads, f"20 MP photo ({len(photo) / MB:.1f} MB JPEG, q{quality})",
                          "photo.jpg", photo, "image/jpeg", thumbnails=True)
            print_row(storage, row)
            for width, height, thumb_bytes in sorted(row["sizes"], key=str):
                print(f"  (the photo as the server saw it: {width}x{height}; its thumbnail {thumb_bytes:,} bytes)",
                      file=sys.stderr)
        finally:
            server.stop()
            if s3 is not None:
                s3.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uploads", type=int, default=10, help="timed uploads of each file")
    parser.add_argument("--storages", default="local,s3", help="local, s3 or both")
    parser.add_argument("--idle-seconds", type=int, default=5)
    parser.add_argument("--server-cpus", default=(0,), type=lambda value: tuple(int(cpu) for cpu in value.split(",")),
                        help="the CPUs the server may use (default 0; 0,1 lets its image threads run beside its loop)")
    parser.add_argument("--megabytes", type=int, default=10, help="the server's MAX_UPLOAD_MB and the file's size")
    args = parser.parse_args()
    os.environ["MAX_UPLOAD_MB"] = str(args.megabytes)
    started = time.perf_counter()
    files = (pdf_of(args.megabytes * MB), *photo_of(args.megabytes * MB))
    print(f"files made in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    print_header(args.uploads)
    for storage in args.storages.split(","):
        run(storage, args, files)


if __name__ == "__main__":
    main()
