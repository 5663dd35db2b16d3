"""A stand-in OpenTelemetry collector for the OTLP export tests: an http.server that records every
POST (path, headers, JSON body), and a socket that accepts connections but never answers."""
import http.server
import json
import socket
import ssl
import threading
import time


class Collector:
    """Records OTLP/HTTP JSON export requests on 127.0.0.1:<port>; answers 200 `{}`."""

    def __init__(self, tls=None):
        """`tls`: (certificate PEM path, key PEM path) to serve https instead of http."""
        self.requests = []
        self.lock = threading.Lock()
        collector = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with collector.lock:
                    collector.requests.append((self.path, dict(self.headers), json.loads(body)))
                reply = b"{}"
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.url = f"https://localhost:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def spans(self):
        """Every span received so far (resourceSpans → scopeSpans → spans), with its resource."""
        out = []
        with self.lock:
            for _, _, body in self.requests:
                for rs in body["resourceSpans"]:
                    for ss in rs["scopeSpans"]:
                        for span in ss["spans"]:
                            out.append(dict(span, _resource=rs["resource"], _scope=ss["scope"]))
        return out

    def wait_for(self, predicate, timeout=30.0):
        """The first received span for which predicate(span) holds; fails after `timeout` (a budget for
        a loaded machine: the span usually arrives within the flush interval)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for span in self.spans():
                if predicate(span):
                    return span
            time.sleep(0.05)
        raise AssertionError(f"no matching span within {timeout}s; got {[s['name'] for s in self.spans()]}")


def attributes(span_or_resource):
    """OTLP key/value list → {key: python value} (intValue strings become ints)."""
    out = {}
    for kv in span_or_resource.get("attributes", []):
        (kind, value), = kv["value"].items()
        out[kv["key"]] = int(value) if kind == "intValue" else value
    return out


class BlackHole:
    """A listening socket that never accepts: connections complete (kernel backlog), requests
    are never answered, so an exporter's request waits until its timeout."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def close(self):
        self.sock.close()


def free_port_url():
    """An http:// URL nobody listens on (connection refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"
