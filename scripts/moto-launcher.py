"""pullmedic's launcher of the moto server: the local AWS of the tests and
the local runtime.

Changes to moto's own `moto_server`, all pinned to the moto version
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

3. Every request asks `moto.backends.list_of_moto_modules()`, which lists
   and stats moto's package folder (about 140 stat calls a request: 15% of
   moto's time in a local run). The folder does not change while the
   server runs, so the list is read once. Likewise SQS's attribute names go
   through `camelcase_to_underscores` on every read of a queue; the
   conversion is a pure function of its argument and is memoised.

4. EKS checks each role ARN against the partitions of a new boto3 Session,
   which loads botocore's endpoint data again (0.2 s a cluster or node
   group). The partitions are read once.

5. SSM parses each Command document with PyYAML's pure-Python loader;
   libyaml's loader (same YAML, same result) is used when PyYAML has it.

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

    import moto.backends
    import moto.core.utils
    import moto.sqs.models

    modules = tuple(moto.backends.list_of_moto_modules())
    moto.backends.list_of_moto_modules = lambda: modules
    if getattr(moto.sqs.models, "camelcase_to_underscores", None) is None:
        sys.exit("moto-launcher: moto.sqs.models no longer uses camelcase_to_underscores")
    moto.sqs.models.camelcase_to_underscores = functools.lru_cache(maxsize=4096)(
        moto.core.utils.camelcase_to_underscores
    )

    import types

    import boto3
    import moto.eks.utils
    import moto.ssm.models
    import yaml

    partitions = boto3.Session().get_available_partitions()

    class Partitions:
        """What moto.eks.utils asks of a boto3 Session."""

        def get_available_partitions(self):
            return list(partitions)

    if getattr(moto.eks.utils, "Session", None) is None:
        sys.exit("moto-launcher: moto.eks.utils no longer builds a Session")
    moto.eks.utils.Session = Partitions

    if yaml.__with_libyaml__ and getattr(moto.ssm.models, "yaml", None) is yaml:
        moto.ssm.models.yaml = types.SimpleNamespace(
            safe_load=lambda text: yaml.load(text, Loader=yaml.CSafeLoader),
            dump=yaml.dump,
            YAMLError=yaml.YAMLError,
        )

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
