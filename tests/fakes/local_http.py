"""The HTTP server class the local fakes share: loopback, threads, a real listen backlog.

``http.server`` listens with a backlog of 5: a run opening 8 connections at once (its
default concurrency) overflows it, and the kernel drops the extra SYNs, which the client
resends a second later. A real API does not answer like that, so the fakes must not.
"""

from __future__ import annotations

from http.server import ThreadingHTTPServer


class LocalHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
