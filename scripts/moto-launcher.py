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

6. SQS decides whether a message is visible or delayed through
   `unix_time_millis()` (a datetime built, replaced and subtracted), and
   asks it of every message of the queue on every send, receive and
   attribute read: with a storm's thousand messages in one queue, 70% of
   moto's time. The same comparison is made against `time.time()`. And
   each message received asks for the queue's MessageRetentionPeriod
   through GetQueueAttributes, which counts every message of the queue
   three times over to answer; the period is read from the queue itself.

7. DynamoDB's items go through moto's generic response serializer, which
   walks the AttributeValue shape member by member for every nested map
   and list: an incident's record with its timeline took 20 ms a read,
   and serialising was a third of moto's time in a storm. An AttributeValue
   is already in its wire form in moto's result (`{"S": …}`, `{"M": {…}}`),
   so it is written as it is (binary values base64-encoded, as the
   serializer does). PULLMEDIC_MOTO_VERIFY=1 serialises each one both ways
   and exits on the first difference.

8. moto_server serves through werkzeug's development server, which closes
   the connection after every response: under a storm each call opened a
   TCP connection and started a thread (about 100 a second, thousands of
   sockets left in TIME_WAIT). waitress (pinned in ensure-moto.sh) keeps
   the SDK clients' connections alive.

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

    import time

    Message = moto.sqs.models.Message
    for name in ("visible", "delayed"):
        if not isinstance(getattr(Message, name, None), property):
            sys.exit(f"moto-launcher: moto.sqs.models.Message.{name} changed")
    # As moto's own: visible once visible_at has passed, delayed until
    # delayed_until; both in epoch milliseconds.
    Message.visible = property(lambda m: time.time() * 1000.0 > m.visible_at)
    Message.delayed = property(lambda m: time.time() * 1000.0 < m.delayed_until)

    SQSBackend = moto.sqs.models.SQSBackend
    if not hasattr(SQSBackend, "is_message_valid_based_on_retention_period"):
        sys.exit("moto-launcher: moto.sqs.models.SQSBackend changed")

    def retained(self, queue_name, message):
        # As moto's own, with the period read where GetQueueAttributes
        # reads it from (Queue.attributes: getattr of the snake-case name).
        period = self.get_queue(queue_name).message_retention_period
        return period + message.sent_timestamp / 1000 > time.time()

    SQSBackend.is_message_valid_based_on_retention_period = retained

    import base64
    import os

    from moto.core.serialize import BaseJSONSerializer

    def wire(value):
        """An AttributeValue as DynamoDB's JSON carries it."""
        if isinstance(value, dict):
            return {k: wire(v) for k, v in value.items()}
        if isinstance(value, list):
            return [wire(v) for v in value]
        if isinstance(value, (bytes, bytearray)):
            return base64.b64encode(value).decode("utf-8")
        return value

    generic_structure = BaseJSONSerializer._serialize_type_structure
    verify = os.environ.get("PULLMEDIC_MOTO_VERIFY") == "1"

    def structure(self, serialized, value, shape, key):
        if (
            shape.name != "AttributeValue"
            or not key
            or not isinstance(value, dict)
            or self.service_model.service_name != "dynamodb"
        ):
            return generic_structure(self, serialized, value, shape, key)
        fast = wire(value)
        if verify:
            slow = {}
            generic_structure(self, slow, value, shape, key)
            if slow.get(self.get_serialized_name(shape, key)) != fast:
                print(f"moto-launcher: AttributeValue differs: {slow} != {fast}",
                      file=sys.stderr, flush=True)
                os._exit(3)
        self._default_serialize(serialized, fast, shape, key)

    BaseJSONSerializer._serialize_type_structure = structure

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

    # Served by waitress, not werkzeug's development server: werkzeug ends
    # every response with "Connection: close", so each call of a storm
    # opened a TCP connection and started a thread (Node's clients keep
    # their connections alive for the next call). Idle connections stay
    # open for the life of a run: a server that closes one while a client
    # reuses it fails that call with ECONNRESET. The lock above keeps the
    # requests themselves one at a time.
    import waitress

    waitress.serve(
        one_at_a_time,
        host=args.host,
        port=args.port,
        threads=4,
        connection_limit=1000,
        channel_timeout=3600,
        asyncore_use_poll=True,
        ident="moto",
        _quiet=True,
    )


if __name__ == "__main__":
    main()
