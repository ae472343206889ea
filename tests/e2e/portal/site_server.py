"""A tiny HTTP server for testing the harness's checks: serves what <dir>/routes.json says,
re-read at every request ({"/path": {"status": 200, "headers": [[name, value]], "body": file}}).
Run as a process of its own (the test process is eventlet's): python site_server.py DIR PORT"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(sys.argv[1])


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        routes = json.loads((ROOT / "routes.json").read_text())
        route = routes.get(self.path.split("?")[0])
        if route is None:
            self.send_error(404)
            return
        body = (ROOT / route["body"]).read_bytes()
        self.send_response(route.get("status", 200))
        for name, value in route.get("headers", []):
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        """Quiet: the tests read what the browser saw, not this server's access log."""


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), Handler).serve_forever()
