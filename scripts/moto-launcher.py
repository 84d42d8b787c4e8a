"""pullmedic's launcher of the moto server: the local AWS of the tests and
the local runtime.

Two changes to moto's own `moto_server`, both pinned to the moto version
below (a different moto is refused, so a change of version is a decision,
not an accident):

1. One request at a time. moto checks a DynamoDB ConditionExpression and
   then writes, without a lock: with 8 concurrent callers a conditional
   claim had 2 winners, and an incident was resolved twice. AWS makes each
   conditional write atomic; serialising every request here makes moto do
   the same (and every other read-modify-write in moto with it).

2. EventBridge's PutEvents, for every event and every target, builds the
   default input template through `jsonpath_ng.ext.parse` (8 JSONPath
   expressions), and PLY regenerates its parser tables on each call: 90% of
   moto's time under a storm of events. The expressions are a handful of
   constants, so the parse is memoised.

Usage: python moto-launcher.py -H 127.0.0.1 -p PORT
"""

import argparse
import functools
import sys
import threading

PINNED_MOTO = "5.2.1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()

    import moto

    if moto.__version__ != PINNED_MOTO:
        sys.exit(
            f"moto-launcher: moto {moto.__version__} found, {PINNED_MOTO} "
            "pinned: check both changes below against the new version, then "
            "move the pin (scripts/ensure-moto.sh and this file)"
        )

    import jsonpath_ng.ext
    from moto.events.utils import EventTemplateParser
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        create_backend_app,
    )
    from werkzeug.serving import run_simple

    # EventTemplateParser.parse imports `parse` from jsonpath_ng.ext on every
    # call, so the module attribute is what it gets. A parsed expression is
    # only read (find), never changed: sharing one is safe.
    if not hasattr(EventTemplateParser, "parse"):
        sys.exit("moto-launcher: moto.events.utils.EventTemplateParser changed")
    jsonpath_ng.ext.parse = functools.lru_cache(maxsize=512)(jsonpath_ng.ext.parse)

    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def one_at_a_time(environ, start_response):
        # The whole response is produced inside the lock: moto's handlers
        # do their work while the body is built.
        with lock:
            body = app(environ, start_response)
            try:
                return [b"".join(body)]
            finally:
                close = getattr(body, "close", None)
                if close is not None:
                    close()

    # Threaded, so keep-alive connections of many clients are served; the
    # lock above keeps the requests themselves one at a time.
    run_simple(args.host, args.port, one_at_a_time, threaded=True)


if __name__ == "__main__":
    main()
