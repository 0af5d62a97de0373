"""The ingest benchmark's framework floor: Falcon parsing a push, nothing else.

``python bench/_floor.py --bind 127.0.0.1:PORT --workers N`` serves a bare
Falcon app whose ``POST /api/v1/metrics`` reads and parses the JSON body and
answers 201, under the receiver's own gunicorn setup
(:func:`cisizer.server._gunicorn.run_gunicorn` with ``serve``'s default
threads, timeout and log level), so that only the receiver's own work
separates its throughput from this one.  ``GET /health`` answers 200.
"""

from __future__ import annotations

import argparse

import falcon

from cisizer.server._gunicorn import run_gunicorn


class Push:
    """Read and parse the push, answer 201."""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Parse the body with Falcon's JSON handler and acknowledge it."""
        req.get_media()
        resp.status = falcon.HTTP_201
        resp.content_type = falcon.MEDIA_JSON
        resp.data = b'{"stored": true}'


class Health:
    """Say the floor is up."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Answer 200."""
        resp.media = {"status": "ok"}


def main() -> None:
    """Serve the floor app until stopped."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--bind", required=True)
    parser.add_argument("--workers", type=int, required=True)
    # The defaults of `cisizer-server serve`.
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--timeout", type=int, default=30)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args()

    app = falcon.App()
    app.add_route("/api/v1/metrics", Push())
    app.add_route("/health", Health())
    run_gunicorn(
        app,
        bind=args.bind,
        workers=args.workers,
        threads=args.threads,
        timeout=args.timeout,
        log_level=args.log_level,
    )


if __name__ == "__main__":
    main()
