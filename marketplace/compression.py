"""Compressed answers for clients that accept gzip: the pages and, above all, the static CSS and
JavaScript (Bootstrap's JavaScript, Popper and the trimmed CSS are about 150 KiB uncompressed,
35 KiB gzipped), which a village phone connection feels. Static files are compressed once per
version (path and ETag; their addresses carry their hash, marketplace/static_files.py) and kept."""

from __future__ import annotations

import gzip
import threading
from typing import Any

from flask import Flask, request

COMPRESSIBLE = {
    "text/html", "text/css", "text/javascript", "application/javascript", "application/json",
    "image/svg+xml", "text/plain", "text/csv",
    "image/vnd.microsoft.icon", "image/x-icon",  # the favicon: 4 KiB of bitmap, 1 KiB gzipped
}  # fmt: skip
SMALLEST = 600  # below this, gzip's header costs more than it saves
_STATIC_CACHE_ENTRIES = 256


def _is_static() -> bool:
    return bool(request.endpoint) and str(request.endpoint).split(".")[-1] == "static"


def register(app: Flask) -> None:
    cache: dict[tuple[str, str], bytes] = {}
    lock = threading.Lock()

    @app.after_request
    def compress(response: Any) -> Any:
        if (
            response.status_code != 200
            # API clients are programs on fast links that may not decode gzip; leave them be
            or request.path.startswith("/api/")
            or (response.is_streamed and not response.direct_passthrough)
            or "gzip" not in request.headers.get("Accept-Encoding", "")
            or "Content-Encoding" in response.headers
            or response.mimetype not in COMPRESSIBLE
        ):
            return response
        source = response.response
        response.direct_passthrough = False  # a static file: read it to compress it
        data = response.get_data()
        if hasattr(source, "close"):
            source.close()  # the file it was read from
        if len(data) < SMALLEST:
            return response
        key = (request.path, response.headers.get("ETag", "")) if _is_static() else None
        packed = cache.get(key) if key else None
        if packed is None:
            packed = gzip.compress(data, compresslevel=6, mtime=0)
            if key:
                with lock:
                    if len(cache) >= _STATIC_CACHE_ENTRIES:
                        cache.clear()
                    cache[key] = packed
        response.set_data(packed)
        response.headers["Content-Encoding"] = "gzip"
        response.headers["Content-Length"] = str(len(packed))
        response.vary.add("Accept-Encoding")
        return response
