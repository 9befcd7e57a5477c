"""`cutover sandbox up`: the local engine as an AWS endpoint on 127.0.0.1, with the demo environment."""
from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from typing import TextIO

import yaml

from cutover.local import environment, faults
from cutover.local.engine import REGION, LocalEngine

DEFAULT_PORT = 4566


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the server binds: a port left in TIME_WAIT by a stopped sandbox is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def up(port: int = DEFAULT_PORT, directory: str = ".sandbox", out: TextIO | None = None,
       stop: threading.Event | None = None, on_ready: Callable[[dict[str, str]], None] | None = None,
       fail: list[str] | None = None) -> int:
    """Serve until stopped; `on_ready` gets the endpoint, state machine and files once they exist.

    `fail` ("STEP:MODE", …) makes those steps fail every time, for rehearsals.
    """
    out = out or sys.stdout
    failures = faults.parse_rehearsal(fail or [])
    if not port_free(port):
        out.write(f"port {port} on 127.0.0.1 is in use; choose another with --port\n")
        return 2
    stop = stop or threading.Event()
    # Ctrl-C and SIGTERM end the wait below; the engine then lets running executions finish.
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    # The server would log every request (the data plane polls several times a second).
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with LocalEngine(port=port) as engine, faults.rehearsal(fail or []):
        env = environment.create(engine.client)
        text = environment.config_text(env.values)
        environment.bootstrap_live_version(engine.client, yaml.safe_load(text))
        os.makedirs(directory, exist_ok=True)
        config_path = os.path.join(directory, "deploy.yaml")
        with open(config_path, "w", encoding="utf-8") as f:
            f.write(text)
        variables = {
            "AWS_ENDPOINT_URL": engine.endpoint_url, "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "CUTOVER_STATE_MACHINE_ARN": engine.state_machine_arn,
        }
        env_path = os.path.join(directory, "env")
        with open(env_path, "w", encoding="utf-8") as f:
            f.writelines(f"export {key}={value}\n" for key, value in variables.items())
        out.write(
            f"Cutover sandbox ready\n"
            f"  endpoint       {engine.endpoint_url}  (region {REGION}, any credentials)\n"
            f"  state machine  {engine.state_machine_arn}\n"
            f"  demo service   web, version 1 live on cluster demo; config in {config_path}\n"
            + "".join(f"  failing        {step}: {faults.REHEARSAL_MODES[mode]}\n" for step, mode in failures)
            + f"\nIn another shell:\n"
            f"  source {env_path}\n"
            f"  cutover plan  --env demo --version 2 --image web:2 --config {config_path}\n"
            f"  cutover start --env demo --version 2 --image web:2 --config {config_path} --name web-2 --wait\n"
            f"  cutover approve web-2        # from a third shell, while start --wait waits\n"
            f"  cutover history web-2\n"
            f"  cutover rollback --env demo --service web --wait\n"
            f"\nCtrl-C stops the sandbox.\n"
        )
        out.flush()
        if on_ready:
            on_ready({"endpoint": engine.endpoint_url, "region": REGION, "state_machine_arn": engine.state_machine_arn,
                      "config": config_path, "env": env_path})
        stop.wait()
        out.write("stopping the sandbox\n")
        out.flush()
    return 0
