"""Small real files for the attachment tests, made in memory: images (one with GPS EXIF), a
decompression bomb, office documents, audio and video headers, an SVG with script, HTML."""
import io
import struct
import wave
import zipfile
import zlib

from PIL import Image

def image_bytes(image_format, size=(64, 48), color="red", mode="RGB", **options):
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, image_format, **options)
    return out.getvalue()


def gps_exif(orientation=None):
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"                                   # Make
    gps = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    exif[0x8825] = gps                                           # GPSInfo
    if orientation:
        exif[0x0112] = orientation
    return exif


def jpeg_with_gps(size=(64, 48), orientation=None):
    out = io.BytesIO()
    Image.new("RGB", size, "blue").save(out, "JPEG", exif=gps_exif(orientation).tobytes())
    return out.getvalue()


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def decompression_bomb_png(side=20000):
    """A PNG that says it is side x side pixels (400 megapixels) in a few hundred bytes."""
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)       # 1-bit greyscale
    rows = zlib.compress(b"\0" * ((side // 8 + 1) * 64))              # a few rows are enough to open it
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", rows) + png_chunk(b"IEND", b"")


def zipped(entries, first=None):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        if first:
            archive.writestr(zipfile.ZipInfo(first[0]), first[1], compress_type=zipfile.ZIP_STORED)
        for name, data in entries:
            archive.writestr(name, data)
    return out.getvalue()


CONTENT_TYPES = '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'


def ooxml(part):
    return zipped([("[Content_Types].xml", CONTENT_TYPES), ("_rels/.rels", "<r/>"), (part, "<x/>")])


def box(kind, data):
    return struct.pack(">I", 8 + len(data)) + kind + data


def iso_media(brand):
    return box(b"ftyp", brand + b"\0\0\0\0" + brand) + box(b"mdat", b"\0" * 64)


def wav_bytes():
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(8000)
        sound.writeframes(b"\0\0" * 800)
    return out.getvalue()


ACCEPTED = {
    "photo.jpg": (image_bytes("JPEG"), "image/jpeg", "image"),
    "shot.png": (image_bytes("PNG"), "image/png", "image"),
    "anim.gif": (image_bytes("GIF"), "image/gif", "image"),
    "pic.webp": (image_bytes("WEBP"), "image/webp", "image"),
    "invoice.pdf": (b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "application/pdf", "document"),
    "letter.docx": (ooxml("word/document.xml"),
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "document"),
    "sheet.xlsx": (ooxml("xl/workbook.xml"),
                   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "document"),
    "slides.pptx": (ooxml("ppt/presentation.xml"),
                    "application/vnd.openxmlformats-officedocument.presentationml.presentation", "document"),
    "notes.odt": (zipped([("content.xml", "<x/>")], first=("mimetype", "application/vnd.oasis.opendocument.text")),
                  "application/vnd.oasis.opendocument.text", "document"),
    "song.mp3": (b"ID3\x03\x00\x00\x00\x00\x00\x00" + (b"\xff\xfb\x90\x64" + b"\0" * 413) * 3, "audio/mpeg", "audio"),
    "voice.ogg": (b"OggS\x00\x02" + b"\0" * 20 + b"\x01\x1e\x01vorbis" + b"\0" * 40, "audio/ogg", "audio"),
    "memo.wav": (wav_bytes(), "audio/wav", "audio"),
    "memo.m4a": (iso_media(b"M4A "), "audio/mp4", "audio"),
    "clip.mp4": (iso_media(b"isom"), "video/mp4", "video"),
    "clip.mov": (iso_media(b"qt  "), "video/quicktime", "video"),
    "clip.webm": (bytes.fromhex("1a45dfa3") + b"\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81"
                  b"\x08\x42\x82\x84webm\x42\x87\x81\x02\x42\x85\x81\x02" + b"\0" * 32, "video/webm", "video"),
}
SVG_WITH_SCRIPT = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
                   b'<script>alert(document.cookie)</script></svg>')
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
