"""A loopback OTLP/HTTP sink for the interceptor benchmarks: accepts every POST (the span
export of `kato-server --otlp-endpoint http://127.0.0.1:PORT`) with 200 and counts the bytes,
so a callgrind row can include span export without a collector.

    python3 benchmarks/interceptors/otlp_sink.py PORTFILE   # writes the bound port to PORTFILE
"""
import http.server
import sys


class Sink(http.server.BaseHTTPRequestHandler):
    received = 0

    def do_POST(self):
        Sink.received += len(self.rfile.read(int(self.headers.get("content-length", "0"))))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
with open(sys.argv[1], "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
