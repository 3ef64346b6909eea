"""moto's server, handling one request at a time.

moto applies a DynamoDB transaction item by item and rolls a failed one back by restoring a
snapshot of the tables; with its usual thread per request, concurrent transactions then
overwrite each other's effects, which real DynamoDB never does (it serializes conflicting
transactions). Serving requests one at a time gives the tests DynamoDB's guarantee while the
clients still send their requests concurrently.

usage: python tests/moto_server.py HOST PORT
"""

import os
import sys

from werkzeug.serving import run_simple

from moto.moto_server.threaded_moto_server import (  # noqa: F401  (import order as moto's own)
    ThreadedMotoServer,
)
from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

host, port = sys.argv[1], int(sys.argv[2])
os.environ.setdefault("MOTO_PORT", str(port))
app = DomainDispatcherApplication(create_backend_app)
run_simple(host, port, app, threaded=False, use_reloader=False, request_handler=MotoRequestHandler)
