"""A minimal raw HTTP/2 client for the GRPCH2 limit tests: it writes frames byte by byte (so a
test can send what no well-behaved client would: oversized header lists, huge header blocks
split over CONTINUATION frames, reserved headers) and reads every frame the server answers.

Request headers are HPACK-encoded as plain literals (no Huffman, no indexing); responses are
decoded with libnghttp2's public HPACK inflater through ctypes (the server Huffman-codes them).
No third-party Python package is needed."""
import ctypes
import ctypes.util
import dataclasses
import socket
import struct
import time

from grpch2_support import HeaderBlocks

DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0, 1, 3, 4, 6, 7, 8, 9
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


class _NV(ctypes.Structure):
    _fields_ = [("name", ctypes.POINTER(ctypes.c_uint8)), ("value", ctypes.POINTER(ctypes.c_uint8)),
                ("namelen", ctypes.c_size_t), ("valuelen", ctypes.c_size_t), ("flags", ctypes.c_uint8)]


_lib = ctypes.CDLL(ctypes.util.find_library("nghttp2") or "libnghttp2.so.14")
_lib.nghttp2_hd_inflate_new.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
_lib.nghttp2_hd_inflate_hd2.argtypes = [ctypes.c_void_p, ctypes.POINTER(_NV), ctypes.POINTER(ctypes.c_int),
                                        ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int]
_lib.nghttp2_hd_inflate_hd2.restype = ctypes.c_ssize_t
_lib.nghttp2_hd_inflate_end_headers.argtypes = [ctypes.c_void_p]
_lib.nghttp2_hd_inflate_del.argtypes = [ctypes.c_void_p]


class Inflater:
    """HPACK decoding state of one connection (the server's responses)."""

    def __init__(self):
        self._ptr = ctypes.c_void_p()
        assert _lib.nghttp2_hd_inflate_new(ctypes.byref(self._ptr)) == 0

    def __del__(self):
        if getattr(self, "_ptr", None):
            _lib.nghttp2_hd_inflate_del(self._ptr)

    def decode(self, block: bytes) -> list[tuple[str, str]]:
        out, nv, flags, rest = [], _NV(), ctypes.c_int(0), block
        while True:
            n = _lib.nghttp2_hd_inflate_hd2(self._ptr, ctypes.byref(nv), ctypes.byref(flags), rest, len(rest), 1)
            assert n >= 0, f"HPACK error {n}"
            rest = rest[n:]
            if flags.value & 0x02:
                out.append((ctypes.string_at(nv.name, nv.namelen).decode(),
                            ctypes.string_at(nv.value, nv.valuelen).decode()))
            if flags.value & 0x01:
                _lib.nghttp2_hd_inflate_end_headers(self._ptr)
                return out
            if n == 0 and not flags.value & 0x02:
                return out


def _int(value: int, prefix_bits: int, first: int = 0) -> bytes:
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out, value = bytearray([first | limit]), value - limit
    while value >= 128:
        out.append(value % 128 + 128)
        value //= 128
    out.append(value)
    return bytes(out)


def encode_headers(headers: list[tuple[str, str]]) -> bytes:
    """HPACK: every field a literal without indexing, new name, no Huffman."""
    out = bytearray()
    for name, value in headers:
        n, v = name.encode(), value.encode()
        out += b"\x00" + _int(len(n), 7) + n + _int(len(v), 7) + v
    return bytes(out)


@dataclasses.dataclass
class Frame:
    type: int
    flags: int
    stream: int
    payload: bytes


@dataclasses.dataclass
class StreamResult(HeaderBlocks):
    header_blocks: list = dataclasses.field(default_factory=list)
    data: bytes = b""
    reset: int | None = None   # RST_STREAM error code
    ended: bool = False


class Connection:
    """One h2c connection with prior knowledge. `frames` keeps everything received."""

    def __init__(self, port: int, timeout: float = 10, tls=None, preface: bool = True,
                 settings: list[tuple[int, int]] = (), auto_window_update: bool = True):
        """`tls`: an `ssl.SSLContext` (with ALPN h2) for a TLS connection to `localhost`.
        `preface` False sends nothing (the test writes its own preface); `settings` go in the
        first SETTINGS frame; `auto_window_update` False leaves flow control to the test."""
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls is not None:
            self.sock = tls.wrap_socket(self.sock, server_hostname="localhost")
        self.inflater = Inflater()
        self.buffer = b""
        self.frames: list[Frame] = []
        self.streams: dict[int, StreamResult] = {}
        self.goaway: tuple[int, int] | None = None  # (last stream id, error code)
        self.closed = False
        self.next_stream = 1
        self._block: tuple[int, int, bytearray] | None = None
        self.auto_window_update = auto_window_update
        if preface:
            payload = b"".join(struct.pack(">HI", k, v) for k, v in settings)
            self.sock.sendall(PREFACE + self.frame(SETTINGS, 0, 0, payload)
                              + self.frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 1 << 24)))

    def close(self):
        self.sock.close()

    @staticmethod
    def frame(type_: int, flags: int, stream: int, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload))[1:] + bytes([type_, flags]) + struct.pack(">I", stream) + payload

    def send_request(self, path: str, body: bytes | None, extra: list[tuple[str, str]] = (),
                     max_frame: int = 16384, end_stream: bool = True, content_type: str = "application/grpc",
                     method: str = "POST") -> int:
        """A gRPC POST (or, with another `content_type`/`method`, a web-protocol request); the
        header block is split into HEADERS + CONTINUATION frames of `max_frame`.
        With `body` None and `end_stream` false the request stays open (see `send_data`)."""
        sid = self.next_stream
        self.next_stream += 2
        block = encode_headers([(":method", method), (":scheme", "http"), (":path", path),
                                (":authority", "localhost"), ("content-type", content_type),
                                *([("te", "trailers")] if content_type.startswith("application/grpc") else []), *extra])
        chunks = [block[i:i + max_frame] for i in range(0, len(block), max_frame)] or [b""]
        out = bytearray()
        for i, chunk in enumerate(chunks):
            flags = (END_HEADERS if i == len(chunks) - 1 else 0) | (END_STREAM if i == 0 and body is None and end_stream else 0)
            out += self.frame(HEADERS if i == 0 else CONTINUATION, flags, sid, chunk)
        if body is not None:
            out += self.frame(DATA, END_STREAM, sid, body)
        self.streams[sid] = StreamResult()
        self._send(out)
        return sid

    def send_frame(self, type_: int, flags: int, stream: int, payload: bytes = b""):
        """Any frame, valid or not (the server may already have closed: errors are ignored)."""
        self._send(self.frame(type_, flags, stream, payload))

    def send_data(self, sid: int, data: bytes, end_stream: bool = False):
        self._send(self.frame(DATA, END_STREAM if end_stream else 0, sid, data))

    def _read_frame(self) -> Frame | None:
        while len(self.buffer) < 9 or len(self.buffer) < 9 + int.from_bytes(self.buffer[:3], "big"):
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:  # nothing yet: not a close (`wait` checks its deadline)
                return None
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                self.closed = True
                return None
            self.buffer += chunk
        n = int.from_bytes(self.buffer[:3], "big")
        f = Frame(self.buffer[3], self.buffer[4], struct.unpack(">I", self.buffer[5:9])[0] & 0x7FFFFFFF,
                  self.buffer[9:9 + n])
        self.buffer = self.buffer[9 + n:]
        return f

    def _send(self, data: bytes):
        try:
            self.sock.sendall(data)
        except OSError:  # the server may close first (connection errors)
            pass

    def _handle(self, f: Frame):
        self.frames.append(f)
        s = self.streams.setdefault(f.stream, StreamResult()) if f.stream else None
        if f.type == SETTINGS and not f.flags & ACK:
            self._send(self.frame(SETTINGS, ACK, 0, b""))
        elif f.type == PING and not f.flags & ACK:
            self._send(self.frame(PING, ACK, 0, f.payload))
        elif f.type == GOAWAY:
            last, code = struct.unpack(">II", f.payload[:8])
            self.goaway = (last & 0x7FFFFFFF, code)
        elif f.type in (HEADERS, CONTINUATION):
            if f.type == HEADERS:
                payload = f.payload
                if f.flags & 0x8:  # PADDED
                    payload = payload[1:len(payload) - payload[0]]
                if f.flags & 0x20:  # PRIORITY
                    payload = payload[5:]
                self._block = (f.stream, f.flags, bytearray(payload))
            else:
                self._block[2].extend(f.payload)
            if f.flags & END_HEADERS:
                sid, flags, block = self._block
                self._block = None
                self.streams[sid].header_blocks.append(self.inflater.decode(bytes(block)))
                if flags & END_STREAM:
                    self.streams[sid].ended = True
        elif f.type == DATA:
            s.data += f.payload
            if f.payload and self.auto_window_update:
                self._send(self.frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", len(f.payload)))
                                  + self.frame(WINDOW_UPDATE, 0, f.stream, struct.pack(">I", len(f.payload))))
            if f.flags & END_STREAM:
                s.ended = True
        elif f.type == RST_STREAM:
            s.reset = struct.unpack(">I", f.payload)[0]
            s.ended = True

    def wait(self, predicate, timeout: float = 30) -> bool:
        """Reads frames until `predicate(self)` holds, the connection closes, or time runs out."""
        deadline = time.time() + timeout
        while not predicate(self):
            if self.closed or time.time() > deadline:
                return predicate(self)
            self.sock.settimeout(max(0.05, deadline - time.time()))
            f = self._read_frame()
            if f is not None:
                self._handle(f)
        return True

    def wait_streams(self, *ids: int, timeout: float = 30) -> bool:
        return self.wait(lambda c: all(c.streams[i].ended for i in ids), timeout)
