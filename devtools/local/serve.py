"""The one long-running process of `make up` besides moto: API, issuer and CloudFront stand-in.

Run as `python -m devtools.local.serve .local/serve.json`. It serves, all on 127.0.0.1:

* the control API: the real Chalice app, through the same code `chalice local` runs
  (`chalice.cli.create_local_server`: Chalice's CLI factory, route validation, its local API
  Gateway that turns HTTP into the Lambda proxy event). Run in-process rather than as a
  `chalice local` child so that one pid owns the API, the issuer and the edge (one thing for
  `make down` to stop, no autoreloader worker to orphan) and readiness is known. The
  environment is the deployed Lambda's, read from moto, with only the OIDC issuer overridden;
* the development OIDC issuer (JWKS + discovery document);
* the CloudFront stand-in: a reverse proxy that adds the `X-Origin-Verify` header the deployed
  distribution sends to its origin. The printed URL is this proxy; the app's own port, like the
  execute-api endpoint in AWS, answers 403 to anything that did not come through it.

SIGTERM or SIGINT shuts everything down and the process exits 0.

A fault hook for the reliability drills (`devtools/drill/kills.py`, issue 25): the file
`<local dir>/faults/kill-api-before-run-task`, when it exists, makes this process SIGKILL
itself on the next ECS RunTask call - after the run record and its slot are written, before
the task exists - exactly the crash the reaper must repair. The hook deletes the file before
it fires (one shot: the restarted server is healthy). It is checked per call from a botocore
`before-call.ecs.RunTask` handler registered by this devtools process only: the Chalice code
and the deployed Lambda never see it.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from devtools.local.oidc import DevIssuer

FAULTS_DIR = "faults"
KILL_BEFORE_RUN_TASK = "kill-api-before-run-task"
RUN_TASK_EVENT = "before-call.ecs.RunTask"

HOST = "127.0.0.1"
MARKER = "devtools.local.serve"
# Connections the kernel completes before the server accepts them. Python's HTTP servers listen
# with a backlog of 5: a burst of parallel creates (a load test, a matrix job) saw connections
# dropped and reset by the stand-in, which CloudFront and API Gateway never do at that scale.
LISTEN_BACKLOG = 128
# Hop-by-hop headers a proxy must not forward (RFC 9110 §7.6.1).
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}


def burst_ready(server: Any) -> Any:
    """`server`, listening with LISTEN_BACKLOG (listen() again only raises the queue length)."""
    server.socket.listen(LISTEN_BACKLOG)
    return server


class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"{self.__class__.__name__} {self.address_string()} {format % args}\n")


def issuer_server(issuer: DevIssuer, port: int) -> ThreadingHTTPServer:
    """The JWKS and discovery document of the development issuer."""
    documents = issuer.documents()

    class Handler(_Quiet):
        def do_GET(self) -> None:
            body = documents.get(self.path.split("?")[0])
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/json")
            payload = body or b'{"error":"not found"}'
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return burst_ready(ThreadingHTTPServer((HOST, port), Handler))


def edge_server(port: int, origin_port: int, headers: dict[str, str]) -> ThreadingHTTPServer:
    """CloudFront's part: forward to the origin, adding (overriding) the origin headers."""
    lower = {k.lower() for k in headers}

    class Handler(_Quiet):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            forwarded = {
                k: v
                for k, v in self.headers.items()
                if k.lower() not in HOP_BY_HOP and k.lower() not in lower
            }
            forwarded.update(headers)
            connection = http.client.HTTPConnection(HOST, origin_port, timeout=60)
            try:
                connection.request(self.command, self.path, body=body, headers=forwarded)
                response = connection.getresponse()
                payload = response.read()
            except OSError:
                self.send_error(502, "origin unreachable")
                return
            finally:
                connection.close()
            self.send_response(response.status)
            for name, value in response.getheaders():
                if name.lower() not in HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Via", "1.1 cloudfront-stand-in (make up)")
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _forward

    return burst_ready(ThreadingHTTPServer((HOST, port), Handler))


def app_server(project_dir: str, port: int) -> Any:
    """The Chalice app on `port`, created exactly as `chalice local --no-autoreload` does."""
    from chalice.cli import create_local_server
    from chalice.cli.factory import CLIFactory

    factory = CLIFactory(project_dir, environ=os.environ)
    return create_local_server(factory, HOST, port, "dev")


def fault_file(local_dir: Path) -> Path:
    """The file that arms the kill-before-RunTask fault of the API server of `local_dir`."""
    return local_dir / FAULTS_DIR / KILL_BEFORE_RUN_TASK


def _sigkill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def install_fault_hook(armed: Path, kill: Callable[[], None] = _sigkill_self) -> None:
    """Make every botocore session this process creates from now on call `kill` at an ECS
    RunTask while `armed` exists (deleted first: one shot).

    botocore registers `BUILTIN_HANDLERS` on each new session, so the hook reaches the
    session the Chalice app creates lazily (`chalicelib.core.aws`) without touching its code.
    Unarmed, it costs one stat per RunTask and changes nothing.
    """
    import botocore.handlers

    def before_run_task(**_: Any) -> None:
        try:
            armed.unlink()
        except FileNotFoundError:
            return
        sys.stderr.write(f"fault hook: {armed} was armed, SIGKILL before ECS RunTask\n")
        sys.stderr.flush()
        kill()

    botocore.handlers.BUILTIN_HANDLERS.append((RUN_TASK_EVENT, before_run_task))


def serve(
    config: dict[str, Any],
    ready: Callable[[], None] = lambda: None,
    *,
    fault: Path | None = None,
) -> None:
    """Start the three servers and block until SIGTERM/SIGINT (`fault`: the file that arms
    the kill-before-RunTask hook; None: no hook)."""
    if fault is not None:
        install_fault_hook(fault)
    os.environ.update(config["app_env"])
    for name in config.get("unset_env", []):
        os.environ.pop(name, None)
    issuer = DevIssuer.load(config["issuer_url"], Path(config["key_file"]))
    servers: list[Any] = [issuer_server(issuer, config["issuer_port"])]
    local = app_server(config["project_dir"], config["app_port"])
    servers.append(burst_ready(local.server))
    servers.append(edge_server(config["edge_port"], config["app_port"], config["origin_headers"]))
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(
        f"serving: api http://{HOST}:{config['app_port']} (direct, refused), "
        f"edge http://{HOST}:{config['edge_port']}, issuer {issuer.url}",
        flush=True,
    )
    ready()
    stop.wait()
    for server in servers:
        server.shutdown()
        server.server_close()
    for thread in threads:
        thread.join(5)
    print("stopped", flush=True)


def main(argv: list[str]) -> int:
    config_path = Path(argv[0])
    config = json.loads(config_path.read_text())
    # serve.json lives in the local dir (LocalPaths.serve_config): so does the fault file.
    serve(config, fault=fault_file(config_path.resolve().parent))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
